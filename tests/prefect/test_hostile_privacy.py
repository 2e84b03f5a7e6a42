"""A person's name typed everywhere a form lets someone type, and a worker's secrets offered to the import:
afterwards Prefect's own database file holds none of it.

- Every field of the inbox form of a step with a free-text field of each kind (a process code and a
  personal note): the server refuses the name before it stores the input; the personal note is not on
  the form at all, and entered with `regie case complete` it stays in the case store.
- Every text field of every deployment's form (derived from the deployments' parameter schemas, so a
  new field is covered too), also as a key or value of case data: the server refuses to create the run,
  so the name is never a stored parameter.
- The import: `/proc/self/environ` as the file (refused by the server), a link to it in the import folder
  and a CSV whose first line is a person's data (both refused by the worker, by line and reason).

The search reads the server's SQLite database file (and its write-ahead log) as bytes, and everything
the API gives out (runs, task runs, inputs, logs, events, artifacts, variables).
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.main import main
from flows.import_koppelingen import import_koppelingen
from tests.prefect.helpers import deliver, inbox_run, poll, read_input, resume
from tests.prefect.test_privacy import everything_prefect_stores

pytestmark = pytest.mark.prefect

HOSTILE = Path(__file__).resolve().parents[1] / "hostile" / "definitions"
NAME = "Fenna Privé-Testpersoon"
BSN = "999993653"
SECRET = "wachtwoord-dat-niemand-mag-zien-7"
CASE = "RMD-2026-0888"


@pytest.fixture(autouse=True)
def environment_as_it_was():
    """The CLI sets Prefect's variables for its process; they are taken away again after each test."""
    before = dict(os.environ)
    yield
    for key in set(os.environ) - set(before):
        del os.environ[key]


@pytest.fixture
def definitions_dir():
    """The small definitions whose step has a free-text field of each kind (tests/hostile/definitions)."""
    return HOSTILE


def prefect_database() -> bytes:
    """The Prefect server's SQLite database, with its write-ahead log, as bytes."""
    import prefect.settings

    url = prefect.settings.PREFECT_SERVER_DATABASE_CONNECTION_URL.value()
    path = Path(str(url.get_secret_value() if hasattr(url, "get_secret_value") else url).split(":///", 1)[1])
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def nowhere_in_prefect(*texts: str, but: str) -> None:
    """None of `texts` in Prefect's database file or API; `but` is, so the search looks in the right place."""
    stored = prefect_database()
    served = everything_prefect_stores()
    assert but.encode() in stored and but in served
    for text in texts:
        for form in {text, json.dumps(text)[1:-1]}:  # as typed, and as JSON writes it ("Priv\\u00e9")
            assert form.encode() not in stored, f"{text!r} is in Prefect's database"
            assert form not in served, f"{text!r} is given out by Prefect's API"


def api(method: str, path: str, **kwargs: Any) -> httpx.Response:
    """A plain call to the test server's API (a refusal is an answer here, not an exception)."""
    from prefect.settings import PREFECT_API_URL

    return httpx.request(method, f"{PREFECT_API_URL.value()}{path}", timeout=30, **kwargs)


# --- the deployments' forms ------------------------------------------------------------------------

VALID: dict[str, dict[str, Any]] = {
    "start-trajectory": {"request": {"case_ref": "RMD-2026-0889", "definition": "melding", "municipality": "rotterdam",
                                     "start_message": "koppeling", "data": {"aantal": 1}, "actor": "anna",
                                     "occurred_on": "2026-03-02"}},
    "complete-step": {"request": {"case_ref": CASE, "step": "intake", "data": {"gesprek_vorm": "azc"},
                                  "actor": "anna", "expected_version": 1}},
    "deliver-message": {"request": {"case_ref": CASE, "message": "huisvesting", "data": {"verhuisdatum": "2026-05-01"},
                                    "actor": "anna", "occurred_on": "2026-04-30"}},
    "user-task": {"task": {"case_ref": CASE, "task_id": "intake-4", "step": "intake", "role": "klantregisseur",
                           "municipality": "rotterdam", "phase": "intake", "due_on": "2026-03-16"}},
    "publish-case-timeline": {"case_ref": CASE},
    "import-koppelingen": {"path": "koppelingen.csv", "only_valid": False},
    "publish-overview": {"all_timelines": False, "radar_days": 14},
    "fire-due-timers": {"batch_size": 100, "limit": 1000},
    "deliver-notifications": {"batch": 500},
    "send-digests": {},
    "export-person": {"case_ref": CASE, "operator": "anna"},
    "erase-expired": {},
}
"""A valid run of every deployment: each variant below puts the name in one place of it."""


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = root["definitions" if "definitions" in root else "$defs"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def with_the_name(schema: dict[str, Any], valid: Any, root: dict[str, Any]) -> list[Any]:
    """Every way of putting NAME where the form takes text: each property, each dict key and value."""
    schema = _resolve(schema, root)
    if "properties" in schema:
        found = []
        for name, sub in schema["properties"].items():
            for variant in with_the_name(sub, (valid or {}).get(name), root):
                found.append({**copy.deepcopy(valid or {}), name: variant})
        return found
    if "patternProperties" in schema or isinstance(schema.get("additionalProperties"), dict):
        return [{NAME: 1}, {"klantregisseur_id": NAME}, {"toelichting": NAME}, {"naam": NAME}]
    if "anyOf" in schema:
        return [NAME] if any(_resolve(s, root).get("type") in ("string", None) for s in schema["anyOf"]) else []
    return [NAME] if schema.get("type") in ("string", None) else []


def test_no_deployment_form_stores_a_name_typed_into_any_of_its_fields(prefect_server, rt):
    from prefect.utilities.schema_tools import validate

    deployments = api("POST", "/deployments/filter", json={}).json()
    assert {d["name"] for d in deployments} == set(VALID)
    runs_before = api("POST", "/flow_runs/count", json={}).json()
    tried = 0
    for deployment in deployments:
        schema = deployment["parameter_openapi_schema"]
        assert deployment["enforce_parameter_schema"] is True
        validate(VALID[deployment["name"]], schema, raise_on_error=True)  # the base run is a valid one
        for parameters in with_the_name(schema, VALID[deployment["name"]], schema):
            answer = api("POST", f"/deployments/{deployment['id']}/create_flow_run", json={"parameters": parameters})
            assert answer.status_code == 409, (deployment["name"], json.dumps(parameters, ensure_ascii=False),
                                               answer.status_code)
            tried += 1
    assert tried >= 25
    assert api("POST", "/flow_runs/count", json={}).json() == runs_before  # not one run was created
    nowhere_in_prefect(NAME, but="import-koppelingen")


# --- the inbox form -------------------------------------------------------------------------------

def test_a_name_typed_into_the_inbox_form_is_refused_and_a_personal_note_stays_in_the_case_store(
        prefect_server, rt, monkeypatch):
    rt.service.start_trajectory(case_ref=CASE, definition="melding", municipality="rotterdam",
                                start_message="koppeling", personal={"naam": NAME, "bsn": BSN}, actor="anna")
    deliver(rt)
    run = inbox_run(CASE, "intake")
    form = read_input(run, "schema")
    assert set(form["properties"]) == {"gesprek_vorm", "aantal", "afgerond", "gesprek_datum", "klantregisseur_id"}
    assert "toelichting" in read_input(run, "description")  # the note: where to enter it, not a field
    for field in form["properties"]:
        answer = resume(run, {"gesprek_vorm": "Azc", field: NAME})
        assert answer.status.value == "REJECT", (field, answer)
    assert resume(run, {"gesprek_vorm": "Azc", "toelichting": NAME}).status.value == "REJECT"

    # The note goes in with the command, into the case store; the inbox run is closed for it.
    monkeypatch.setenv("REGIE_DATA_DIR", str(rt.settings.data_dir))
    monkeypatch.setenv("REGIE_DEFINITIONS_DIR", str(HOSTILE))
    monkeypatch.setenv("REGIE_MUNICIPALITIES", "rotterdam")
    monkeypatch.setenv("REGIE_NOTIFIER", "log")
    assert main(["case", "complete", CASE, "intake", "--data", "gesprek_vorm=azc", "--data",
                 f"toelichting={NAME}", "--data", "klantregisseur_id=kr-017"]) == 0
    assert main(["case", "complete", CASE, "intake", "--data", f"klantregisseur_id={NAME}"]) == 2
    case = rt.service.show_case(CASE)
    assert "toelichting" not in case.data and case.data["klantregisseur_id"] == "kr-017"
    assert poll(lambda: inbox_run(CASE, "intake").state.name, lambda s: s == "Completed elsewhere") \
        == "Completed elsewhere"
    nowhere_in_prefect(NAME, BSN, but=f"{CASE} · intake")


# --- the import -----------------------------------------------------------------------------------

def test_the_import_reads_nothing_outside_its_folder_and_repeats_nothing_of_a_file(prefect_server, rt,
                                                                                 monkeypatch):
    monkeypatch.setenv("REGIE_SMTP_PASSWORD", SECRET)  # in this process's /proc/self/environ
    monkeypatch.setattr(rt.settings, "pseudonym_key", type(rt.settings.pseudonym_key)("import-key"))
    folder = rt.settings.import_dir
    folder.mkdir(parents=True)
    deployment = api("GET", "/deployments/name/import-koppelingen/import-koppelingen").json()
    for path in ("/proc/self/environ", "../../proc/self/environ", "~/.bashrc"):
        answer = api("POST", f"/deployments/{deployment['id']}/create_flow_run", json={"parameters": {"path": path}})
        assert answer.status_code == 409, path

    (folder / "omgeving.csv").symlink_to("/proc/self/environ")
    (folder / "persoon.csv").write_text(f"{NAME};{BSN};2026-02-02;tilburg\n1234567890;2026-02-02;tilburg;x\n")
    (folder / "kolommen.csv").write_text(f"v_nummer;koppelingsdatum;gemeente;naam\n{BSN}0;02-02-2026;{NAME};x\n")
    with pytest.raises(ValueError, match="importmap"):
        import_koppelingen("omgeving.csv")
    with pytest.raises(ValueError, match="^regel 1: geen kopregel"):
        import_koppelingen("persoon.csv")
    with pytest.raises(ValueError, match="niets geïmporteerd vanwege foute regels"):
        import_koppelingen("kolommen.csv")
    assert os.environ["REGIE_SMTP_PASSWORD"] == SECRET
    runs = api("POST", "/flow_runs/filter", json={"flow_runs": {"name": {"any_": ["import koppelingen"]}}}).json()
    assert len(runs) == 3 and all(r["state_type"] == "FAILED" and r["state"]["message"] for r in runs)
    poll(everything_prefect_stores, lambda text: "regel 2:" in text)  # the bad row's log line has arrived
    nowhere_in_prefect(SECRET, NAME, BSN, "tilburg;x", but="regel 2: gemeente is geen bekende gemeente")

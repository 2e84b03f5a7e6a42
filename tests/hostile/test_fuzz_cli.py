"""Every `regie` command, fed at least a hundred hostile inputs on SQLite and on PostgreSQL: each is done
or refused in ONE line with exit code 2, and a refusal changes nothing in the store. No traceback.

The inputs are the table in `tests/hostile/inputs.py`, each placed in the command's first argument
and again in one of its others. The commands run in this process (`cli.main.main`), on a store and
the small definitions in `tests/hostile/definitions/`, so a thousand commands take about a minute on
both databases: that minute is the proof the issue asks for. `test_hostile_subprocess.py` runs a few
of them as a user does, for the exit code and stderr as a shell sees them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from store.db import make_engine, upgrade
from tests.hostile.inputs import HOSTILE, Regie, environment, prefect_broken, prefect_pointed_at, spread, write
from tests.store.conftest import _postgres, _sqlite

DEFINITIONS = Path(__file__).resolve().parent / "definitions"
CASE = "RMD-2026-0001"
CHOICE = ["--data", "gesprek_vorm=azc"]


@pytest.fixture(scope="module")
def prefect_url():
    with prefect_broken() as url, prefect_pointed_at(url):
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def regie(request, tmp_path, monkeypatch, prefect_url, capsys):
    """The command on a fresh store (a SQLite file, or a PostgreSQL schema of its own), one case started."""
    yield from _regie(request.param, tmp_path, monkeypatch, prefect_url, capsys)


@pytest.fixture
def regie_without_a_store(tmp_path, monkeypatch, prefect_url, capsys):
    """For the commands that do not use the case store: once is enough (on a SQLite file)."""
    yield from _regie("sqlite", tmp_path, monkeypatch, prefect_url, capsys)


def _regie(kind, tmp_path, monkeypatch, prefect_url, capsys):
    # The command sets Prefect's variables for its process (os.environ); they are removed after the test,
    # or the next tests would run with this test's Prefect home and log levels.
    environ = dict(os.environ)
    made = _sqlite(tmp_path) if kind == "sqlite" else _postgres()
    database = next(made)  # the generator drops the PostgreSQL schema when it is closed, after the test
    url = database.url
    if database.search_path:
        url = sa.make_url(url).update_query_dict({"options": f"-csearch_path={database.search_path}"}) \
            .render_as_string(hide_password=False)
    for key, value in environment(tmp_path / "data", url, DEFINITIONS, prefect_url).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    engine = make_engine(url)
    upgrade(engine)
    runner = Regie(url, engine, capsys.readouterr)
    assert runner("case", "start", CASE, "--definition", "melding", "--municipality", "rotterdam",
                  "--message", "koppeling").code == 0
    yield runner
    engine.dispose()
    made.close()
    for key in set(os.environ) - set(environ):
        del os.environ[key]


def mostly_refused(regie: Regie, command: str) -> None:
    codes = regie.seen[command]
    assert len(codes) >= 100, (command, len(codes))
    assert codes.count(2) >= 0.8 * len(codes), (command, codes.count(2), len(codes))


def test_case_start(regie):
    fresh = iter(range(1000, 10_000))
    for slot, value in spread(10):
        args = {"ref": f"FZ-2026-{next(fresh)}", "definition": "melding", "municipality": "rotterdam",
                "message": "koppeling", "data": "aantal=1", "personal": "naam=Fenna de Vries",
                "occurred": "2026-03-02", "actor": "anna", "profile": None, "key": "x"}
        name = ["ref", "definition", "municipality", "message", "data", "data", "personal", "personal", "occurred",
                "actor"][slot]
        args[name] = {4: f"{value}=1", 5: f"aantal={value}", 6: f"{value}=x", 7: f"naam={value}"}.get(slot, value)
        argv = ["case", "start", args["ref"], "--definition", args["definition"], "--municipality",
                args["municipality"], "--message", args["message"], "--data", args["data"], "--personal",
                args["personal"], "--occurred-on", args["occurred"], "--actor", args["actor"]]
        regie.refuses_or_does("start", *argv)
    mostly_refused(regie, "start")


def test_case_complete(regie):
    target = [CASE]
    fresh = iter(range(1000, 10_000))
    for slot, value in spread(6):
        argv = ["case", "complete", target[0], "intake", *CHOICE, "--actor", "anna"]
        if slot == 0:
            argv[2] = value
        elif slot == 1:
            argv[3] = value
        elif slot == 2:
            argv[5] = f"{value}=1"
        elif slot == 3:
            argv += ["--data", f"klantregisseur_id={value}"]
        elif slot == 4:
            argv += ["--expected-version", value]
        else:
            argv[7] = value
        if regie.refuses_or_does("complete", *argv).code == 0:  # a step completed: the next input needs an open one
            target[0] = f"FZ-2026-{next(fresh)}"
            assert regie("case", "start", target[0], "--definition", "melding", "--municipality", "rotterdam",
                         "--message", "koppeling").code == 0
    mostly_refused(regie, "complete")


def test_case_message(regie):
    fresh = iter(range(1000, 10_000))

    def waiting() -> str:
        ref = f"FZ-2026-{next(fresh)}"
        for argv in (("case", "start", ref, "--definition", "melding", "--municipality", "rotterdam", "--message",
                      "koppeling"), ("case", "complete", ref, "intake", *CHOICE)):
            assert regie(*argv).code == 0
        return ref

    target = waiting()
    for slot, value in spread(6):
        argv = ["case", "message", target, "huisvesting", "--data", "verhuisdatum=2026-05-01", "--occurred-on",
                "2026-04-30", "--actor", "anna"]
        index = {0: 2, 1: 3, 4: 7, 5: 9}.get(slot)
        if index is not None:
            argv[index] = value
        elif slot == 2:
            argv[5] = f"{value}=2026-05-01"
        else:
            argv += ["--data", f"toelichting={value}"]
        if regie.refuses_or_does("message", *argv).code == 0:
            target = waiting()
    mostly_refused(regie, "message")


def test_case_show_and_list(regie):
    for slot, value in spread(2):
        regie.refuses_or_does("show", "case", "show", value, *(["--json"] if slot else []))
    for slot, value in spread(4):
        option = ["--municipality", "--phase", "--status", "--limit"][slot]
        regie.refuses_or_does("list", "case", "list", option, value)
    mostly_refused(regie, "show")
    mostly_refused(regie, "list")


def test_import_koppelingen(regie, tmp_path):
    folder = tmp_path / "data" / "import"
    header = "v_nummer;koppelingsdatum;gemeente;naam;geboortedatum;azc\n"
    good = ["1234567890", "2026-02-02", "rotterdam", "Amira Test", "1990-04-01", "AZC Budel"]
    for slot, value in spread(7):
        if slot == 0:
            regie.refuses_or_does("import", "import", "koppelingen", value)
            continue
        row = list(good)
        if slot == 1:
            data: str = value  # the whole file
        else:
            row[slot - 2] = value.replace(";", ",")
            data = header + ";".join(row) + "\n"
        write(folder / "lijst.csv", data)
        regie.refuses_or_does("import", "import", "koppelingen", "lijst.csv")
    mostly_refused(regie, "import")


def test_definition_commands_without_a_store(regie_without_a_store, tmp_path):
    regie = regie_without_a_store
    scenario = ("name: x\ndefinition: melding\ncase_ref: SIM-0001\nstart: 2026-01-05\nstart_message: koppeling\n"
                "events: []\nuntil: 2026-02-01\n")
    for slot, value in spread(2):
        path = value if slot == 0 else str(write(tmp_path / "hostile" / "x.yaml", value))
        regie.refuses_or_does("validate", "validate", path, allowed=frozenset({0, 1, 2}))
        bad_scenario = value if slot == 0 else str(write(tmp_path / "scenario.yaml", scenario.replace("x", value, 1)))
        regie.refuses_or_does("simulate", "simulate", bad_scenario, allowed=frozenset({0, 1, 2}))
        where = [value] if slot == 0 else [str(DEFINITIONS), "-o", value]
        regie.refuses_or_does("docs", "docs", "--check", "-d", *where, allowed=frozenset({0, 1, 2}))
        safe = "/" not in value and value not in ("", ".", "..", "~")  # never write outside tmp_path
        regie.refuses_or_does("schema", "schema", *(["-o", value] if safe and slot else ["--bogus", value]),
                              allowed=frozenset({0, 2}))
    for command in ("validate", "simulate", "docs", "schema"):
        assert len(regie.seen[command]) >= 100
        assert "Traceback" not in str(regie.seen[command])


def test_up_and_automations_refuse_before_starting_or_calling_anything(regie_without_a_store, monkeypatch):
    regie = regie_without_a_store
    monkeypatch.delenv("PREFECT_API_URL")
    for slot, value in spread(2):
        # Only values that are no port: a valid one would start a server (checked here, so the test can't hang).
        if value.strip().isdigit() and len(value) < 10 and 0 < int(value) < 65536:
            continue
        if slot == 0 or not can_be_environment(value):
            regie.refuses_or_does("up", "up", "--port", value)
        else:
            monkeypatch.setenv("REGIE_PORT", value)
            regie.refuses_or_does("up", "up", "--no-sweep")
            monkeypatch.delenv("REGIE_PORT")
        regie.refuses_or_does("automations", "automations", "install", "--notify-block", value)
        regie.refuses_or_does("automations", "automations", "install", value)
    assert set(regie.seen["up"]) == {2} and len(regie.seen["up"]) >= 100
    assert set(regie.seen["automations"]) == {2} and len(regie.seen["automations"]) >= 100


def can_be_environment(value: str) -> bool:
    """What an environment variable can hold at all (no NUL; bytes the file system encoding can make)."""
    try:
        os.fsencode(value)
    except UnicodeEncodeError:
        return False
    return "\x00" not in value


def test_the_table_holds_what_the_issue_lists():
    kinds = {"length": any(len(v) > 64 for v in HOSTILE), "nul": any("\x00" in v for v in HOSTILE),
             "unicode": any(not v.isascii() for v in HOSTILE), "sql": any("DROP TABLE" in v for v in HOSTILE),
             "jinja": any("{{" in v for v in HOSTILE), "negative": "-1" in HOSTILE,
             "huge": any(v.isdigit() and len(v) > 20 for v in HOSTILE), "wrong types": "[]" in HOSTILE}
    assert all(kinds.values()), kinds

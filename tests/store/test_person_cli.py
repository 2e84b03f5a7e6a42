"""`regie person ...` and `regie case show --personal` from the command line (on a SQLite file; the same
service calls run on both databases in test_person_rights.py): one-line refusals with exit code 2 that
change nothing, and every read of personal data in the access log."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.bootstrap import bootstrap
from app.settings import get_settings
from cli.main import main
from tests.store.conftest import DEFINITIONS

REF = "RMD-2026-0001"


@pytest.fixture
def regie(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A Regie instance in tmp_path with one running case that holds a name; runs `regie ...` there."""
    folder = tmp_path / "definitions"
    folder.mkdir()
    shutil.copy(DEFINITIONS[0], folder / "catalog.yaml")
    for path in DEFINITIONS[1].glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REGIE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REGIE_DEFINITIONS_DIR", str(folder))
    monkeypatch.setenv("REGIE_MUNICIPALITIES", "rotterdam")
    monkeypatch.delenv("REGIE_OPERATOR", raising=False)
    rt = bootstrap(get_settings())
    rt.service.start_trajectory(case_ref=REF, definition="rondleiding", municipality="rotterdam",
                                start_message="koppeling", personal={"naam": "Amira Haddad"}, actor="anna")
    rt.service.engine.dispose()

    def run(*argv: str) -> int:
        return main(list(argv))
    return run


def test_show_personal_needs_an_operator_and_logs_the_read(regie, capsys, monkeypatch):
    assert regie("case", "show", REF, "--personal", "--reden", "telefonisch contact") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "noem wie dit doet: --operator NAAM (of de instelling REGIE_OPERATOR)" in err
    assert regie("person", "access-log", REF) == 0
    assert capsys.readouterr().out == ""  # the refused read was not made, so not logged

    monkeypatch.setenv("REGIE_OPERATOR", "anna")
    assert regie("case", "show", REF, "--personal", "--reden", "telefonisch contact") == 0
    assert "    naam: Amira Haddad" in capsys.readouterr().out
    assert regie("case", "show", REF) == 0
    assert "Amira" not in capsys.readouterr().out  # without --personal: process data only

    assert regie("person", "access-log", REF) == 0
    out = capsys.readouterr().out
    assert "anna" in out and "bekeken (regie case show --personal); reden: telefonisch contact" in out
    assert out.count("\n") == 1


def test_export_as_json_and_as_a_dutch_document(regie, capsys, tmp_path):
    assert regie("person", "export", REF, "--format", "json", "--operator", "bram", "--reden", "inzageverzoek") == 0
    export = json.loads(capsys.readouterr().out)
    assert export["persoonsgegevens"] == {"naam": "Amira Haddad"}
    assert export["inzagelog"][0]["medewerker"] == "bram"

    target = tmp_path / "inzage.md"
    assert regie("person", "export", REF, "--operator", "bram", "--reden", "inzageverzoek",
                 "--uitvoer", str(target)) == 0
    assert "## Persoonsgegevens\n\n- naam: Amira Haddad" in target.read_text(encoding="utf-8")


def test_erase_refuses_a_running_case_in_one_line_and_erases_it_on_purpose(regie, capsys):
    assert regie("person", "erase", REF, "--reason", "verzoek tot wissen", "--operator", "anna") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("regie person erase: zaak RMD-2026-0001 loopt nog")

    assert regie("person", "erase", REF, "--reason", "verzoek tot wissen", "--operator", "anna", "--ook-lopend") == 0
    assert "persoonsgegevens gewist" in capsys.readouterr().out
    assert regie("person", "export", REF, "--format", "json", "--operator", "anna", "--reden", "controle") == 0
    assert json.loads(capsys.readouterr().out)["persoonsgegevens"] == {}


def test_retention_dry_run_lists_nothing_while_every_case_runs(regie, capsys):
    assert regie("person", "retention", "--dry-run") == 0
    captured = capsys.readouterr()
    assert captured.out == "" and "0 zaak/zaken zou(den) gewist worden" in captured.err


@pytest.mark.parametrize("argv", [
    ("person", "access-log", "RMD-2026-9999"),
    ("person", "export", REF, "--operator", "anna"),                       # no reason
    ("person", "export", REF, "--operator", "anna", "--reden", "bsn 123456782"),
    ("person", "erase", "Amira Haddad", "--reason", "x", "--operator", "anna"),
])
def test_bad_input_is_one_line_and_exit_code_2(regie, capsys, argv):
    assert regie(*argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "123456782" not in err

"""`regie case ...`: operators' commands change cases through the service and deliver to Prefect at once."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from cli.case_cmd import parse_pairs
from cli.main import main


def regie(*argv: str) -> int:
    """Run `regie case ...` in this process, as the `regie` command does."""
    return main(list(argv))


@pytest.fixture
def regie_env(tmp_path, definitions_dir, monkeypatch) -> Iterator[None]:
    """REGIE_* settings for the command; the Prefect variables it sets are removed again afterwards."""
    before = dict(os.environ)
    monkeypatch.setenv("REGIE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REGIE_DEFINITIONS_DIR", str(definitions_dir))
    monkeypatch.setenv("REGIE_MUNICIPALITIES", "utrecht")
    monkeypatch.delenv("REGIE_DATABASE_URL", raising=False)
    yield
    for key in set(os.environ) - set(before):
        del os.environ[key]


def test_key_value_pairs_are_json_where_they_can_be_and_text_otherwise():
    assert parse_pairs(["b1_haalbaar=true", "aantal=3", "scenario=snelle_start", "datum=2026-03-02", "leeg="],
                       "--data") == {"b1_haalbaar": True, "aantal": 3, "scenario": "snelle_start",
                                     "datum": "2026-03-02", "leeg": ""}
    with pytest.raises(ValueError, match="--data 'scenario': verwacht veld=waarde"):
        parse_pairs(["scenario"], "--data")


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server", "regie_env")
def test_an_operator_starts_completes_and_lists_cases_from_the_command_line(capsys):
    # The koppeling's own date: a move date later in the test may not lie before the case started.
    assert regie("case", "start", "RMD-2026-0201", "--definition", "rondleiding", "--municipality", "utrecht",
                 "--message", "koppeling", "--occurred-on", "2026-03-02", "--personal", "naam=Sanne Commandoregel",
                 "--personal", "bsn=999990067", "--actor", "anna") == 0
    out, err = capsys.readouterr()
    assert "RMD-2026-0201  utrecht  rondleiding@1  versie 1  loopt" in out
    assert "  open  klantprofiel-" in out and "Sanne" not in out
    assert "delivered to Prefect" in err

    from tests.prefect.helpers import inbox_run

    assert inbox_run("RMD-2026-0201", "klantprofiel").state.is_paused()

    # A value the form does not allow: one line, nothing changed.
    assert regie("case", "complete", "RMD-2026-0201", "klantprofiel", "--data", "scenario=morgen") == 2
    assert "'morgen' is not one of" in capsys.readouterr().err

    assert regie("case", "complete", "RMD-2026-0201", "klantprofiel", "--data", "scenario=gecombineerd",
                 "--expected-version", "1", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["version"] == 2 and shown["data"] == {"scenario": "gecombineerd"}
    assert inbox_run("RMD-2026-0201", "klantprofiel").state.name == "Completed elsewhere"

    # Someone who saw version 1 is told the case moved on.
    assert regie("case", "message", "RMD-2026-0201", "huisvesting", "--data", "verhuisdatum=2026-04-01") == 0
    assert regie("case", "complete", "RMD-2026-0201", "klantprofiel", "--expected-version", "1") == 2
    assert "changed by someone else first" in capsys.readouterr().err

    assert regie("case", "list", "--municipality", "utrecht") == 0
    out, err = capsys.readouterr()
    assert out.startswith("RMD-2026-0201") and "1 zaak" in err
    assert regie("case", "show", "RMD-2026-9999") == 2
    assert "no case RMD-2026-9999" in capsys.readouterr().err

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
    assert "zaak opgeslagen: RMD-2026-0201 versie 1" in err
    assert "inbox bijgewerkt: 1 taak/taken geopend, 0 gesloten" in err
    # No partner directory here: the notice failed, and the command says why (not just "saved").
    assert "berichten mislukt: 1 (NotificationFailed: zaak RMD-2026-0201: geen partnerlijst" in err

    from tests.prefect.helpers import inbox_run

    assert inbox_run("RMD-2026-0201", "klantprofiel").state.is_paused()

    # A value the form does not allow: one line, nothing changed.
    assert regie("case", "complete", "RMD-2026-0201", "klantprofiel", "--data", "scenario=morgen") == 2
    assert "veld 'scenario': 'morgen' is geen keuze; kies uit: " in capsys.readouterr().err

    assert regie("case", "complete", "RMD-2026-0201", "klantprofiel", "--data", "scenario=gecombineerd",
                 "--expected-version", "1", "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["version"] == 2 and shown["data"] == {"scenario": "gecombineerd"}
    assert inbox_run("RMD-2026-0201", "klantprofiel").state.name == "Completed elsewhere"

    # With a `regie up` running for this data dir (here: this process stands in for it), the command takes
    # its notifier: the demo's log notifier records notices instead of failing on fictional partners.
    from app.settings import get_settings
    from cli import running

    running.write(get_settings(notifier="log"))
    assert regie("case", "message", "RMD-2026-0201", "huisvesting", "--data", "verhuisdatum=2026-04-01") == 0
    err = capsys.readouterr().err
    assert "zaak opgeslagen: RMD-2026-0201 versie 3" in err
    assert "alleen gelogd (notifier log, niets verstuurd)" in err and "mislukt" not in err
    running.remove(get_settings())

    # Someone who saw version 1 is told the case moved on.
    assert regie("case", "complete", "RMD-2026-0201", "klantprofiel", "--expected-version", "1") == 2
    assert "intussen door iemand anders gewijzigd" in capsys.readouterr().err

    assert regie("case", "list", "--municipality", "utrecht") == 0
    out, err = capsys.readouterr()
    assert out.startswith("RMD-2026-0201") and "1 zaak" in err
    assert regie("case", "show", "RMD-2026-9999") == 2
    assert "regie case show: er is geen zaak RMD-2026-9999\n" in capsys.readouterr().err


def test_the_running_instance_is_followed_only_while_it_runs_and_the_environment_wins(tmp_path, monkeypatch):
    import subprocess
    import sys

    from app.settings import get_settings
    from cli import running

    monkeypatch.setenv("REGIE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("REGIE_NOTIFIER", raising=False)
    monkeypatch.delenv("REGIE_PORT", raising=False)
    assert running.settings_like_running().notifier == "apprise"
    running.write(get_settings(notifier="log", port=4321))
    assert (running.settings_like_running().notifier, running.settings_like_running().port) == ("log", 4321)
    monkeypatch.setenv("REGIE_NOTIFIER", "apprise")
    assert running.settings_like_running().notifier == "apprise"
    # A file left by a `regie up` that was killed is ignored.
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    running.path(tmp_path).write_text(f'{{"pid": {int(gone.stdout)}, "notifier": "log", "port": 4321}}')
    monkeypatch.delenv("REGIE_NOTIFIER")
    assert running.settings_like_running().port != 4321

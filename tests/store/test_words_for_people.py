"""What `regie case show` and `regie case list` print is Dutch, in Amsterdam time with the zone said."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from app.cases import CaseService
from cli.main import main
from engine.validator import validate_paths
from store.db import make_engine, upgrade
from tests.engine.casefile import ROOT
from tests.store.conftest import DEFINITIONS, FakeClock

# Words of Regie's own that used to leak into its Dutch output.
ENGLISH = re.compile(r"\b(version|status|active|phase|open tasks?|due|next|missed|no deadline|clock|case\(s\)|"
                     r"task_opened|case_started|running|stuck|"
                     # ... and that the history's details (the engine's record of what happened) used to say
                     r"by|from|since|ends|last day|late|on time|met|paused|case closed|counted|moves|to|on|no)\b")
DEFINITION_WORDS = re.compile(r"\b(rondleiding|klantprofiel|klantregisseur|coordinator|koppeling|scenario|operator|"
                              r"[a-z]+_[a-z_]+)(@\d+)?\b")
"""Ids from the definitions (steps, roles, messages, templates) are names, not Regie's words."""
FIXTURES = ROOT / "tests" / "fixtures"
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")


@pytest.fixture
def a_case(tmp_path, monkeypatch):
    """A case in a fresh data dir, started in winter at 08:00 UTC (09:00 in Amsterdam)."""
    monkeypatch.setenv("REGIE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REGIE_MUNICIPALITIES", "utrecht")
    monkeypatch.delenv("REGIE_DATABASE_URL", raising=False)
    folder = tmp_path / "definitions"
    folder.mkdir()
    for source in DEFINITIONS:
        for path in ([source] if source.is_file() else source.glob("*.yaml")):
            (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setenv("REGIE_DEFINITIONS_DIR", str(folder))
    (tmp_path / "data").mkdir()
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'regie.db'}")
    upgrade(engine)
    library, problems = validate_paths(DEFINITIONS)
    assert problems == []
    clock = FakeClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    CaseService(engine, library, clock, municipalities={"utrecht"}).start_trajectory(
        case_ref="RMD-2026-0301", definition="rondleiding", municipality="utrecht", start_message="koppeling",
        actor="anna")
    engine.dispose()
    return "RMD-2026-0301"


def test_case_show_speaks_dutch_and_shows_amsterdam_time_with_the_zone(a_case, capsys):
    assert main(["case", "show", a_case]) == 0
    out = capsys.readouterr().out

    assert out.splitlines()[0] == f"{a_case}  utrecht  rondleiding@1  versie 1  loopt  fase warme_overdracht  " \
                                  "(tijden: Amsterdam)"
    assert "02-03-2026 09:00" in out and "zaak gestart" in out  # 08:00 UTC is 09:00 in Amsterdam
    assert "straks 17-03-2026 00:00  termijn verstrijkt: klantprofiel" in out  # due 16 March: passes at midnight
    assert "zaak gestart" in out and "(via koppeling)" in out
    assert "(klantregisseur, uiterlijk 16-03-2026)" in out  # the history's own detail, Dutch since issue 14
    words = DEFINITION_WORDS.sub("", out)
    assert ENGLISH.findall(words) == [] and ISO_TIME.findall(out) == [], out
    assert not re.search(r"\d{4}-\d{2}-\d{2}", out), out


def test_case_list_speaks_dutch_and_writes_dates_the_dutch_way(a_case, capsys):
    assert main(["case", "list", "--municipality", "utrecht"]) == 0
    out, err = capsys.readouterr()

    assert out.startswith(a_case) and " loopt " in out and err.strip() == "1 zaak"
    assert ENGLISH.findall(out + err) == [] and not re.search(r"\d{4}-\d{2}-\d{2}", out), out


def test_the_history_details_of_a_whole_trajectory_are_dutch(capsys):
    """Reminders, escalations, a late completion, terms started, stopped and closed: every detail in Dutch."""
    scenario = FIXTURES / "scenarios" / "rondleiding_snelle_start.yaml"
    assert main(["simulate", str(scenario), "-d", str(FIXTURES / "definitions")]) == 0
    out = capsys.readouterr().out
    details = [line.split("  (", 1)[1] for line in out.splitlines() if "  (" in line and line[:2].isdigit()]

    assert len(details) > 10 and "(via koppeling)" in out and "uiterlijk 19-01-2026" in out
    assert ENGLISH.findall(DEFINITION_WORDS.sub("", "\n".join(details))) == [], details
    assert not re.search(r"\d{4}-\d{2}-\d{2}", out), out

"""`regie simulate`: one case in virtual time, as text for people and as JSON for programs."""

from __future__ import annotations

import json
import re

import pytest

from cli.main import main
from engine.errors import DefinitionError, EngineError
from engine.simulation import load_scenario, simulate
from engine.validator import validate_paths
from tests.engine.casefile import ROOT

FIXTURES = ROOT / "tests" / "fixtures"
SCENARIO = FIXTURES / "scenarios" / "rondleiding_snelle_start.yaml"
LIBRARY, _ = validate_paths([ROOT / "process_definitions" / "catalog.yaml", FIXTURES / "definitions"])


def test_a_simulation_lists_everything_in_time_order_and_the_final_picture():
    result = simulate(LIBRARY, load_scenario(SCENARIO))
    moments = [h.at for h in result.timeline]
    assert moments == sorted(moments)
    kinds = [(h.at.date().isoformat(), h.kind, h.ref) for h in result.timeline]
    assert ("2026-01-05", "task_opened", "klantprofiel") in kinds
    assert ("2026-01-19", "deadline_missed", "klantprofiel") in kinds  # 00:00 on 20 January, Dutch time
    assert ("2026-02-02", "clock_started", "pip_termijn") in kinds
    assert result.status == "completed"
    # The case completed on 9 February, before its PIP clock ran out; the clock stops with the case.
    assert result.clocks == [{"clock": "pip_termijn", "status": "stopped", "started_on": "2026-02-03",
                              "end_on": "2026-04-13", "paused_days": 0, "extended": False}]
    roles = [(n["role"], n["template"]) for n in result.notifications]
    assert roles[:2] == [("klantregisseur", "taak_geopend"), ("coa", "bericht")]
    assert ("coordinator", "termijn_verstreken") in roles


def test_regie_simulate_prints_a_readable_timeline(capsys):
    assert main(["simulate", str(SCENARIO), "-d", str(FIXTURES / "definitions")]) == 0
    out = capsys.readouterr().out
    # Regie's words, the history's details included, in Amsterdam time.
    assert out.splitlines()[0] == "Scenario rondleiding met snelle start: rondleiding@1  (tijden: Amsterdam)"
    assert "05-01-2026 09:00  taak geopend             klantprofiel  (klantregisseur, uiterlijk 19-01-2026)" in out
    assert "20-01-2026 00:00  termijn gemist           klantprofiel  (klantregisseur, uiterlijk 19-01-2026)" in out
    assert "Op 30-04-2026: zaak afgerond" in out
    assert "  Open taken: geen" in out
    assert "    pip_termijn  gestopt  03-02-2026 t/m 13-04-2026" in out
    assert re.findall(r"\b(task|opened|missed|case|completed|stopped|Open tasks|Clocks|Next due|At)\b",
                      out) == []
    assert not re.search(r"\d{4}-\d{2}-\d{2}", out), out


def test_regie_simulate_json_is_one_document_a_program_can_read(capsys):
    assert main(["simulate", str(SCENARIO), "--json", "-d", str(FIXTURES / "definitions")]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) >= {"timeline", "notifications", "open_tasks", "clocks", "next_due", "status"}
    assert "state" not in document
    assert document["timeline"][0]["kind"] == "case_started"


def test_a_scenario_event_that_does_not_fit_names_the_event(tmp_path, capsys):
    bad = tmp_path / "fout.yaml"
    bad.write_text(SCENARIO.read_text().replace("complete: taalspoor", "complete: driegesprek"))
    with pytest.raises(EngineError, match="27-01-2026 complete: driegesprek: .*stap 'driegesprek' staat niet open"):
        simulate(LIBRARY, load_scenario(bad))
    assert main(["simulate", str(bad), "-d", str(FIXTURES / "definitions")]) == 1
    assert "stap 'driegesprek' staat niet open" in capsys.readouterr().err


def test_a_scenario_with_events_out_of_order_is_refused(tmp_path):
    bad = tmp_path / "volgorde.yaml"
    bad.write_text(SCENARIO.read_text().replace("on: 2026-01-27", "on: 2026-01-02"))
    with pytest.raises(DefinitionError, match="op datumvolgorde"):
        load_scenario(bad)

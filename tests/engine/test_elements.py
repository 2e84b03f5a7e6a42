"""Each element kind, walked through a small case in virtual time."""

from __future__ import annotations

import pytest

from engine.commands import CloseUserTask, OpenUserTask
from tests.engine.casefile import Case, process

HEAD = """
kind: process
id: proef
version: 1
name: Proef
data:
  scenario: {type: enum, values: [snelle_start, gecombineerd, na_verhuizing], privacy: process}
  gesprek_datum: {type: date, privacy: process}
  aantal: {type: int, privacy: process}
  akkoord: {type: bool, privacy: process}
  notitie: {type: text, privacy: process, description: "free text"}
"""


def definition(elements: str, extra: str = "") -> str:
    return HEAD + extra + "elements:\n" + elements


SIMPLE_TASK = definition("""
  - {id: start, type: start_event, next: gesprek}
  - id: gesprek
    type: user_task
    name: Gesprek in het AZC
    role: klantregisseur
    instructions: Voer het gesprek.
    form: [{field: gesprek_datum}, {field: notitie, required: false}]
    deadline: P2W
    reminders: [P3D]
    escalations: [{to: coordinator}, {to: coordinator, after: P1W}]
    next: einde
  - {id: einde, type: end_event}
""")


def test_a_user_task_opens_with_deadline_and_completes_on_time():
    case = Case(process(SIMPLE_TASK)).start("2026-03-02")
    assert case.open_steps == ["gesprek"]
    opened = [c for c in case.commands if isinstance(c, OpenUserTask)]
    assert opened[0].due_on.isoformat() == "2026-03-16"
    assert [f.name for f in opened[0].form] == ["gesprek_datum", "notitie"]
    assert case.notified == [("2026-03-02", "klantregisseur", "taak_geopend")]

    case.complete("2026-03-10", "gesprek", gesprek_datum="2026-03-09")
    assert case.state.status == "completed"
    assert case.state.data["gesprek_datum"] == "2026-03-09"
    assert ("2026-03-10", "gesprek", "door operator, op tijd") in case.kinds("task_completed")
    assert case.state.timers == []
    assert any(isinstance(c, CloseUserTask) and c.reason == "completed" for c in case.commands)


def test_a_late_task_gets_a_reminder_then_escalates_twice():
    case = Case(process(SIMPLE_TASK)).start("2026-03-02").until("2026-03-30")
    assert case.notified == [
        ("2026-03-02", "klantregisseur", "taak_geopend"),
        ("2026-03-13", "klantregisseur", "herinnering_taak"),
        ("2026-03-17", "coordinator", "termijn_verstreken"),
        ("2026-03-24", "coordinator", "termijn_verstreken"),
    ]
    assert case.kinds("deadline_missed") == [("2026-03-17", "gesprek", "klantregisseur, uiterlijk 16-03-2026")]
    assert case.state.tasks[0].missed is True
    case.complete("2026-03-31", "gesprek", gesprek_datum="2026-03-31")
    assert case.kinds("task_completed")[0][2] == "door operator, te laat (uiterlijk 16-03-2026)"


def test_a_deadline_in_working_days_skips_weekends_goede_vrijdag_and_easter_monday():
    text = SIMPLE_TASK.replace("deadline: P2W", "deadline: 5 werkdagen")
    case = Case(process(text)).start("2026-04-01")  # Wednesday
    # Thu 2, (Goede Vrijdag 3: Atw art 3 lid 2; the weekend; Easter Monday 6), Tue 7, Wed 8, Thu 9, Fri 10 April
    assert case.state.tasks[0].due_on.isoformat() == "2026-04-10"


def test_a_service_task_sets_literal_and_computed_data_and_notifies():
    text = definition("""
  - {id: start, type: start_event, next: zet}
  - id: zet
    type: service_task
    set:
      aantal: 3
      gesprek_datum: {after: P10W, from: {today: true}}
    notify: {role: coa, template: bericht}
    next: einde
  - {id: einde, type: end_event}
""")
    case = Case(process(text)).start("2026-01-05")
    assert case.state.data == {"aantal": 3, "gesprek_datum": "2026-03-16"}
    assert case.notified == [("2026-01-05", "coa", "bericht")]
    assert case.state.status == "completed"


def test_an_intermediate_timer_waits_for_a_duration_a_data_date_or_a_cycle():
    text = definition("""
  - {id: start, type: start_event, next: wacht_duur}
  - {id: wacht_duur, type: intermediate_timer_event, timer: {duration: P1M}, next: wacht_datum}
  - {id: wacht_datum, type: intermediate_timer_event, timer: {date: {field: gesprek_datum}}, next: wacht_cyclus}
  - id: wacht_cyclus
    type: intermediate_timer_event
    timer: {cycle: {every: P1M, start: {field: gesprek_datum}}}
    next: einde
  - {id: einde, type: end_event}
""")
    case = Case(process(text)).start("2026-01-31", gesprek_datum="2026-05-15").until("2026-12-31")
    assert case.kinds("timer_fired") == [
        ("2026-02-28", "wacht_duur", ""),   # a month after 31 January clamps to the month's end
        ("2026-05-15", "wacht_datum", ""),
        ("2026-06-15", "wacht_cyclus", ""),  # the next monthly occurrence after 15 May
    ]
    assert case.state.status == "completed"


def test_a_message_event_waits_and_times_out_when_the_message_does_not_come():
    text = definition("""
  - {id: start, type: start_event, next: wacht}
  - id: wacht
    type: intermediate_message_event
    message: huisvesting
    timeout:
      timer: {duration: P12W}
      next: te_laat
      notify: {role: coordinator, template: bericht}
    next: einde
  - {id: te_laat, type: end_event}
  - {id: einde, type: end_event}
""")
    on_time = Case(process(text)).start("2026-01-05").message("2026-02-01", "huisvesting", verhuisdatum="2026-02-15")
    assert on_time.state.status == "completed"
    assert on_time.state.anchors["huisvesting"].isoformat() == "2026-02-01"
    assert on_time.state.data["verhuisdatum"] == "2026-02-15"
    assert on_time.notified == []

    late = Case(process(text)).start("2026-01-05").until("2026-06-01")
    assert late.kinds("message_timeout") == [("2026-03-30", "wacht", "geen huisvesting")]
    assert late.notified == [("2026-03-30", "coordinator", "bericht")]


def test_a_message_that_occurred_earlier_records_its_own_date_as_anchor():
    text = definition("""
  - {id: start, type: start_event, next: wacht}
  - {id: wacht, type: intermediate_message_event, message: huisvesting, next: einde}
  - {id: einde, type: end_event}
""")
    case = Case(process(text)).start("2026-01-05").message("2026-02-10", "huisvesting", occurred_on="2026-02-01")
    assert case.state.anchors["huisvesting"].isoformat() == "2026-02-01"


BOUNDARY = definition("""
  - {id: start, type: start_event, next: profiel}
  - id: profiel
    type: user_task
    role: klantregisseur
    instructions: Bevestig ontvangst van het klantprofiel.
    boundary:
      - id: coa_herinneren
        type: timer
        interrupting: false
        timer: {cycle: {every: P1W, times: 2}}
        notify: {role: coa, template: bericht}
      - id: te_lang
        type: timer
        timer: {duration: P6W}
        next: escaleren
      - id: verhuisd
        type: message
        message: huisvesting
        next: einde
    next: einde
  - id: escaleren
    type: service_task
    notify: {role: coordinator, template: bericht}
    next: einde
  - {id: einde, type: end_event}
""")


def test_a_non_interrupting_cycle_reminds_coa_weekly_without_closing_the_task():
    case = Case(process(BOUNDARY)).start("2026-01-05").until("2026-02-10")
    assert [n for n in case.notified if n[1] == "coa"] == [("2026-01-12", "coa", "bericht"),
                                                            ("2026-01-19", "coa", "bericht")]
    assert case.open_steps == ["profiel"]


def test_an_interrupting_timer_cancels_the_task_and_takes_its_own_path():
    case = Case(process(BOUNDARY)).start("2026-01-05").until("2026-03-01")
    assert case.kinds("task_cancelled") == [("2026-02-16", "profiel", "")]
    assert ("2026-02-16", "coordinator", "bericht") in case.notified
    assert case.state.status == "completed"
    assert any(isinstance(c, CloseUserTask) and c.reason == "cancelled" for c in case.commands)


def test_an_interrupting_message_cancels_the_task_and_its_timers():
    case = Case(process(BOUNDARY)).start("2026-01-05").message("2026-01-14", "huisvesting")
    assert case.state.status == "completed"
    assert case.state.timers == [] and case.state.tasks == []


GATEWAYS = definition("""
  - {id: start, type: start_event, next: kies}
  - id: kies
    type: exclusive_gateway
    branches:
      - when: {all: [{field: scenario, op: eq, value: snelle_start}, {field: akkoord, op: eq, value: true}]}
        next: splits
      - when: {any: [{field: aantal, op: ge, value: 3}, {not: {field: scenario, op: is_set}}]}
        next: weinig
    default: standaard
  - {id: weinig, type: end_event}
  - {id: standaard, type: end_event, terminate: true}
  - {id: splits, type: parallel_gateway, next: [taal, werk]}
  - {id: taal, type: user_task, role: taalaanbieder, instructions: Start de taallessen., next: samen}
  - {id: werk, type: user_task, role: werkgever, instructions: Start de werkervaringsplek., next: samen}
  - {id: samen, type: parallel_gateway, next: [klaar]}
  - {id: klaar, type: end_event}
""")


@pytest.mark.parametrize(
    ("data", "path_end"),
    [
        ({"scenario": "gecombineerd", "aantal": 3}, "weinig"),
        ({}, "weinig"),
        ({"scenario": "gecombineerd", "aantal": 1}, "standaard"),
    ],
)
def test_an_exclusive_gateway_takes_the_first_branch_that_holds_or_the_default(data, path_end):
    case = Case(process(GATEWAYS)).start("2026-01-05", **data)
    expected = "terminated" if path_end == "standaard" else "completed"
    assert case.state.status == expected


def test_a_parallel_split_runs_both_tracks_and_the_join_waits_for_both():
    case = Case(process(GATEWAYS)).start("2026-01-05", scenario="snelle_start", akkoord=True)
    assert case.open_steps == ["taal", "werk"]
    case.complete("2026-01-10", "werk")
    assert case.state.status == "active" and case.open_steps == ["taal"]
    assert len(case.state.tokens) == 1
    case.complete("2026-01-20", "taal")
    assert case.state.status == "completed"
    assert case.state.joins == {}


def test_a_terminate_end_cancels_every_other_open_task():
    text = GATEWAYS.replace("  - {id: taal, type: user_task, role: taalaanbieder, instructions: Start de taallessen., next: samen}",
                            "  - {id: taal, type: user_task, role: taalaanbieder, instructions: Start de taallessen., next: stop}\n"
                            "  - {id: stop, type: end_event, terminate: true}")
    text = text.replace("next: [taal, werk]", "next: [taal, werk]").replace("  - {id: samen, type: parallel_gateway, next: [klaar]}\n  - {id: klaar, type: end_event}\n", "")
    text = text.replace("instructions: Start de werkervaringsplek., next: samen}", "instructions: Start de werkervaringsplek., next: klaar}\n  - {id: klaar, type: end_event}")
    # No join: the validator would call this split unbalanced, so build the process without checks.
    from tests.engine.casefile import library
    lib = library(text)
    case = Case(lib.process("proef@1")).start("2026-01-05", scenario="snelle_start", akkoord=True)
    case.complete("2026-01-06", "taal")
    assert case.state.status == "terminated"
    assert case.state.tasks == [] and case.state.tokens == []
    assert ("2026-01-06", "werk", "") in case.kinds("task_cancelled")


SUB = """
kind: process
id: deel
version: 1
name: Deelproces
elements:
  - {id: begin, type: start_event, next: taak}
  - {id: taak, type: user_task, role: coa, instructions: Lever het klantprofiel aan., deadline: P1W,
     escalations: [{to: klantregisseur}], next: klaar}
  - {id: klaar, type: end_event}
"""

CALLER = definition("""
  - {id: start, type: start_event, next: roep}
  - id: roep
    type: call_activity
    process: deel
    version: 1
    boundary:
      - {id: afbreken, type: timer, timer: {duration: P4W}, next: afgebroken}
    next: daarna
  - {id: daarna, type: user_task, role: klantregisseur, instructions: Ga verder., next: einde}
  - {id: afgebroken, type: end_event}
  - {id: einde, type: end_event}
""")


def test_a_call_activity_runs_the_sub_process_and_continues_when_it_ends():
    case = Case(process(CALLER, SUB)).start("2026-01-05")
    assert case.open_steps == ["taak"]
    assert [s.definition for s in case.state.scopes] == ["proef@1", "deel@1"]
    case.complete("2026-01-08", "taak")
    assert case.open_steps == ["daarna"]
    assert [s.definition for s in case.state.scopes] == ["proef@1"]
    assert not any(t.kind == "boundary" for t in case.state.timers)


def test_a_boundary_timer_on_a_call_activity_cancels_the_whole_sub_process():
    case = Case(process(CALLER, SUB)).start("2026-01-05").until("2026-03-01")
    assert case.state.status == "completed"
    assert ("2026-02-02", "taak", "") in case.kinds("task_cancelled")
    assert case.kinds("subprocess_cancelled") == [("2026-02-02", "deel@1", "")]


def test_a_message_handler_acts_in_every_phase():
    text = definition("""
  - {id: start, type: start_event, next: taak}
  - {id: taak, type: user_task, role: klantregisseur, instructions: Doe iets., next: einde}
  - {id: einde, type: end_event}
""", extra="""message_handlers:
  - id: uitval
    message: uitval_signaal
    notify: {role: klantregisseur, template: bericht}
""")
    case = Case(process(text)).start("2026-01-05").message("2026-02-01", "uitval_signaal")
    assert case.notified[-1] == ("2026-02-01", "klantregisseur", "bericht")
    assert case.open_steps == ["taak"]


def test_a_case_started_by_a_message_records_it_as_an_anchor():
    text = definition("""
  - {id: start, type: start_event, message: koppeling, next: einde}
  - {id: einde, type: end_event}
""")
    case = Case(process(text)).start("2026-01-05", message="koppeling")
    assert case.state.anchors["koppeling"].isoformat() == "2026-01-05"


def test_the_phase_follows_the_elements_the_case_reaches():
    text = definition("""
  - {id: start, type: start_event, next: taak}
  - {id: taak, type: user_task, role: klantregisseur, instructions: Intake., phase: brede_intake, next: pip}
  - {id: pip, type: user_task, role: klantregisseur, instructions: PIP., phase: pip, next: einde}
  - {id: einde, type: end_event}
""")
    case = Case(process(text)).start("2026-01-05")
    assert case.state.phase == "brede_intake"
    case.complete("2026-01-06", "taak")
    assert case.state.phase == "pip"
    assert [r for _, r, _ in case.kinds("phase_entered")] == ["brede_intake", "pip"]


def test_profile_parameters_override_the_definition_default():
    text = definition("""
  - {id: start, type: start_event, next: wacht}
  - {id: wacht, type: intermediate_timer_event, timer: {duration: {param: huisvestingsnorm}}, next: einde}
  - {id: einde, type: end_event}
""", extra="""parameters:
  huisvestingsnorm: {type: duration, default: P12W, source: "wi2021.md#2"}
""")
    profile = "kind: profile\nid: kleinstad\nname: Kleinstad\nparameters: {huisvestingsnorm: P8W}\n"
    default = Case(process(text)).start("2026-01-05").until("2026-12-31")
    local = Case(process(text, profile="kleinstad", profiles=(profile,))).start("2026-01-05").until("2026-12-31")
    assert default.kinds("timer_fired") == [("2026-03-30", "wacht", "")]
    assert local.kinds("timer_fired") == [("2026-03-02", "wacht", "")]


def test_a_gateway_can_route_on_the_profile_and_set_can_copy_a_parameter():
    text = definition("""
  - {id: start, type: start_event, next: kies}
  - id: kies
    type: exclusive_gateway
    branches: [{when: {param: scenario_beleid, op: eq, value: snelle_start}, next: overnemen}]
    default: einde
  - {id: overnemen, type: service_task, set: {scenario: {param: scenario_beleid}}, next: einde}
  - {id: einde, type: end_event}
""", extra="""parameters:
  scenario_beleid: {type: text, default: na_verhuizing, source: "P15 local policy"}
""")
    profile = "kind: profile\nid: snel\nname: Snel\nparameters: {scenario_beleid: snelle_start}\n"
    default = Case(process(text)).start("2026-01-05")
    local = Case(process(text, profile="snel", profiles=(profile,))).start("2026-01-05")
    assert default.state.data == {}
    assert local.state.data == {"scenario": "snelle_start"}


def test_a_definition_phase_applies_until_an_element_names_another():
    text = definition("""
  - {id: start, type: start_event, next: taak}
  - {id: taak, type: user_task, role: klantregisseur, instructions: Intake., next: einde}
  - {id: einde, type: end_event}
""", extra="phase: brede_intake\n")
    case = Case(process(text)).start("2026-01-05")
    assert case.state.phase == "brede_intake"


def test_message_handlers_also_see_the_message_that_starts_the_case():
    text = definition("""
  - {id: start, type: start_event, message: duo_kennisgeving, next: einde}
  - {id: einde, type: end_event}
""", extra="""message_handlers:
  - {id: vastleggen, message: duo_kennisgeving, set: {akkoord: true, gesprek_datum: {today: true}}}
""")
    case = Case(process(text)).start("2026-01-05", message="duo_kennisgeving")
    assert case.state.data == {"akkoord": True, "gesprek_datum": "2026-01-05"}

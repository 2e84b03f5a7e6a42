"""The validator: one small broken definition per rule; every problem is reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main
from engine.validator import validate_paths
from tests.engine.casefile import ROOT, problems
from tests.engine.test_elements import definition

OK_END = "  - {id: einde, type: end_event}\n"


def only(found: list[str], text: str) -> None:
    assert any(text in p for p in found), "\n".join(found) or "no problems found"


def test_a_flow_to_an_unknown_element_is_reported():
    only(problems(definition("  - {id: start, type: start_event, next: nergens}\n" + OK_END)),
         "inline-0.yaml: start: onbekend element 'nergens' in de uitgaande stromen")


def test_duplicate_ids_are_reported():
    only(problems(definition("  - {id: start, type: start_event, next: einde}\n" + OK_END + OK_END)),
         "einde: dubbel id (ook gebruikt door einde)")


def test_an_unreachable_element_is_reported():
    text = definition("  - {id: start, type: start_event, next: einde}\n" + OK_END
                      + "  - {id: wees, type: service_task, set: {aantal: 1}, next: einde}\n")
    only(problems(text), "wees: onbereikbaar vanaf elke start")


def test_a_dead_end_loop_that_never_reaches_an_end_is_reported():
    text = definition("""
  - {id: start, type: start_event, next: rond}
  - {id: rond, type: intermediate_timer_event, timer: {duration: P1W}, next: weer}
  - {id: weer, type: intermediate_timer_event, timer: {duration: P1W}, next: rond}
""" + OK_END)
    found = problems(text)
    only(found, "rond: doodlopend: geen pad van hier bereikt een einde (end_event)")
    only(found, "einde: onbereikbaar")


def test_an_exclusive_gateway_without_default_is_reported():
    text = definition("""
  - {id: start, type: start_event, next: kies}
  - id: kies
    type: exclusive_gateway
    branches: [{when: {field: aantal, op: gt, value: 1}, next: einde}]
""" + OK_END)
    only(problems(text), "kies: keuzepunt (exclusive_gateway) heeft geen standaardtak (default)")


def test_an_exclusive_choice_into_a_parallel_join_is_unbalanced():
    text = definition("""
  - {id: start, type: start_event, next: kies}
  - {id: kies, type: exclusive_gateway, branches: [{when: {field: akkoord, op: eq, value: true}, next: a}], default: b}
  - {id: a, type: service_task, set: {aantal: 1}, next: samen}
  - {id: b, type: service_task, set: {aantal: 2}, next: samen}
  - {id: samen, type: parallel_gateway, next: [einde]}
""" + OK_END)
    only(problems(text), "samen: parallelle samenvoeging zonder bijbehorende splitsing")


def test_a_parallel_branch_that_ends_before_the_join_is_unbalanced():
    text = definition("""
  - {id: start, type: start_event, next: split}
  - {id: split, type: parallel_gateway, next: [a, b, c]}
  - {id: a, type: service_task, set: {aantal: 1}, next: samen}
  - {id: b, type: service_task, set: {aantal: 2}, next: samen}
  - {id: c, type: end_event}
  - {id: samen, type: parallel_gateway, next: [einde]}
""" + OK_END)
    only(problems(text), "split: ongelijke parallelle splitsing: de takken bereiken een einde, samenvoeging 'samen', "
                         "niet één samenvoeging")


def test_nested_parallel_splits_that_join_in_order_are_balanced():
    text = definition("""
  - {id: start, type: start_event, next: buiten}
  - {id: buiten, type: parallel_gateway, next: [binnen, c]}
  - {id: binnen, type: parallel_gateway, next: [a, b]}
  - {id: a, type: service_task, set: {aantal: 1}, next: binnen_samen}
  - {id: b, type: service_task, set: {aantal: 2}, next: binnen_samen}
  - {id: binnen_samen, type: parallel_gateway, next: [buiten_samen]}
  - {id: c, type: service_task, set: {aantal: 3}, next: buiten_samen}
  - {id: buiten_samen, type: parallel_gateway, next: [einde]}
""" + OK_END)
    assert problems(text) == []


def test_unknown_roles_templates_messages_fields_and_parameters_are_reported_together():
    text = definition("""
  - {id: start, type: start_event, message: sleuteloverdracht, next: taak}
  - id: taak
    type: user_task
    role: buurman
    instructions: x
    form: [{field: onbekend}]
    deadline: {param: nergens}
    reminders: [{before: P1D, template: geen_sjabloon}]
    escalations: [{to: coordinator}]
    next: kies
  - id: kies
    type: exclusive_gateway
    branches: [{when: {field: scenario, op: eq, value: morgen}, next: einde}]
    default: einde
""" + OK_END)
    found = problems(text)
    for expected in ("start: onbekend bericht 'sleuteloverdracht'", "taak: onbekende rol 'buurman'",
                     "taak: onbekend gegevensveld 'onbekend'", "taak: onbekende parameter 'nergens'",
                     "taak: onbekend berichtsjabloon 'geen_sjabloon'",
                     "kies: 'morgen' is geen waarde van veld 'scenario'"):
        only(found, expected)
    assert len(found) == 6


def test_a_template_variable_the_notification_does_not_provide_is_reported():
    text = definition("""
  - {id: start, type: start_event, next: meld}
  - {id: meld, type: service_task, notify: {role: coa, template: termijn_verstreken}, next: einde}
""" + OK_END)
    only(problems(text), "berichtsjabloon 'termijn_verstreken' gebruikt due_on, instructions, role, step_name, maar "
                         "dit bericht geeft dat niet mee")


@pytest.mark.parametrize(("field", "category"), [("naam", "identifying"), ("ontheffing_besluit", "special")])
def test_a_notification_context_with_personal_or_health_data_is_refused(field, category):
    text = definition(f"""
  - {{id: start, type: start_event, next: meld}}
  - {{id: meld, type: service_task, notify: {{role: coa, template: bericht, context: [{field}]}}, next: einde}}
""" + OK_END)
    only(problems(text), f"meld: de context van het bericht mag '{field}' niet bevatten: dat zijn {category}-gegevens")


def test_a_form_field_with_health_data_is_refused_because_forms_pass_through_prefect():
    text = definition("""
  - {id: start, type: start_event, next: taak}
  - {id: taak, type: user_task, role: klantregisseur, instructions: x, form: [{field: ontheffing_besluit}], next: einde}
""" + OK_END)
    only(problems(text), "formulierveld 'ontheffing_besluit' is special-gegevens: de Prefect-inbox laat het weg")


def test_call_activity_cycles_are_reported():
    a = """
kind: process
id: een
version: 1
name: Een
elements:
  - {id: begin, type: start_event, next: roep}
  - {id: roep, type: call_activity, process: twee, version: 1, next: klaar}
  - {id: klaar, type: end_event}
"""
    b = a.replace("id: een", "id: twee").replace("process: twee", "process: een")
    only(problems(a, b), "kringloop van call_activity's: een@1 -> twee@1 -> een@1")


def test_a_call_to_an_unknown_definition_version_is_reported():
    text = definition("""
  - {id: start, type: start_event, next: roep}
  - {id: roep, type: call_activity, process: proef, version: 7, next: einde}
""" + OK_END)
    only(problems(text), "roep: roept onbekende definitie 'proef@7' aan")


def test_a_profile_may_only_set_declared_parameters_of_the_right_type():
    text = definition("  - {id: start, type: start_event, next: einde}\n" + OK_END, extra="""parameters:
  huisvestingsnorm: {type: duration, default: P12W, source: "wi2021.md#2"}
""")
    profile = "kind: profile\nid: stad\nname: Stad\nparameters: {huisvestingsnorm: 12 weken, onbekend: 1}\n"
    found = problems(text, profiles=(profile,))
    only(found, "stad: parameter 'onbekend' is door geen enkele definitie gedeclareerd")
    only(found, "stad: parameter 'huisvestingsnorm': onbruikbare duur '12 weken'")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_yaml_syntax_error_names_the_file_and_line(tmp_path):
    write(tmp_path, "kapot.yaml", "kind: process\nid: kapot\n  name: verkeerd ingesprongen\n")
    _, found = validate_paths([tmp_path], base=tmp_path)
    assert [str(p) for p in found] == ["kapot.yaml:3: -: YAML-syntaxis: mapping values are not allowed here"]


def test_model_errors_name_the_element_and_its_line(tmp_path):
    text = definition("""
  - {id: start, type: start_event, next: wacht}
  - id: wacht
    type: intermediate_timer_event
    timer: {duration: tien weken}
    next: einde
  - {id: einde, type: end_event, kleur: rood}
""")
    write(tmp_path, "proef.yaml", text)
    _, found = validate_paths([ROOT / "process_definitions" / "catalog.yaml", tmp_path], base=tmp_path)
    lines = [str(p) for p in found]
    assert any(line.startswith("proef.yaml:") and ": wacht: timer.duration: onbruikbare duur 'tien weken'" in line
               for line in lines), lines
    assert any(line.startswith("proef.yaml:19: einde: onbekend veld 'kleur'") for line in lines), lines


def test_regie_validate_prints_every_problem_and_exits_1(tmp_path, capsys):
    text = definition("""
  - {id: start, type: start_event, next: nergens}
  - {id: kies, type: exclusive_gateway, branches: []}
""" + OK_END)
    write(tmp_path, "proef.yaml", text)
    assert main(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "proef.yaml:" in err and "start: onbekend element 'nergens'" in err
    assert "kies: keuzepunt (exclusive_gateway) heeft geen standaardtak (default)" in err
    assert "problemen gevonden" in err


def test_regie_validate_accepts_the_example_definitions(capsys):
    assert main(["validate", str(ROOT / "tests" / "fixtures" / "definitions")]) == 0
    assert capsys.readouterr().out.startswith("in orde: 2 definitie(s)")


def test_regie_validate_names_every_missing_or_wrong_field_at_once(tmp_path, capsys):
    write(tmp_path, "proef.yaml", """kind: process
id: proef
version: een
phase: pvt
elements:
  - {id: start, type: start_event, next: taak}
  - id: taak
    type: user_task
    next: einde
  - {id: vreemd, type: user_taak, next: einde}
  - {id: einde, type: end_event}
""")
    assert main(["validate", str(ROOT / "process_definitions" / "catalog.yaml"), str(tmp_path)]) == 1

    err = capsys.readouterr().err.splitlines()
    mine = [line.split("proef.yaml:", 1)[1] for line in err if "proef.yaml:" in line]
    assert mine == [
        "1: proef: veld 'name' ontbreekt",
        "3: proef: version: moet een geheel getal zijn, niet 'een'",
        "7: taak: veld 'instructions' ontbreekt",
        "7: taak: veld 'role' ontbreekt",
        "10: vreemd: type 'user_taak' bestaat niet; kies uit: start_event, end_event, user_task, service_task, "
        "intermediate_timer_event, intermediate_message_event, exclusive_gateway, parallel_gateway, call_activity",
    ]
    assert err[-1] == "5 problemen gevonden"


def test_regie_schema_describes_all_three_file_kinds(capsys):
    import json
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    kinds = {d["properties"]["kind"]["const"] for name, d in schema["$defs"].items()
             if name in ("Definition", "Catalog", "Profile")}
    assert kinds == {"process", "catalog", "profile"}
    assert "user_task" in json.dumps(schema)


def test_the_inburgeraar_is_never_addressed_directly():
    text = definition("""
  - {id: start, type: start_event, next: meld}
  - {id: meld, type: service_task, notify: {role: inburgeraar, template: bericht}, next: einde}
""" + OK_END)
    only(problems(text), "meld: Regie spreekt de inburgeraar nooit rechtstreeks aan")


def test_a_side_path_of_a_non_interrupting_boundary_inside_a_parallel_branch_is_balanced():
    text = definition("""
  - {id: start, type: start_event, next: split}
  - {id: split, type: parallel_gateway, next: [taal, werk]}
  - id: taal
    type: user_task
    role: taalaanbieder
    instructions: Lessen.
    boundary: [{id: wekelijks, type: timer, interrupting: false, timer: {cycle: {every: P1W}}, next: melden}]
    next: samen
  - {id: melden, type: service_task, notify: {role: coa, template: bericht}, next: zijpad_einde}
  - {id: zijpad_einde, type: end_event}
  - {id: werk, type: user_task, role: werkgever, instructions: Werk., next: samen}
  - {id: samen, type: parallel_gateway, next: [einde]}
""" + OK_END)
    assert problems(text) == []


def test_a_condition_on_an_unknown_profile_parameter_is_reported():
    text = definition("""
  - {id: start, type: start_event, next: kies}
  - id: kies
    type: exclusive_gateway
    branches: [{when: {param: overdrachtsscenario, op: eq, value: snelle_start}, next: einde}]
    default: einde
""" + OK_END)
    only(problems(text), "kies: onbekende parameter 'overdrachtsscenario'")


# --- rules of issue 10: escalation, statutory clocks, bounds -------------------------------------


TASK_WITH_DEADLINE = """
  - {id: start, type: start_event, next: taak}
  - {id: taak, type: user_task, role: klantregisseur, instructions: Doe het., deadline: P2W%s, next: einde}
""" + OK_END


def test_a_step_with_a_deadline_must_say_who_is_told_when_it_passes_or_why_nobody_is():
    only(problems(definition(TASK_WITH_DEADLINE % "")),
         "taak: heeft een termijn maar vertelt niemand wanneer die verstrijkt: voeg `escalations` toe (wie het "
         "hoort) of `no_escalation: <waarom niemand het hoeft te horen>`")
    assert problems(definition(TASK_WITH_DEADLINE % ", escalations: [{to: coordinator}]")) == []
    assert problems(definition(TASK_WITH_DEADLINE % ", no_escalation: \"de klok escaleert zelf\"")) == []


@pytest.mark.parametrize(("extra", "message"), [
    (", no_escalation: \"  \"", "no_escalation noemt de reden waarom niemand het hoort"),
    (", escalations: [{to: coordinator}], no_escalation: waarom", "escalations of no_escalation (met de reden), niet beide"),
])
def test_no_escalation_needs_a_reason_and_excludes_escalations(extra, message):
    only(problems_or_model_errors(definition(TASK_WITH_DEADLINE % extra)), message)


def problems_or_model_errors(text: str) -> list[str]:
    from pydantic import ValidationError
    try:
        return problems(text)
    except ValidationError as exc:
        return [str(exc)]


def test_an_older_version_kept_for_running_cases_is_not_held_to_rules_added_later():
    old = definition(TASK_WITH_DEADLINE % "")
    new = old.replace("version: 1", "version: 2").replace("deadline: P2W", "deadline: P2W, escalations: [{to: coordinator}]")
    assert problems(old, new) == []
    only(problems(old.replace("version: 1", "version: 3"), new), "taak: heeft een termijn maar vertelt niemand")


STATUTORY = definition("""
  - {id: start, type: start_event, next: wacht}
  - {id: wacht, type: intermediate_message_event, message: uitval_signaal, next: einde}
""" + OK_END, extra="""clocks:
  - id: termijn
    duration: P10W
    start_on: [{message: duo_kennisgeving}]
    atw: true
%s    source: "%s"
""")


def test_a_statutory_clock_cites_the_atw_and_is_a_term_someone_must_act_within():
    assert problems(STATUTORY % ("", "wi2021.md#4; Atw: wi2021.md#13")) == []
    only(problems(STATUTORY % ("", "wi2021.md#4")), "termijn: een wettelijke termijn (atw: true) noemt de Algemene "
                                                    "termijnenwet in zijn source (wi2021.md#13 of row 16)")
    only(problems(STATUTORY % ("    deadline: false\n", "wi2021.md#13")), "termijn: atw: true bij een periode")


def test_clock_options_that_cannot_work_are_reported():
    text = STATUTORY % ("    restart_after_stop: true\n    stopped_on: {field: onbekend}\n"
                        "    start_if: {anchor: sleuteloverdracht, op: is_set}\n", "wi2021.md#13")
    found = problems(text)
    only(found, "termijn: restart_after_stop vraagt first_only: false")
    only(found, "termijn: stopped_on zonder stop_on")
    only(found, "termijn: onbekend gegevensveld 'onbekend'")
    only(found, "termijn: onbekend bericht 'sleuteloverdracht'")


def test_an_extension_by_a_decided_length_needs_a_duration_field():
    text = STATUTORY % ("    extensions: [{on: {message: verlenging_toegekend}, by: {field: pip_dagtekening}}]\n",
                        "wi2021.md#13")
    only(problems(text), "termijn: veld 'pip_dagtekening' is geen duur")


def test_a_duration_field_cannot_be_asked_on_a_form():
    text = definition("""
  - {id: start, type: start_event, next: taak}
  - {id: taak, type: user_task, role: klantregisseur, instructions: x, form: [{field: verlenging_duur}], next: einde}
""" + OK_END)
    only(problems(text), "taak: formulierveld 'verlenging_duur' is een duur: het inboxformulier heeft daar geen "
                         "invoer voor")


@pytest.mark.parametrize("where", ["    timer: {duration: P99999Y}\n", "    timer: {duration: P11Y}\n"])
def test_a_duration_beyond_ten_years_is_refused_by_the_validator(tmp_path, where):
    text = definition("  - {id: start, type: start_event, next: wacht}\n  - id: wacht\n"
                      "    type: intermediate_timer_event\n" + where + "    next: einde\n" + OK_END)
    write(tmp_path, "proef.yaml", text)
    _, found = validate_paths([ROOT / "process_definitions" / "catalog.yaml", tmp_path], base=tmp_path)
    only([str(p) for p in found], "is langer dan 10 jaar: geen wettelijke termijn of norm duurt zo lang")


def test_a_profile_parameter_beyond_ten_years_is_refused():
    text = definition(TASK_WITH_DEADLINE % ", escalations: [{to: coordinator}]").replace(
        "deadline: P2W", "deadline: {param: norm}") .replace("elements:", "parameters:\n  norm: {type: duration, "
                                                             "default: P2W, source: P1}\nelements:")
    profile = "kind: profile\nid: proefdorp\nname: Proefdorp\nparameters: {norm: P99999Y}\n"
    only(problems(text, profiles=(profile,)), "parameter 'norm': duur 'P99999Y' is langer dan 10 jaar")


def test_one_parameter_declared_twice_with_different_defaults_is_reported():
    one = definition(TASK_WITH_DEADLINE % ", escalations: [{to: coordinator}]").replace(
        "elements:", "parameters:\n  norm: {type: duration, default: P2W, source: P1}\nelements:")
    other = one.replace("id: proef", "id: ander").replace("default: P2W", "default: P3W")
    only(problems(one, other), "parameter 'norm' is hier gedeclareerd als duration 'P3W', maar in proef@1 als "
                               "duration 'P2W'")

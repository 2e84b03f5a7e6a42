"""What an inbox entry looks like in Prefect: its form, its description, its name and tags (no server)."""

from __future__ import annotations

from datetime import date

import pydantic
import pytest

from engine.commands import FormFieldSpec, OpenUserTask
from integrations import inbox, labels

COMMAND = OpenUserTask(
    key="RMD-2026-0042:4:open", case_ref="RMD-2026-0042", task_id="klantprofiel-3", element="klantprofiel",
    name="Klantprofiel ontvangen", role="klantregisseur", instructions="Bevestig dat het klantprofiel binnen is.",
    due_on=date(2026, 3, 16), phase="warme_overdracht",
    form=[FormFieldSpec(name="scenario", type="enum", required=True, label="Scenario",
                        values=["snelle_start", "gecombineerd"]),
          FormFieldSpec(name="gesprek_datum", type="date", required=False, label="Datum gesprek"),
          FormFieldSpec(name="aantal_gesprekken", type="int", required=False, label="aantal_gesprekken"),
          FormFieldSpec(name="intake_afgerond", type="bool", required=True, label="Intake afgerond"),
          FormFieldSpec(name="opmerking", type="text", required=False, label="opmerking"),
          FormFieldSpec(name="toelichting", type="text", required=False, label="Toelichting", privacy="identifying")],
)
ENTRY = inbox.InboxEntry.from_command(COMMAND, "rotterdam")


def test_the_form_asks_for_each_field_with_its_type_and_choices():
    schema = inbox.form_schema(ENTRY.form)
    fields = schema["properties"]
    assert fields["scenario"]["enum"] == ["Snelle start", "Gecombineerd"]  # as Prefect's form lists them
    assert fields["scenario"][inbox.CHOICES] == {"Snelle start": "snelle_start", "Gecombineerd": "gecombineerd"}
    assert fields["scenario"]["title"] == "Scenario"
    date_field = {"format": "date", "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
    assert date_field in fields["gesprek_datum"]["anyOf"]
    assert {"type": "integer", "minimum": -(2**53 - 1), "maximum": 2**53 - 1} in fields["aantal_gesprekken"]["anyOf"]
    assert fields["intake_afgerond"]["type"] == "boolean"
    assert sorted(schema["required"]) == ["intake_afgerond", "scenario"]
    assert schema["additionalProperties"] is False


def test_a_text_field_of_process_data_takes_a_code_and_a_personal_field_is_not_on_the_form():
    schema = inbox.form_schema(ENTRY.form)
    assert {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]{0,63}$"} in schema["properties"]["opmerking"]["anyOf"]
    assert "toelichting" not in schema["properties"]
    model = inbox.form_model(ENTRY.form)
    assert model(scenario="gecombineerd", intake_afgerond=True, opmerking="kr-017").opmerking == "kr-017"
    with pytest.raises(pydantic.ValidationError, match="opmerking"):
        model(scenario="gecombineerd", intake_afgerond=True, opmerking="Fenna de Vries")
    text = inbox.description(ENTRY)
    assert "Toelichting (`toelichting`)" in text
    assert "`regie case complete RMD-2026-0042 klantprofiel-3 --data toelichting=...`" in text


def test_the_form_refuses_a_value_outside_the_choices_and_unknown_fields():
    model = inbox.form_model(ENTRY.form)
    assert model(scenario="gecombineerd", intake_afgerond=True).gesprek_datum is None
    with pytest.raises(pydantic.ValidationError, match="scenario"):
        model(scenario="iets_anders", intake_afgerond=True)
    with pytest.raises(pydantic.ValidationError, match="naam"):
        model(scenario="gecombineerd", intake_afgerond=True, naam="X")


def test_the_description_says_which_case_which_step_by_when_and_what_to_do():
    text = inbox.description(ENTRY)
    for expected in ("RMD-2026-0042", "Klantprofiel ontvangen", "`klantprofiel`", "klantregisseur", "16-03-2026",
                     "warme_overdracht", "rotterdam", "Bevestig dat het klantprofiel binnen is.", "**Submit**"):
        assert expected in text


def test_an_inbox_run_is_created_suspended_and_waiting_for_its_form():
    body = inbox.flow_run_create(ENTRY, today=date(2026, 3, 2))  # a Monday, two weeks before the deadline
    assert body["name"] == "RMD-2026-0042 · klantprofiel · uiterlijk 16-03-2026"
    assert body["state"]["type"] == "PAUSED" and body["state"]["name"] == "Suspended"
    details = body["state"]["state_details"]
    assert details["pause_reschedule"] is True
    assert details["run_input_keyset"] == {"description": "suspended-regie-inbox-description",
                                           "response": "suspended-regie-inbox-response",
                                           "schema": "suspended-regie-inbox-schema"}
    assert body["idempotency_key"] == "regie-inbox:RMD-2026-0042:klantprofiel-3"
    assert set(body["tags"]) == {"inbox", "case:RMD-2026-0042", "municipality:rotterdam", "phase:warme_overdracht",
                                 "step:klantprofiel", "role:klantregisseur"}
    assert body["parameters"] == {"task": {
        "case_ref": "RMD-2026-0042", "task_id": "klantprofiel-3", "step": "klantprofiel", "role": "klantregisseur",
        "municipality": "rotterdam", "phase": "warme_overdracht", "due_on": "2026-03-16"}}


def test_the_inbox_keys_are_the_ones_suspend_flow_run_uses():
    from prefect.input.run_input import keyset_from_paused_state
    from prefect.states import Suspended

    assert keyset_from_paused_state(Suspended(pause_key=inbox.PAUSE_KEY)) == inbox.KEYSET


def test_tags_are_merged_without_repeats_in_first_seen_order():
    assert labels.merge_tags(["regie", "case:A"], labels.case_tags("A", "rotterdam", None)) == \
        ["regie", "case:A", "municipality:rotterdam"]
    assert labels.event_name("deadline-missed") == "regie.case.deadline-missed"
    assert labels.case_resource_id("RMD-1") == "regie.case.RMD-1"


def test_the_form_schema_is_the_one_suspend_flow_run_would_store_for_the_same_form():
    # RunInput.save builds its schema this way; the UI renders whatever is stored under the schema key.
    from prefect._internal.pydantic.v2_schema import create_v2_schema

    assert inbox.form_schema(ENTRY.form) == create_v2_schema("Formulier",
                                                            model_base=inbox.form_model(ENTRY.form, labelled=True))


@pytest.mark.parametrize(("today", "tag"), [
    (date(2026, 3, 2), None),          # two weeks ahead
    (date(2026, 3, 9), None),          # the Monday before: due next week
    (date(2026, 3, 16), "deze-week"),  # due today
    (date(2026, 3, 15), None),         # a Sunday: due tomorrow is next week
    (date(2026, 3, 17), "te-laat"),    # a day late
])
def test_the_deadline_tags_say_overdue_or_due_this_week(today, tag):
    tags = inbox.flow_run_create(ENTRY, today=today)["tags"]
    assert [t for t in tags if t in labels.DUE_TAGS] == ([tag] if tag else [])


def test_retagging_replaces_an_old_deadline_tag():
    assert labels.with_due_tags(["inbox", "deze-week"], date(2026, 3, 16), date(2026, 3, 17)) == ["inbox", "te-laat"]
    assert labels.with_due_tags(["inbox", "te-laat"], None, date(2026, 3, 17)) == ["inbox"]


def test_a_task_given_back_gets_the_next_key():
    body = inbox.flow_run_create(ENTRY, today=date(2026, 3, 2), generation=3)
    assert body["idempotency_key"] == "regie-inbox:RMD-2026-0042:klantprofiel-3:3"


def test_a_submitted_label_becomes_the_definitions_value_and_a_run_from_before_the_labels_keeps_its_value():
    schema = inbox.form_schema(ENTRY.form)
    assert inbox.form_values({"scenario": "Snelle start", "intake_afgerond": True}, schema) == \
        {"scenario": "snelle_start", "intake_afgerond": True}
    assert inbox.form_values({"scenario": "gecombineerd"}, schema) == {"scenario": "gecombineerd"}
    old = inbox.form_model(ENTRY.form).model_json_schema(by_alias=True)  # what runs opened before stored
    assert old["properties"]["scenario"]["enum"] == ["snelle_start", "gecombineerd"]
    assert inbox.form_values({"scenario": "snelle_start"}, old) == {"scenario": "snelle_start"}


def test_choices_that_would_read_the_same_are_listed_by_their_values():
    assert inbox.choice_labels(["snelle_start", "snelle start"]) is None
    assert inbox.choice_labels(["a", "b_c"]) == {"A": "a", "B c": "b_c"}
    clash = FormFieldSpec(name="keuze", type="enum", required=True, values=["ja_nee", "ja nee"])
    assert inbox.form_schema([clash])["properties"]["keuze"]["enum"] == ["ja_nee", "ja nee"]

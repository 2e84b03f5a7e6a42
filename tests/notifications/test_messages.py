"""Rendering partner messages: strict templates, Dutch and English, where to act, and the privacy guard."""

from __future__ import annotations

import pytest

from engine.definitions import Catalog, Template, TemplateText
from engine.validator import TASK_TEMPLATE_DEFAULTS, TASK_TEMPLATE_VARIABLES
from integrations.messages import (
    SYSTEM_TEMPLATE_VARIABLES,
    MessageError,
    MessageRenderer,
    PrivacyRefused,
    WhereToAct,
    bsn_like,
    elfproef,
)

TASK_CONTEXT = {"case_ref": "TST-2026-0001", "step": "klantprofiel", "step_name": "Klantprofiel ontvangen",
                "task_id": "t1", "role": "klantregisseur", "instructions": "Bevestig de ontvangst.",
                "due_on": "2026-03-16"}


def sample(variables) -> dict[str, str]:
    return {name: f"voorbeeld_{name}" for name in variables}


def catalog_with(catalog: Catalog, **templates: Template) -> Catalog:
    return catalog.model_copy(update={"templates": {**catalog.templates, **templates}})


def test_every_catalogue_template_renders_in_both_languages_with_exactly_its_variables(catalog):
    renderer = MessageRenderer(catalog)

    for name in catalog.templates:
        variables = renderer.variables[name]
        for language in ("nl", "en"):
            message = renderer.render(name, sample(variables), language, "TST-2026-0001")
            assert message.subject and "\n" not in message.subject, name
            assert "regie case show TST-2026-0001" in message.body, name
        for missing in variables:
            context = sample(variables - {missing})
            with pytest.raises(MessageError, match=f"'{missing}' is undefined"):
                renderer.render(name, context, "nl", "TST-2026-0001")


def test_task_and_system_templates_use_only_the_variables_their_sender_provides(catalog):
    renderer = MessageRenderer(catalog)
    task_templates = {*TASK_TEMPLATE_DEFAULTS, "herinnering_taak", "termijn_verstreken"}

    for name in task_templates:
        assert renderer.variables[name] <= TASK_TEMPLATE_VARIABLES, name
    for name, provided in SYSTEM_TEMPLATE_VARIABLES.items():
        assert renderer.variables[name] == provided, name


def test_task_system_and_generic_templates_have_an_english_variant(catalog):
    needed = {"taak_geopend", "herinnering_taak", "termijn_verstreken", "bericht", *SYSTEM_TEMPLATE_VARIABLES}

    assert {name for name in needed if catalog.templates[name].en is None} == set()


def test_an_english_preferring_partner_gets_the_english_variant(catalog):
    message = MessageRenderer(catalog).render("taak_geopend", TASK_CONTEXT, "en", "TST-2026-0001")

    assert message.subject == "New task for case TST-2026-0001: Klantprofiel ontvangen"
    assert "Due: 16-03-2026" in message.body
    assert message.body.endswith("Where: in Regie, with the command: regie case show TST-2026-0001")


def test_a_template_without_english_is_sent_in_dutch_with_a_note_in_english(catalog):
    plain = Template(subject="Zaak {{ case_ref }}", body="Doe iets voor zaak {{ case_ref }}.")
    renderer = MessageRenderer(catalog_with(catalog, alleen_nl=plain))

    message = renderer.render("alleen_nl", {"case_ref": "TST-1"}, "en", "TST-1")

    assert message.subject == "Zaak TST-1"
    assert message.body.startswith("(No English version of this message yet; the Dutch text follows.)")


def test_an_english_text_needing_a_variable_the_dutch_one_lacks_is_refused_when_loading(catalog):
    odd = Template(subject="Zaak {{ case_ref }}", body="Tekst.",
                   en=TemplateText(subject="Case {{ case_ref }}", body="Due {{ due_on }}."))

    with pytest.raises(MessageError, match="scheef: de Engelse tekst gebruikt due_on"):
        MessageRenderer(catalog_with(catalog, scheef=odd))


def test_a_template_with_a_syntax_error_is_refused_when_loading(catalog):
    broken = Template(subject="Zaak {{ case_ref }", body="x")

    with pytest.raises(MessageError, match=r"kapot \(nl\)"):
        MessageRenderer(catalog_with(catalog, kapot=broken))


def test_the_where_line_links_to_the_inbox_in_the_prefect_ui_when_its_address_is_known(catalog):
    renderer = MessageRenderer(catalog, WhereToAct(ui_url="https://regie.testdorp.example/"))

    message = renderer.render("bericht", {"case_ref": "TST-2026-0001"}, "nl", "TST-2026-0001")

    assert message.body.endswith("Waar: https://regie.testdorp.example/runs?flowRuns.tags.name=case%3ATST-2026-0001")


def test_missing_values_and_yes_no_read_as_words_not_as_python(catalog):
    flags = Template(subject="Zaak {{ case_ref }}", body="Klaar: {{ klaar }}. Datum: {{ due_on }}.",
                     en=TemplateText(subject="Case {{ case_ref }}", body="Done: {{ klaar }}. Date: {{ due_on }}."))
    renderer = MessageRenderer(catalog_with(catalog, vlaggen=flags))

    nl = renderer.render("vlaggen", {"case_ref": "T", "klaar": True, "due_on": None}, "nl", "T")
    en = renderer.render("vlaggen", {"case_ref": "T", "klaar": False, "due_on": None}, "en", "T")

    assert nl.body.startswith("Klaar: ja. Datum: onbekend.")
    assert en.body.startswith("Done: no. Date: unknown.")


# --- the privacy guard ----------------------------------------------------------------------------


def test_the_elfproef_tells_bsn_shaped_numbers_from_other_nine_digit_numbers():
    assert elfproef("111222333")
    assert not elfproef("123456789")
    assert bsn_like("kenmerk 1112.22.333 en 123456789") == ["1112.22.333"]
    assert bsn_like("zaak TST-2026-0042, uiterlijk 2026-03-16") == []


@pytest.mark.parametrize("context, why", [
    ({"opmerking": "BSN 111222333"}, "nummer dat op een BSN lijkt"),
    ({"opmerking": "111 222 333"}, "nummer dat op een BSN lijkt"),
    ({"naam": "A. Yusuf"}, "'naam' noemt identificerende"),
    ({"bsn": "x"}, "'bsn' noemt identificerende"),
    ({"geboortedatum": "1990-01-01"}, "'geboortedatum' noemt identificerende"),
    ({"ontheffing_besluit": "x"}, "'ontheffing_besluit' noemt identificerende of bijzondere"),
    ({"uitkomst": "afgewezen"}, "veld met bijzondere persoonsgegevens"),
    ({"opmerking": "wacht op de diagnose"}, "'opmerking' bevat een gezondheidswoord \\(niet herhaald\\)"),
    ({"reden": ["verzuim", "psychische klachten"]}, "'reden' bevat een gezondheidswoord"),
    ({"opmerking": {"toelichting": "PTSS"}}, "'opmerking' bevat een gezondheidswoord"),
])
def test_the_guard_refuses_identifying_and_health_data_before_rendering(catalog, context, why):
    renderer = MessageRenderer(catalog)

    with pytest.raises(PrivacyRefused, match=why) as refused:
        renderer.render("bericht", {"case_ref": "TST-1", **context}, "nl", "TST-1")
    # The refusal is stored beside the case ref: it names the key, never the data it refused.
    for word in ("diagnose", "psychische", "PTSS", "111222333", "111 222 333", "A. Yusuf", "1990-01-01", "afgewezen"):
        assert word not in str(refused.value)


def test_the_guard_lets_process_data_through(catalog):
    context = {**TASK_CONTEXT, "leerroute": "b1_route", "aantal": 123456789, "klaar": True}

    message = MessageRenderer(catalog).render("taak_geopend", context, "nl", "TST-2026-0001")

    assert message.subject == "Nieuwe taak voor zaak TST-2026-0001: Klantprofiel ontvangen"

"""The Wi2021 definitions in process_definitions/: they validate, cite their sources, keep local policy in
the profiles, and the generated docs/processes.md matches them."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from cli import docs_cmd
from engine.definitions import (
    IntermediateMessageEvent,
    IntermediateTimerEvent,
    ServiceTask,
    StartEvent,
    UserTask,
)
from engine.diagram import deadlines, flowchart, processes_doc
from engine.loader import DEFAULT_DIR
from engine.validator import validate_paths

DOCS = DEFAULT_DIR.parent / "docs" / "processes.md"
# A source names a section of wi2021.md or a requirement of the practice README.
RULE = re.compile(r"wi2021\.md#\d+|\bP\d{1,2}\b")


@pytest.fixture(scope="module")
def library():
    library, problems = validate_paths([DEFAULT_DIR])
    assert [str(p) for p in problems] == []
    return library


def test_every_file_in_process_definitions_validates(library):
    files = sorted(p.name for p in DEFAULT_DIR.rglob("*.yaml"))
    assert len(library.definitions) + len(library.profiles) + 1 == len(files)


def test_the_two_roots_start_by_a_life_event_and_share_the_sub_processes(library):
    starts = {d.id: sorted(e.message for e in d.elements if isinstance(e, StartEvent))
              for d in library.definitions.values() if d.id in ("asielstatushouder", "gezinsmigrant")}
    assert starts == {"asielstatushouder": ["koppeling"], "gezinsmigrant": ["brp_inschrijving", "duo_kennisgeving"]}
    asiel = set(library.process("asielstatushouder").definitions)
    gezin = set(library.process("gezinsmigrant").definitions)
    assert asiel - gezin == {"asielstatushouder@2", "warme_overdracht@2", "wachten_op_woning@1"}
    assert gezin - asiel == {"gezinsmigrant@2"}


def test_a_gezinsmigrant_process_has_no_coa_phase_and_no_ontzorgen(library):
    process = library.process("gezinsmigrant")
    assert set(process.clocks) == {"pip_termijn", "inburgeringstermijn", "duaal_streefdatum",
                                   "beslistermijn_ontheffing", "beslistermijn_verlenging"}
    roles = {n.role for d in process.definitions.values() for n in _notifies(d)}
    roles |= {e.role for d in process.definitions.values() for e in d.elements if isinstance(e, UserTask)}
    assert roles.isdisjoint({"coa", "inkomen"})


def _timed(definition):
    """(what, source) of every clock, milestone, timer, deadline, boundary event and timeout."""
    for clock in definition.clocks:
        yield f"clock {clock.id}", clock.source
        for milestone in clock.milestones:
            yield f"milestone {clock.id}.{milestone.id}", milestone.source
    for element in definition.elements:
        if isinstance(element, UserTask) and element.deadline is not None:
            yield f"deadline of {element.id}", element.source
        if isinstance(element, IntermediateTimerEvent):
            yield f"timer {element.id}", element.source
        if isinstance(element, IntermediateMessageEvent) and element.timeout is not None:
            yield f"timeout of {element.id}", element.timeout.source
        for boundary in getattr(element, "boundary", []):
            yield f"boundary {element.id}.{boundary.id}", boundary.source
    for name, parameter in definition.parameters.items():
        yield f"parameter {name}", parameter.source


def _latest(library):
    return [library.latest(i) for i in sorted({d.id for d in library.definitions.values()})]


def test_every_timer_deadline_and_milestone_cites_the_rule_it_encodes(library):
    missing = [f"{d.ref}: {what}" for d in library.definitions.values() for what, source in _timed(d)
               if not RULE.search(source or "")]
    assert missing == []


def test_uncertain_legal_values_are_profile_parameters_with_the_fact_sheets_default(library):
    defaults = {name: p.default for d in _latest(library) for name, p in d.parameters.items()}
    # wi2021.md confidence M or L, or changed over time, or a norm rather than law: each is a parameter,
    # default as in the fact sheet (rows 1, 2, 4, 6, 9, 11, 14, 15; §7).
    assert {name: defaults[name] for name in (
        "pip_termijn", "pip_termijn_na_informatie", "schakeltermijn", "koppelingsnorm", "huisvestingsnorm_woning",
        "huisvestingsnorm_verhuizing", "ontzorgen_duur", "map_minimaal_taalniveau", "pvt_start_na_pip",
        "map_praktijkuren_minimum", "automatische_verlenging", "oproep_reactietermijn", "boete_tweede_oproep",
        "boete_derde_oproep", "boete_asielstatushouder", "examenuitslag_termijn",
        "examenuitslag_termijn_spreken_schrijven",
    )} == {
        "pip_termijn": "P10W", "pip_termijn_na_informatie": "P2W", "schakeltermijn": "P18M", "koppelingsnorm": "P2W",
        "huisvestingsnorm_woning": "P10W", "huisvestingsnorm_verhuizing": "P2W", "ontzorgen_duur": "P6M",
        "map_minimaal_taalniveau": "a0", "pvt_start_na_pip": "P0D", "map_praktijkuren_minimum": 40,
        "automatische_verlenging": "P6M", "oproep_reactietermijn": "P2W", "boete_tweede_oproep": 250,
        "boete_derde_oproep": 250, "boete_asielstatushouder": True, "examenuitslag_termijn": "P8W",
        "examenuitslag_termijn_spreken_schrijven": "P16W",
    }
    assert [d["nazorg_contact_" + str(i)] for d in [defaults] for i in range(1, 6)] == ["P2W", "P6W", "P3M", "P6M", "P12M"]


def test_the_three_year_term_is_fixed_by_law_not_by_the_profile(library):
    term = library.definitions["inburgeringstermijn@2"].clocks[0]
    assert (term.id, term.duration, term.first_only, term.atw) == ("inburgeringstermijn", "P3Y", True, True)


def test_the_atw_applies_to_the_statutory_terms_and_to_no_local_norm(library):
    # wi2021.md#13: the PIP term (Besluit art 5.3), the inburgeringstermijn (Wet art 7/11) and DUO's
    # decision terms (Awb) are statutory; norms, targets and periods are not.
    clocks = {c.id: c for d in _latest(library) for c in d.clocks}
    assert {cid for cid, c in clocks.items() if c.atw} == {
        "pip_termijn", "inburgeringstermijn", "beslistermijn_ontheffing", "beslistermijn_verlenging"}
    assert {cid for cid, c in clocks.items() if not c.atw} == {
        "koppelingsnorm", "huisvestingsnorm", "verhuisnorm", "ontzorgen", "duaal_streefdatum"}


def test_every_deadline_tells_someone_when_it_passes_or_says_why_nobody_needs_to_hear(library):
    steps = [e for d in _latest(library) for e in d.elements if isinstance(e, UserTask) and e.deadline is not None]
    assert steps and all(e.escalations or e.no_escalation for e in steps)
    assert sorted(e.id for e in steps if not e.escalations) == ["duaal_starten", "snuffelcarrousel"]


def test_each_profile_names_an_organisation_and_contact_for_every_partner_role(library):
    # Per role one partner ({organisation, contact}) or, in the partner-directory format, a list of them.
    roles = set(library.catalog.roles) - {"inburgeraar"}
    for profile in library.profiles.values():
        assert set(profile.partners) == roles, profile.id
        for role, partners in profile.partners.items():
            for partner in partners if isinstance(partners, list) else [partners]:
                assert partner["organisation"] and "contact" in partner, f"{profile.id}.{role}"


def test_the_large_city_and_the_small_municipality_differ_in_local_policy(library):
    tilburg, nederweert = library.profiles["tilburg"].parameters, library.profiles["nederweert"].parameters
    assert (tilburg["overdrachtsscenario"], nederweert["overdrachtsscenario"]) == (
        "gecombineerde_aanpak", "start_na_verhuizing")
    assert (tilburg["map_minimaal_taalniveau"], nederweert["map_minimaal_taalniveau"]) == ("a2", "a0")
    # Issue 10: Nederweert's regional housing norm and Tilburg's choice not to fine asielstatushouders.
    assert library.process("asielstatushouder", "nederweert").params["huisvestingsnorm_woning"] == "P12W"
    assert library.process("asielstatushouder", "tilburg").params["boete_asielstatushouder"] is False
    assert library.profiles["nederweert"].region == "Midden-Limburg"


def _notifies(definition):
    for clock in definition.clocks:
        yield from (m.notify for m in clock.milestones if m.notify)
        if clock.expiry:
            yield clock.expiry
    for handler in definition.message_handlers:
        yield from handler.notify
    for element in definition.elements:
        if isinstance(element, ServiceTask) and element.notify:
            yield element.notify
        timeout = getattr(element, "timeout", None)
        if timeout is not None and timeout.notify:
            yield timeout.notify
        yield from (b.notify for b in getattr(element, "boundary", []) if b.notify)


def test_every_notification_says_who_acts_what_to_do_by_when_and_for_which_case(library):
    used = {n.template for d in library.definitions.values() for n in _notifies(d)}
    assert used, "the definitions send no notifications"
    for name in sorted(used):
        template = library.catalog.templates[name]
        text = template.subject + template.body
        assert "{{ case_ref }}" in text, name
        assert "Voor: " in template.body, f"{name} does not name the responsible role"
        assert "Wat u moet doen:" in template.body, f"{name} does not say what to do"
        assert "Uiterlijk:" in template.body, f"{name} does not say by when"


def test_notifications_carry_no_identifying_or_health_data(library):
    fields = dict(library.catalog.data)
    for d in library.definitions.values():
        fields.update(d.data)
    for d in library.definitions.values():
        for notify in _notifies(d):
            for item in notify.context:
                if isinstance(item, str):
                    assert fields[item].privacy.may_leave_case_store, f"{d.ref}: {notify.template} carries {item}"
    # The medical outcome and the LBT exemption ground are special-category data.
    assert fields["ontheffing_besluit"].privacy.value == "special"
    assert fields["lbt_vrijstelling_grond"].privacy.value == "special"


# --- the generated documentation ------------------------------------------------------------------


def test_every_definition_has_a_diagram_with_all_its_elements(library):
    for definition in library.definitions.values():
        chart = flowchart(definition)
        assert chart.startswith("flowchart TD\n")
        for element in definition.elements:
            assert re.search(rf"^    {element.id}\W", chart, re.M), f"{definition.ref}: {element.id}"


def test_the_deadline_table_shows_where_a_duration_comes_from(library):
    rows = {r.what: r for r in deadlines(library.definitions["pip@2"])}
    clock = rows["`pip_termijn`"]
    assert clock.when.startswith("`pip_termijn` (P10W) from P1D after later of (date of `duo_kennisgeving`, "
                                 "date of `brp_inschrijving`)")
    assert "until message `informatie_derde_ontvangen` + `pip_termijn_na_informatie` (P2W)" in clock.when
    assert clock.who == "expiry: coordinator (`pip_termijn_verstreken`)"
    assert rows["`pip_termijn` · `twee_weken_voor_einde`"].source == "wi2021.md#12 klantregisseur: PIP deadline T-2 weeks"


def test_docs_processes_md_matches_the_definitions(library):
    assert DOCS.read_text(encoding="utf-8") == processes_doc(library), "run `regie docs` and commit docs/processes.md"


def _docs(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="regie")
    docs_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["docs", *argv])
    return args.func(args)


def test_regie_docs_check_passes_on_the_checked_in_page(capsys):
    assert _docs(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_regie_docs_check_fails_on_a_stale_page_and_docs_rewrites_it(tmp_path: Path, capsys):
    page = tmp_path / "processes.md"
    page.write_text("# Process definitions\n\nold\n", encoding="utf-8")
    assert _docs(["--check", "-o", str(page)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert _docs(["-o", str(page)]) == 0
    assert _docs(["--check", "-o", str(page)]) == 0
    assert page.read_text(encoding="utf-8") == DOCS.read_text(encoding="utf-8")

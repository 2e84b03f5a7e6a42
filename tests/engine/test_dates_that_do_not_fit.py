"""Dates that cannot be right are refused with a typed error that names what and where, and the case stays
exactly as it was; where practice allows an early date, it is accepted with a warning in the history
(issue 10 item 7; issue 11: date arithmetic never raises an untyped error)."""

from __future__ import annotations

from datetime import date

import pytest

from engine.errors import DateBeforeStart, DateInFuture, DateOutOfRange
from engine.events import MessageReceived, Started, TaskCompleted
from tests.engine.casefile import Case, at, process
from tests.engine.test_clocks import pip_case
from tests.engine.test_events_that_do_not_fit import unchanged_after
from tests.engine.test_statutory_terms import TERMS, asiel, gezin


def test_a_pip_dated_before_the_koppeling_is_refused():
    case = asiel("2026-02-02")
    unchanged_after(case, TaskCompleted(task="vaststellen", data={"pip_dagtekening": "2026-01-20"}), at("2026-03-02"),
                    DateBeforeStart, "zaak TEST-0001, stap 'vaststellen': veld 'pip_dagtekening' is 20-01-2026, "
                                     "vóór de start van de zaak op 02-02-2026")


def test_a_life_event_that_cannot_precede_the_case_is_refused():
    case = asiel("2026-02-02")
    unchanged_after(case, MessageReceived(message="uitval_signaal", occurred_on=date(2026, 1, 30)),
                    at("2026-02-05"), DateBeforeStart,
                    "zaak TEST-0001, bericht 'uitval_signaal': bericht 'uitval_signaal' op 30-01-2026, vóór de start "
                    "van de zaak op 02-02-2026")


def test_a_registration_before_duos_notice_is_normal_and_accepted_silently():
    case = gezin("2026-02-16").message("2026-02-17", "brp_inschrijving", occurred_on="2026-02-02")
    assert case.entries("warning") == [] and case.state.anchors["brp_inschrijving"] == date(2026, 2, 2)


def test_duos_notice_before_the_koppeling_is_accepted_with_a_warning():
    case = asiel("2026-02-02").message("2026-02-10", "duo_kennisgeving", occurred_on="2026-01-28")
    warning = case.entries("warning")
    assert [(w.ref, w.detail) for w in warning] == [
        ("duo_kennisgeving", "bericht 'duo_kennisgeving' op 28-01-2026, vóór de start van de zaak op 02-02-2026")]
    assert case.state.anchors["duo_kennisgeving"] == date(2026, 1, 28)


def test_a_permit_always_precedes_the_koppeling_and_is_accepted():
    case = asiel("2026-02-02", verblijfsvergunning_op="2026-01-15")
    assert case.entries("warning") == [] and case.state.data["verblijfsvergunning_op"] == "2026-01-15"


def test_a_life_event_dated_after_today_is_refused():
    case = asiel("2026-02-02")
    unchanged_after(case, MessageReceived(message="duo_kennisgeving", occurred_on=date(2062, 2, 10)),
                    at("2026-02-10"), DateInFuture, "bericht 'duo_kennisgeving': dat gebeurde op 10-02-2062, na "
                                                    "vandaag \\(10-02-2026\\)")
    unchanged_after(Case(process(TERMS)), Started(message="koppeling", occurred_on=date(2026, 3, 1)),
                    at("2026-02-10"), DateInFuture, "start van termijnen@1: dat gebeurde op 01-03-2026")


def test_an_event_handled_at_a_moment_before_the_case_started_is_refused():
    case = Case(process(TERMS)).start("2026-02-10", "koppeling")
    unchanged_after(case, MessageReceived(message="uitval_signaal"), at("2026-02-09"), DateBeforeStart,
                    "een gebeurtenis op 09-02-2026 ligt vóór de start van de zaak op 10-02-2026")


def test_a_term_beyond_the_calendar_names_the_case_the_clock_and_the_duration():
    case = pip_case().message("2026-01-12", "duo_kennisgeving")
    unchanged_after(case, TaskCompleted(task="vaststellen", data={"pip_dagtekening": "9998-06-01"}), at("2026-03-02"),
                    DateOutOfRange, "zaak TEST-0001, termijn 'inburgeringstermijn': P3Y na 01-06-9998 valt na de "
                                    "laatste datum die de kalender kent")


def test_an_end_on_the_last_day_of_the_calendar_is_a_typed_error_not_an_overflow():
    case = pip_case().message("2026-01-12", "duo_kennisgeving")
    case.complete("2026-03-02", "vaststellen", pip_dagtekening="2026-03-02")
    unchanged_after(case, MessageReceived(message="verlenging_toegekend",
                                          data={"nieuwe_einddatum_termijn": "9999-12-31"}), at("2028-10-01"),
                    DateOutOfRange, "zaak TEST-0001, termijn 'inburgeringstermijn': 31-12-9999 \\+ 1 dagen valt "
                                    "buiten de kalender")


@pytest.mark.parametrize("text", ["P11Y", "P99999Y"])
def test_a_case_duration_beyond_ten_years_is_refused_as_form_data(text):
    case = gezin("2026-01-05").message("2026-01-05", "brp_inschrijving", occurred_on="2026-01-02")
    case.complete("2026-02-02", "vaststellen", pip_dagtekening="2026-02-02")
    from engine.errors import FormInvalid
    unchanged_after(case, MessageReceived(message="verlenging_toegekend", data={"verlenging_duur": text}),
                    at("2028-10-01"), FormInvalid, "veld 'verlenging_duur': duur .* is langer dan 10 jaar")


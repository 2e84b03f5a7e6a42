"""One description of date expressions: the docs page shows it in markdown, error messages in plain text."""

from __future__ import annotations

import pytest

from engine.describe import describe_date
from engine.errors import DataMissing
from engine.events import TaskCompleted
from engine.expressions import After, AnchorDate, ClockDate, FieldDate, LaterOf, ParamRef
from engine.interpreter import advance
from tests.engine.casefile import at, process
from tests.engine.test_clocks import PIP, pip_case

PIP_START = After(after="P1D", from_=LaterOf(later_of=[AnchorDate(anchor="duo_kennisgeving"),
                                                       AnchorDate(anchor="brp_inschrijving")]))


def test_the_docs_show_a_date_expression_with_names_in_code_font():
    assert describe_date(PIP_START) == "P1D after later of (date of `duo_kennisgeving`, date of `brp_inschrijving`)"


def test_an_error_shows_the_same_expression_in_dutch_saying_what_each_name_is():
    assert describe_date(PIP_START, style="text") == (
        "P1D na de laatste van (datum van bericht 'duo_kennisgeving', datum van bericht 'brp_inschrijving')")
    term_end = After(after=ParamRef(param="verlengingsduur"), from_=ClockDate(clock="inburgeringstermijn"))
    assert describe_date(term_end, {"verlengingsduur": "P6M"}, style="text") == (
        "parameter 'verlengingsduur' (P6M) na einde van termijn 'inburgeringstermijn'")
    assert describe_date(FieldDate(field="pip_dagtekening"), style="text") == "veld 'pip_dagtekening'"


def test_a_clock_that_cannot_start_names_the_missing_date_in_words():
    broken = process(PIP.replace("{field: pip_dagtekening}}", "{field: nieuwe_einddatum_termijn}}"))
    with pytest.raises(DataMissing, match=r"start van termijn 'inburgeringstermijn': de datum P1D na veld "
                                          r"'nieuwe_einddatum_termijn' is nog niet bekend"):
        advance(broken, pip_case().state, TaskCompleted(task="vaststellen", data={"pip_dagtekening": "2026-03-02"}),
                at("2026-03-02"))

"""The artifact renderers are plain functions: exact markdown from read models, no Prefect run needed."""

from __future__ import annotations

from datetime import date

import pytest

from app.overview.caseload import Caseload, CaseloadRow
from app.overview.kpis import Kpi
from app.overview.radar import RadarRow
from app.overview.render import (
    artifact_key,
    bar,
    radar_summary,
    radar_table,
    render_caseload,
    render_kpis,
    render_timeline,
)
from app.overview.timeline import CaseTimeline, TimelineRow

TODAY = date(2026, 6, 1)


def test_artifact_keys_are_lowercase_letters_digits_and_dashes():
    assert artifact_key("case", "TLB-2026-0042") == "case-tlb-2026-0042"
    assert artifact_key("deadline-radar", "Súdwest-Fryslân") == "deadline-radar-sudwest-fryslan"
    assert artifact_key("kpi", "den_haag", "huisvesting") == "kpi-den-haag-huisvesting"
    with pytest.raises(ValueError, match="no artifact key"):
        artifact_key("***")


def test_a_bar_shows_a_share_in_blocks():
    assert bar(0) == "░" * 20
    assert bar(66.7, 6) == "▇▇▇▇░░"
    assert bar(130, 4) == "▇▇▇▇"
    assert bar(None) == ""


def test_the_caseload_shows_phases_and_one_line_per_klantregisseur():
    load = Caseload(municipality="tilburg", today=TODAY, phases=["warme_overdracht", "pip"],
                    total=CaseloadRow("tilburg", 3, {"warme_overdracht": 2, "pip": 1}, 5, 4),
                    by_klantregisseur=[CaseloadRow("kr-01", 2, {"warme_overdracht": 2}, 4, 4),
                                       CaseloadRow("niet toegewezen", 1, {"pip": 1}, 1, 0)])

    text = render_caseload(load)

    assert text.splitlines()[:9] == [
        "### Caseload tilburg, stand 01-06-2026",
        "",
        "**3 open zaken · 5 open taken · 4 te laat**",
        "",
        "| Fase | Zaken | |",
        "|---|---:|---|",
        "| warme_overdracht | 2 | ▇▇▇▇▇▇▇▇▇▇▇▇ |",
        "| pip | 1 | ▇▇▇▇▇▇░░░░░░ |",
        "",
    ]
    assert "| Klantregisseur | Zaken | warme_overdracht | pip | Open taken | Te laat |" in text
    assert "| kr-01 | 2 | 2 | 0 | 4 | 4 |" in text
    assert "| niet toegewezen | 1 | 0 | 1 | 1 | 0 |" in text


def test_the_radar_table_puts_days_left_and_status_next_to_case_step_and_role():
    rows = [RadarRow(date(2026, 5, 21), True, "termijn", "TLB-2026-0200", "pip_termijn", "Termijn voor het PIP",
                     "coordinator"),
            RadarRow(date(2026, 6, 3), False, "taak", "TLB-2026-0201", "driegesprek", "Driegesprek", "klantregisseur")]

    assert radar_table(rows, TODAY) == [
        {"datum": "2026-05-21", "dagen": -11, "status": "te laat", "soort": "termijn", "zaak": "TLB-2026-0200",
         "stap": "pip_termijn", "omschrijving": "Termijn voor het PIP", "rol": "coordinator"},
        {"datum": "2026-06-03", "dagen": 2, "status": "binnenkort", "soort": "taak", "zaak": "TLB-2026-0201",
         "stap": "driegesprek", "omschrijving": "Driegesprek", "rol": "klantregisseur"},
    ]
    assert radar_summary(rows, "tilburg", TODAY, 14) == \
        "Deadline radar tilburg, stand 2026-06-01: 1 te laat, 1 binnen 14 dagen (taken en termijnen, vroegste eerst)"


def test_the_timeline_marks_a_missed_date_and_lists_what_was_missed():
    timeline = CaseTimeline(case_ref="TLB-2026-0200", municipality="tilburg", phase="pip", status="active",
                            today=TODAY, rows=[TimelineRow("Koppeling", None, date(2026, 3, 2), "gedaan"),
                                               TimelineRow("Driegesprek", date(2026, 3, 10), date(2026, 3, 12), "te laat"),
                                               TimelineRow("PIP vastgesteld", date(2026, 5, 21), None, "gemist"),
                                               TimelineRow("Lessen gestart", None, None, "open")])

    assert render_timeline(timeline).splitlines() == [
        "### Tijdlijn zaak TLB-2026-0200",
        "",
        "Gemeente tilburg · fase pip · loopt · stand 01-06-2026",
        "",
        "| Wat | Gepland | Werkelijk | Status |",
        "|---|---|---|---|",
        "| Koppeling |  | 02-03-2026 | ✔ gedaan |",
        "| Driegesprek | 10-03-2026 | 12-03-2026 | ⚠️ te laat |",
        "| PIP vastgesteld | 21-05-2026 |  | ❌ **gemist** |",
        "| Lessen gestart |  |  | ⏳ open |",
        "",
        "**Gemist:** PIP vastgesteld",
        "",
        "_Gepland: de uiterste datum (taak, termijn of norm). Werkelijk: wanneer het gebeurde._",
    ]


def test_kpis_show_value_norm_cases_a_bar_sources_and_a_monthly_trend():
    kpis = [Kpi("huisvesting", "Weken van koppeling tot woning", 11.0, "weken (mediaan)",
                "woning binnen 12 weken na koppeling (huisvestingsnorm P12W)", "wi2021.md#2", 3, met_norm=50.0,
                detail="1 zaak zonder woning en al boven de norm", trend=[("2026-01", 8.0, 1), ("2026-02", 16.0, 2)]),
            Kpi("pip", "PIP vastgesteld binnen de pip_termijn", 75.0, "%", "100% binnen 10 weken", "wi2021.md#4", 4,
                met_norm=75.0),
            Kpi("medisch", "Wachttijd medisch advies", None, "weken (mediaan)", "uitkomst binnen 8 weken", "row 10", 0)]

    text = render_kpis(kpis, "tilburg", TODAY)

    assert ("| Weken van koppeling tot woning | 11,0 weken (mediaan) | woning binnen 12 weken na koppeling "
            "(huisvestingsnorm P12W) | 3 | ▇▇▇▇▇▇▇▇▇▇░░░░░░░░░░ 50,0% |") in text
    assert "| PIP vastgesteld binnen de pip_termijn | 75,0% | 100% binnen 10 weken | 4 | ▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇░░░░░ 75,0% |" in text
    assert "| Wachttijd medisch advies | – | uitkomst binnen 8 weken | 0 | – |" in text
    assert "- **Weken van koppeling tot woning:** 1 zaak zonder woning en al boven de norm" in text
    assert "Laatste maanden: jan 2026: 8,0 (1 zaak) · feb 2026: 16,0 (2 zaken)" in text
    assert "- **PIP vastgesteld binnen de pip_termijn:** wi2021.md#4" in text


def test_a_kpi_trend_is_drawn_as_an_svg_chart_inside_the_markdown():
    import base64
    import re
    from xml.etree import ElementTree

    trend = [("2025-11", 9.0, 2), ("2025-12", 12.5, 1), ("2026-01", 8.0, 4)]
    kpis = [Kpi("huisvesting", "Weken van koppeling tot woning", 9.0, "weken (mediaan)", "binnen 12 weken", "wi2021.md#2",
                7, met_norm=50.0, target=100.0, trend=trend, trend_norm=12.0)]

    text = render_kpis(kpis, "tilburg", TODAY)

    [(alt, data)] = re.findall(r"!\[([^\]]*)\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", text)
    assert alt == "Weken van koppeling tot woning: nov 2025 9,0, dec 2025 12,5, jan 2026 8,0"
    svg = ElementTree.fromstring(base64.b64decode(data))
    ns = "{http://www.w3.org/2000/svg}"
    bars = [r for r in svg.iter(f"{ns}rect") if r.find(f"{ns}title") is not None]
    assert [b.find(f"{ns}title").text for b in bars] == [
        "nov 2025: 9,0 weken (mediaan) (2 zaken)", "dec 2025: 12,5 weken (mediaan) (1 zaak)",
        "jan 2026: 8,0 weken (mediaan) (4 zaken)"]
    heights = [float(b.get("height")) for b in bars]
    assert heights[1] == max(heights) and heights[2] < heights[0]  # 12,5 is the tallest, 8,0 the lowest
    assert any(t.text == "norm 12,0" for t in svg.iter(f"{ns}text"))

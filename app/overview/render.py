"""The overview as the Prefect UI shows it: markdown and tables rendered from the read models, and the
keys they are published under. Plain functions, testable without Prefect.

Process data only, as the read models are: case references, steps, roles, phases, dates and counts.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from app.overview.caseload import Caseload
from app.overview.chart import month_label, trend_image
from app.overview.kpis import Kpi
from app.overview.radar import RadarRow
from app.overview.timeline import GEDAAN, GEMIST, NVT, OP_TIJD, OPEN, TE_LAAT, CaseTimeline
from app.overview.words import number, zaken
from app.people_time import day, status

BAR_WIDTH = 20
STATUS_MARKS = {
    OP_TIJD: "✅ op tijd", TE_LAAT: "⚠️ te laat", GEMIST: "❌ **gemist**", OPEN: "⏳ open", NVT: "– n.v.t.",
    GEDAAN: "✔ gedaan",
}


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key: lowercase letters, digits and dashes (`case-tlb-2026-0042`)."""
    text = unicodedata.normalize("NFKD", "-".join(parts)).encode("ascii", "ignore").decode()
    key = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if not key:
        raise ValueError(f"no artifact key can be made from {parts!r}")
    return key


def bar(share: float | None, width: int = BAR_WIDTH) -> str:
    """A text bar for a percentage: `▇▇▇▇▇░░░░░` (empty when there is nothing to show)."""
    if share is None:
        return ""
    filled = round(max(0.0, min(share, 100.0)) / 100 * width)
    return "▇" * filled + "░" * (width - filled)


def _day(value: date | None) -> str:
    return day(value) if value else ""


def render_caseload(load: Caseload) -> str:
    """Open cases by phase, open and overdue tasks: for the municipality and per klantregisseur."""
    total = load.total
    lines = [f"### Caseload {load.municipality}, stand {day(load.today)}", "",
             f"**{total.cases} open zaken · {total.open_tasks} open taken · {total.overdue_tasks} te laat**", ""]
    if not total.cases:
        return "\n".join(lines + ["Geen open zaken."]) + "\n"
    biggest = max(total.by_phase.values())
    lines += ["| Fase | Zaken | |", "|---|---:|---|"]
    lines += [f"| {phase} | {total.by_phase[phase]} | {bar(100 * total.by_phase[phase] / biggest, 12)} |"
              for phase in load.phases]
    columns = ["Klantregisseur", "Zaken", *load.phases, "Open taken", "Te laat"]
    lines += ["", "#### Per klantregisseur", "", "| " + " | ".join(columns) + " |",
              "|---|" + "---:|" * (len(columns) - 1)]
    for row in load.by_klantregisseur:
        cells = [row.group, row.cases, *(row.by_phase.get(p, 0) for p in load.phases), row.open_tasks,
                 row.overdue_tasks]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines += ["", "_Te laat: de uiterste datum van de taak is voorbij. Zonder werkcode: \"niet toegewezen\"._"]
    return "\n".join(lines) + "\n"


def radar_table(rows: list[RadarRow], today: date) -> list[dict[str, object]]:
    """The deadline radar as table rows, soonest first: date, days left, status, kind, case, step, role."""
    return [{"datum": r.due_on.isoformat(), "dagen": (r.due_on - today).days,
             "status": r.problem or ("te laat" if r.overdue else "binnenkort"), "soort": r.kind, "zaak": r.case_ref,
             "stap": r.step, "omschrijving": r.name, "rol": r.role} for r in rows]


RADAR_HEAD = ("| Datum | Dagen | Status | Soort | Zaak | Stap | Omschrijving | Rol |\n"
              "|---|---:|---|---|---|---|---|---|")


def render_radar(rows: list[RadarRow], today: date, days: int, *, ui_url: str,
                 inbox_runs: dict[tuple[str, str], str]) -> str:
    """The radar as a markdown table (Prefect's table artifacts cannot link): each case links to its
    timeline artifact (`case-<ref>`), each open task to its inbox run (`inbox_runs`: (case, step) -> run id)."""
    lines = [f"### Deadline radar, stand {today:%d-%m-%Y}", "", RADAR_HEAD]
    for row in radar_table(rows, today):
        case, step = str(row["zaak"]), str(row["stap"])
        if case:
            row["zaak"] = f"[{case}]({ui_url}/artifacts/key/{artifact_key('case', case)})"
        run = inbox_runs.get((case, step))
        if run is not None and row["soort"] == "taak":
            row["stap"] = f"[{step}]({ui_url}/runs/flow-run/{run})"
        lines.append("| " + " | ".join(_cell(row[k]) for k in ("datum", "dagen", "status", "soort", "zaak", "stap",
                                                                "omschrijving", "rol")) + " |")
    if not rows:
        lines.append(f"| | | niets binnen {days} dagen | | | | | |")
    lines += ["", "_Zaak: de tijdlijn van de zaak. Stap: de taak in de inbox (Resume om af te ronden)._"]
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def radar_summary(rows: list[RadarRow], municipality: str, today: date, days: int) -> str:
    """One line for the radar's description."""
    stuck = sum(r.problem == "vastgelopen" for r in rows)
    down = sum(r.problem == "storing" for r in rows)
    late = sum(r.overdue for r in rows) - stuck - down
    faults = "".join(f", {n} {what}" for n, what in ((stuck, "vastgelopen"), (down, "kanaal in storing")) if n)
    return (f"Deadline radar {municipality}, stand {today}: {late} te laat, "
            f"{len(rows) - late - stuck - down} binnen {days} dagen{faults} (taken en termijnen, vroegste eerst)")


def render_timeline(timeline: CaseTimeline) -> str:
    """A case from koppeling to nazorg: planned and actual dates side by side, missed dates marked."""
    lines = [f"### Tijdlijn zaak {timeline.case_ref}", "",
             f"Gemeente {timeline.municipality} · fase {timeline.phase or '–'} · {status(timeline.status)} · "
             f"stand {day(timeline.today)}", "",
             "| Wat | Gepland | Werkelijk | Status |", "|---|---|---|---|"]
    for row in timeline.rows:
        lines.append(f"| {row.what} | {_day(row.planned)} | {_day(row.actual)} | {STATUS_MARKS[row.status]} |")
    missed = [row.what for row in timeline.rows if row.status == GEMIST]
    lines += ["", f"**Gemist:** {', '.join(missed)}" if missed else "Geen gemiste datums.",
              "", "_Gepland: de uiterste datum (taak, termijn of norm). Werkelijk: wanneer het gebeurde._"]
    return "\n".join(lines) + "\n"


def render_kpis(kpis: list[Kpi], municipality: str, today: date) -> str:
    """Each KPI with its value, norm, number of cases and a bar of the share that meets the norm."""
    lines = [f"### KPI's {municipality}, stand {day(today)}", "",
             "| KPI | Waarde | Norm | Zaken | Binnen de norm |", "|---|---:|---|---:|---|"]
    for k in kpis:
        value = "–" if k.value is None else f"{number(k.value)}{'' if k.unit == '%' else ' '}{k.unit}"
        met = f"{bar(k.met_norm)} {number(k.met_norm)}%" if k.met_norm is not None else "–"
        lines.append(f"| {k.name} | {value} | {k.norm} | {k.cases} | {met} |")
    details = [f"- **{k.name}:** {k.detail}" for k in kpis if k.detail]
    if details:
        lines += ["", "#### Toelichting", "", *details]
    for k in kpis:
        if k.trend:
            # The picture for the eye (every month's figures in its alt text and tooltips), the latest
            # months below it in words.
            recent = " · ".join(f"{month_label(month)}: {number(v)} ({zaken(n)})" for month, v, n in k.trend[-3:])
            lines += ["", f"#### {k.name}, per maand van start", "", trend_image(k.name, k.trend, k.unit, k.trend_norm),
                      "", f"Laatste maanden: {recent}"]
    lines += ["", "#### Bronnen van de normen", "", *[f"- **{k.name}:** {k.source}" for k in kpis]]
    return "\n".join(lines) + "\n"

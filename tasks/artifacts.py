"""The coordinators' overview as Prefect artifacts: caseload, deadline radar, case timelines and KPIs.

Each task publishes one artifact under a stable key, so every artifact has its own page in the UI and a
history of versions: `caseload-<municipality>`, `deadline-radar-<municipality>`, `kpi-<municipality>`
(and `kpi-<municipality>-<kpi>` progress artifacts for the shares) and `case-<case ref>`.

The renderers are plain functions of the read models in `store.overview`, testable without Prefect.
Artifacts carry case references, steps, roles, phases, dates and counts only: never personal data
(`store.overview` never reads the personal-data table).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.variables import Variable

from engine.calendar import local_date
from store import overview
from store.overview import Caseload, CaseTimeline, Kpi, RadarRow
from tasks.runtime import runtime

PUBLISHED_UNTIL = "regie_overview_published_until"
"""Prefect variable: the service time at the start of the last publish-overview run (ISO, UTC)."""

BAR_WIDTH = 20
STATUS_MARKS = {
    overview.OP_TIJD: "✅ op tijd", overview.TE_LAAT: "⚠️ te laat", overview.GEMIST: "❌ **gemist**",
    overview.OPEN: "⏳ open", overview.NVT: "– n.v.t.", overview.GEDAAN: "✔ gedaan",
}


# --- keys and small helpers ---------------------------------------------------------------------------


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


def number(value: float | None) -> str:
    """A number as Dutch readers write it (`13,5`); `–` when there is none."""
    return "–" if value is None else f"{value:.1f}".replace(".", ",")


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def today_of_service() -> date:
    """Today in the Netherlands, by the case service's clock (read once per run)."""
    return local_date(runtime().service.now())


# --- renderers (plain functions) ----------------------------------------------------------------------


def render_caseload(load: Caseload) -> str:
    """Open cases by phase, open and overdue tasks: for the municipality and per klantregisseur."""
    total = load.total
    lines = [f"### Caseload {load.municipality}, stand {load.today}", "",
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
             "status": "te laat" if r.overdue else "binnenkort", "soort": r.kind, "zaak": r.case_ref,
             "stap": r.step, "omschrijving": r.name, "rol": r.role} for r in rows]


def radar_summary(rows: list[RadarRow], municipality: str, today: date, days: int) -> str:
    """One line for the radar's description."""
    late = sum(r.overdue for r in rows)
    return (f"Deadline radar {municipality}, stand {today}: {late} te laat, {len(rows) - late} binnen {days} dagen "
            "(taken en termijnen, vroegste eerst)")


def render_timeline(timeline: CaseTimeline) -> str:
    """A case from koppeling to nazorg: planned and actual dates side by side, missed dates marked."""
    lines = [f"### Tijdlijn zaak {timeline.case_ref}", "",
             f"Gemeente {timeline.municipality} · fase {timeline.phase or '–'} · status {timeline.status} · "
             f"stand {timeline.today}", "",
             "| Wat | Gepland | Werkelijk | Status |", "|---|---|---|---|"]
    for row in timeline.rows:
        lines.append(f"| {row.what} | {_day(row.planned)} | {_day(row.actual)} | {STATUS_MARKS[row.status]} |")
    missed = [row.what for row in timeline.rows if row.status == overview.GEMIST]
    lines += ["", f"**Gemist:** {', '.join(missed)}" if missed else "Geen gemiste datums.",
              "", "_Gepland: de uiterste datum (taak, termijn of norm). Werkelijk: wanneer het gebeurde._"]
    return "\n".join(lines) + "\n"


def render_kpis(kpis: list[Kpi], municipality: str, today: date) -> str:
    """Each KPI with its value, norm, number of cases and a bar of the share that meets the norm."""
    lines = [f"### KPI's {municipality}, stand {today}", "",
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
            lines += ["", f"#### {k.name}, per maand van start", "", "```"]
            top = max(v for _, v, _ in k.trend) or 1
            lines += [f"{month}  {bar(100 * v / top, 16)}  {number(v)}  ({n} {'zaak' if n == 1 else 'zaken'})"
                      for month, v, n in k.trend]
            lines.append("```")
    lines += ["", "#### Bronnen van de normen", "", *[f"- **{k.name}:** {k.source}" for k in kpis]]
    return "\n".join(lines) + "\n"


# --- Prefect tasks: one artifact each -----------------------------------------------------------------


@task(name="publish-caseload", cache_policy=NO_CACHE)
def publish_caseload(municipality: str, today: date) -> str:
    """Publish `caseload-<municipality>`; returns the key."""
    service = runtime().service
    phases = list(service.library.catalog.phases) if service.library.catalog else []
    load = overview.caseload(service.engine, municipality, today, phase_order=phases)
    key = artifact_key("caseload", municipality)
    create_markdown_artifact(markdown=render_caseload(load), key=key,
                             description=f"Caseload {municipality}: {load.total.cases} open zaken")
    return key


@task(name="publish-deadline-radar", cache_policy=NO_CACHE)
def publish_deadline_radar(municipality: str, today: date, days: int = 14) -> str:
    """Publish `deadline-radar-<municipality>` (a table); returns the key."""
    rows = overview.deadline_radar(runtime().service, municipality, today, days)
    key = artifact_key("deadline-radar", municipality)
    # An empty radar still gets a version, so the page shows that nothing is due (not stale rows).
    table = radar_table(rows, today) or [{"datum": "", "dagen": "", "status": f"niets binnen {days} dagen",
                                          "soort": "", "zaak": "", "stap": "", "omschrijving": "", "rol": ""}]
    create_table_artifact(table=table, key=key, description=radar_summary(rows, municipality, today, days))
    return key


@task(name="publish-kpis", cache_policy=NO_CACHE)
def publish_kpis(municipality: str, today: date) -> list[Kpi]:
    """Publish `kpi-<municipality>`; returns the KPIs so the flow can publish their shares."""
    kpis = overview.kpis(runtime().service, municipality, today)
    create_markdown_artifact(markdown=render_kpis(kpis, municipality, today), key=artifact_key("kpi", municipality),
                             description=f"KPI's {municipality} met normen")
    return kpis


@task(name="publish-kpi-share", cache_policy=NO_CACHE)
def publish_kpi_share(municipality: str, kpi: Kpi) -> str | None:
    """Publish `kpi-<municipality>-<kpi>`: the share of cases that meets the norm (none without cases)."""
    if kpi.met_norm is None:
        return None
    key = artifact_key("kpi", municipality, kpi.key)
    create_progress_artifact(progress=kpi.met_norm, key=key,
                             description=f"{kpi.name} ({municipality}): {number(kpi.met_norm)}% binnen de norm "
                                         f"({kpi.norm}); {kpi.cases} zaken")
    return key


@task(name="publish-case-timeline", cache_policy=NO_CACHE)
def publish_case_timeline(case_ref: str, today: date) -> str:
    """Publish `case-<case ref>`; returns the key."""
    timeline = overview.case_timeline(runtime().service, case_ref, today)
    key = artifact_key("case", case_ref)
    missed = sum(row.status == overview.GEMIST for row in timeline.rows)
    create_markdown_artifact(markdown=render_timeline(timeline), key=key,
                             description=f"Tijdlijn {case_ref} ({timeline.municipality}): {missed} gemist")
    return key


@task(name="read-published-until", cache_policy=NO_CACHE)
def published_until() -> datetime | None:
    """When the last publish-overview run started (service time), or None before the first run."""
    value = Variable.get(PUBLISHED_UNTIL, default=None)
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


@task(name="remember-published-until", cache_policy=NO_CACHE)
def remember_published_until(moment: datetime) -> None:
    """Record the start of this run, so the next one publishes only timelines changed since."""
    Variable.set(PUBLISHED_UNTIL, moment.isoformat(), overwrite=True)

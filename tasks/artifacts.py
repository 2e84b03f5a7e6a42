"""The coordinators' overview as Prefect artifacts: caseload, deadline radar, case timelines and KPIs.

Each task publishes one artifact under a stable key, so every artifact has its own page in the UI and a
history of versions: `caseload-<municipality>`, `deadline-radar-<municipality>`, `kpi-<municipality>`
(and `kpi-<municipality>-<kpi>` progress artifacts for the shares) and `case-<case ref>`. Two more tasks
read and keep the Prefect variable that says when the last overview run started.

The read models and renderers are in `app.overview`; a task reads one, renders it and publishes it.
Artifacts carry case references, steps, roles, phases, dates and counts only: never personal data
(`app.overview` never reads the personal-data table).
"""

from __future__ import annotations

from datetime import date, datetime

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_progress_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.settings import get_current_settings
from prefect.variables import Variable

from app.bootstrap import current
from app.overview.caseload import caseload
from app.overview.kpis import Kpi, kpis
from app.overview.radar import deadline_radar
from app.overview.render import (
    artifact_key,
    render_radar,
    radar_summary,
    render_caseload,
    render_kpis,
    render_timeline,
)
from app.overview.timeline import GEMIST, case_timeline
from app.overview.words import number
from integrations.inbox import waiting_runs_by_step

PUBLISHED_UNTIL = "regie_overview_published_until"
"""Prefect variable: the service time at the start of the last publish-overview run (ISO, UTC)."""


@task(name="publish-caseload", cache_policy=NO_CACHE)
def publish_caseload(municipality: str, today: date) -> str:
    """Publish `caseload-<municipality>`; returns the key."""
    load = caseload(current().service, municipality, today)
    key = artifact_key("caseload", municipality)
    create_markdown_artifact(markdown=render_caseload(load), key=key,
                             description=f"Caseload {municipality}: {load.total.cases} open zaken")
    return key


@task(name="publish-deadline-radar", cache_policy=NO_CACHE)
def publish_deadline_radar(municipality: str, today: date, days: int = 14) -> str:
    """Publish `deadline-radar-<municipality>` (markdown, so rows link to the timeline and the inbox run);
    returns the key."""
    rows = deadline_radar(current().service, municipality, today, days)
    key = artifact_key("deadline-radar", municipality)
    with get_client(sync_client=True) as client:
        runs = {k: str(v) for k, v in waiting_runs_by_step(client).items()}
    create_markdown_artifact(markdown=render_radar(rows, today, days, ui_url=ui_url(), inbox_runs=runs), key=key,
                             description=radar_summary(rows, municipality, today, days))
    return key


def ui_url() -> str:
    """The Prefect UI's address for links in artifacts (PREFECT_UI_URL; else derived from the API's)."""
    settings = get_current_settings()
    url = settings.ui_url or (settings.api.url or "").removesuffix("/api")
    return url.rstrip("/")


@task(name="publish-kpis", cache_policy=NO_CACHE)
def publish_kpis(municipality: str, today: date) -> list[Kpi]:
    """Publish `kpi-<municipality>`; returns the KPIs so the flow can publish their shares."""
    found = kpis(current().service, municipality, today)
    create_markdown_artifact(markdown=render_kpis(found, municipality, today), key=artifact_key("kpi", municipality),
                             description=f"KPI's {municipality} met normen")
    return found


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
    markdown, key, description = _timeline_artifact(case_ref, today)
    create_markdown_artifact(markdown=markdown, key=key, description=description)
    return key


@task(name="publish-case-timelines", cache_policy=NO_CACHE)
def publish_case_timelines(case_refs: list[str], today: date) -> int:
    """Publish `case-<case ref>` for each case in this one task run; returns how many.

    A first overview publishes every case's timeline (about 300 in the demo): each in a task run of its
    own took over half a minute here and held up Ctrl-C of `regie up`, whose runner lets a started run
    finish. One at a time on purpose: with two at once, Prefect's embedded SQLite server once stopped
    answering every caller for a minute (a CI run of tests/prefect/test_regie_up.py)."""
    for case_ref in case_refs:
        markdown, key, description = _timeline_artifact(case_ref, today)
        create_markdown_artifact(markdown=markdown, key=key, description=description)
    return len(case_refs)


def _timeline_artifact(case_ref: str, today: date) -> tuple[str, str, str]:
    timeline = case_timeline(current().service, case_ref, today)
    missed = sum(row.status == GEMIST for row in timeline.rows)
    return (render_timeline(timeline), artifact_key("case", case_ref),
            f"Tijdlijn {case_ref} ({timeline.municipality}): {missed} gemist")


@task(name="read-published-until", cache_policy=NO_CACHE)
def published_until() -> datetime | None:
    """When the last publish-overview run started (service time), or None before the first run."""
    value = Variable.get(PUBLISHED_UNTIL, default=None)
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


@task(name="remember-published-until", cache_policy=NO_CACHE)
def remember_published_until(moment: datetime) -> None:
    """Record the start of this run, so the next one publishes only timelines changed since."""
    Variable.set(PUBLISHED_UNTIL, moment.isoformat(), overwrite=True)

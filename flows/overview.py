"""The coordinators' overview in the Prefect UI: `publish-overview` (every 15 minutes) and
`publish-case-timeline` (one case, e.g. right after a change).

`publish-overview` reads the case service's clock once, publishes the caseload, the deadline radar and
the KPIs of every municipality that has cases, and the timelines of the cases whose history changed
since the previous run (all of them with `all_timelines`). The start of each run is kept in a Prefect
variable; a first run publishes every timeline. Parameters are flags and case references only.
"""

from __future__ import annotations

from typing import Annotated, Any

from prefect import flow
from pydantic import Field

from app.bootstrap import current
from app.inputs import CaseRef
from app.overview.runs import changed_cases, municipalities, read_clock
from tasks.artifacts import (
    publish_case_timeline,
    publish_case_timelines,
    publish_caseload,
    publish_deadline_radar,
    publish_kpi_share,
    publish_kpis,
    published_until,
    remember_published_until,
)


@flow(name="publish-overview", flow_run_name="overview")
async def publish_overview(all_timelines: bool = False, radar_days: Annotated[int, Field(ge=0, le=366)] = 14
                           ) -> dict[str, Any]:
    """Publish caseload, deadline radar and KPIs per municipality, and the timelines of changed cases."""
    service = current().service
    started, today = read_clock(service)  # read once: every artifact of this run has the same `today`
    found = municipalities(service)
    for municipality in found:
        publish_caseload(municipality, today)
        publish_deadline_radar(municipality, today, radar_days)
        for kpi in publish_kpis(municipality, today):
            publish_kpi_share(municipality, kpi)
    since = None if all_timelines else published_until()
    changed = changed_cases(service, since)
    publish_case_timelines(changed, today)  # one task run, not one per case
    # Remembered only after everything was published: a failed run is redone in full next time.
    remember_published_until(started)
    return {"today": today.isoformat(), "municipalities": len(found), "timelines": len(changed)}


@flow(name="publish-case-timeline", flow_run_name="timeline {case_ref}")
async def publish_case_timeline_flow(case_ref: CaseRef) -> str:
    """Publish the timeline of one case (`case-<ref>`); returns the artifact key."""
    _, today = read_clock(current().service)
    return publish_case_timeline(case_ref, today)

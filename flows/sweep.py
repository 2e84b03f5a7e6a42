"""Scheduled flows: the timer sweep and the outbox drain.

`fire-due-timers` runs every minute: one `now`, due cases claimed a batch at a time (FOR UPDATE SKIP
LOCKED on PostgreSQL, so several workers can sweep at once and no timer fires twice), a case that
cannot be advanced set aside (status stuck), then every ready outbox command delivered.
`deliver-notifications` drains whatever is ready, e.g. rows whose retry time came. Both raise at the
end, after everything else was saved and delivered, when a case was set aside or a delivery failed in
a new way, so the run shows Failed once (not every minute while the case stays stuck or a partner
stays down).
"""

from __future__ import annotations

from typing import Annotated, Any

from prefect import flow
from pydantic import Field

from app.clock import utc_now
from app.people_time import moment
from tasks.cases import deliver_outbox, publish_sweep_summary, sweep_timers


def _sweep_name() -> str:
    # Named by when it ran, so the list of sweeps reads as a timeline; in the team's clock.
    return f"sweep {moment(utc_now())}"


@flow(name="fire-due-timers", flow_run_name=_sweep_name)
async def fire_due_timers(batch_size: Annotated[int, Field(ge=1, le=10_000)] | None = None,
                          limit: Annotated[int, Field(ge=1)] | None = None) -> dict[str, Any]:
    """Fire every due timer of every case once; deliver what that causes."""
    report = sweep_timers(batch_size=batch_size, limit=limit)
    drained = await deliver_outbox()
    if report.cases_advanced or report.failed:
        await publish_sweep_summary(report, drained.delivered)
    # Failures are raised after the rest is saved and delivered, so the run shows Failed.
    report.raise_for_failures()
    drained.raise_for_failures()
    return {"now": report.now.isoformat(), "cases_advanced": report.cases_advanced, "batches": report.batches,
            "commands_queued": report.commands_queued, "delivered": drained.delivered}


@flow(name="deliver-notifications", flow_run_name="deliver outbox")
async def deliver_notifications(batch: Annotated[int, Field(ge=1, le=10_000)] = 500) -> dict[str, Any]:
    """Deliver every pending outbox command: inbox runs, case events, notices."""
    drained = await deliver_outbox(batch=batch)
    drained.raise_for_failures()
    return {"delivered": drained.delivered, "waiting": drained.waiting, **drained.counts}

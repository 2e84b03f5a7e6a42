"""Scheduled flows: the timer sweep and the outbox drain.

`fire-due-timers` runs every minute: one `now`, due cases claimed a batch at a time (FOR UPDATE SKIP
LOCKED on PostgreSQL, so several workers can sweep at once and no timer fires twice), then the outbox
is delivered. `deliver-notifications` drains whatever is still pending, e.g. after a failed delivery.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow
from prefect.artifacts import acreate_markdown_artifact

from tasks.cases import deliver_outbox, sweep_timers


def _sweep_name() -> str:
    # Named by when it ran, so the list of sweeps reads as a timeline.
    return f"sweep {datetime.now(UTC):%Y-%m-%d %H:%M}"


@flow(name="fire-due-timers", flow_run_name=_sweep_name)
async def fire_due_timers(batch_size: int | None = None, limit: int | None = None) -> dict[str, Any]:
    """Fire every due timer of every case once; deliver what that causes."""
    report = sweep_timers(batch_size=batch_size, limit=limit)
    drained = await deliver_outbox()
    if report.cases_advanced or report.failed:
        # Counts only: a coordinator sees what the sweep did without any case detail.
        await acreate_markdown_artifact(
            key="timer-sweep",
            markdown=(f"### Timer sweep at {report.now:%Y-%m-%d %H:%M} UTC\n\n| | |\n|---|---|\n"
                      f"| cases advanced | {report.cases_advanced} |\n| batches | {report.batches} |\n"
                      f"| commands queued | {report.commands_queued} |\n| delivered | {drained.delivered} |\n"
                      f"| cases that failed | {len(report.failed)} |\n"),
            description="What the last timer sweep did",
        )
    # Failures are raised after the rest is saved and delivered, so the run shows Failed.
    report.raise_for_failures()
    return {"now": report.now.isoformat(), "cases_advanced": report.cases_advanced, "batches": report.batches,
            "commands_queued": report.commands_queued, "delivered": drained.delivered}


@flow(name="deliver-notifications", flow_run_name="deliver outbox")
async def deliver_notifications(batch: int = 500) -> dict[str, Any]:
    """Deliver every pending outbox command: inbox runs, case events, notices."""
    drained = await deliver_outbox(batch=batch)
    return {"delivered": drained.delivered, **drained.counts}

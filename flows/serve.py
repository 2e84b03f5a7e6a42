"""Serving every Regie deployment from one process (the embedded default that `regie up` runs).

`regie up` serves them without the sweep's interval: its inbox keeper (app/inbox_keeper.py) starts a
sweep run only when a timer is due, so a quiet minute leaves no run behind. `prefect.yaml` declares the
same deployments, names and schedule (the sweep every minute) for running with a work pool and
workers on PostgreSQL. Keep the two in step: the inbox finds its deployment by name (`user-task/user-task`).
"""

from __future__ import annotations

from datetime import timedelta

from prefect import serve
from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.runner import RunnerDeployment

from flows.cases import complete_step, deliver_message, start_trajectory
from flows.digest import send_digests
from flows.import_koppelingen import import_koppelingen
from flows.overview import publish_case_timeline_flow, publish_overview
from flows.privacy import erase_expired, export_person
from flows.sweep import deliver_notifications, fire_due_timers
from flows.user_task import user_task

SWEEP_EVERY = timedelta(minutes=1)
OVERVIEW_EVERY = timedelta(minutes=15)
DIGEST_CRON = CronSchedule(cron="0 7 * * *", timezone="Europe/Amsterdam")
RETENTION_CRON = CronSchedule(cron="30 2 * * *", timezone="Europe/Amsterdam")
TAGS = ["regie"]


def deployments(sweep_every: timedelta | None = SWEEP_EVERY, *, scheduled: bool | None = None
                ) -> list[RunnerDeployment]:
    """Every deployment; the timer sweep on a schedule (none when `sweep_every` is None); the overview and
    the digests on theirs when `scheduled` (by default: when the sweep is)."""
    on = sweep_every is not None if scheduled is None else scheduled
    return [
        start_trajectory.to_deployment(name="start-trajectory", tags=TAGS,
                                       description="Start a trajectory for a case reference."),
        complete_step.to_deployment(name="complete-step", tags=TAGS,
                                    description="Complete an open step of a case with its form data."),
        deliver_message.to_deployment(name="deliver-message", tags=TAGS,
                                      description="Deliver a life event or signal to a case."),
        user_task.to_deployment(name="user-task", tags=TAGS,
                                description="The inbox: each open user task is a Suspended run; resume it "
                                            "with the form to complete the step."),
        fire_due_timers.to_deployment(name="fire-due-timers", tags=TAGS, interval=sweep_every,
                                      description="Fire every due timer once, in batches (FOR UPDATE SKIP LOCKED on PostgreSQL)."),
        deliver_notifications.to_deployment(name="deliver-notifications", tags=TAGS,
                                            description="Deliver pending outbox commands (the sweep does "
                                                        "this every minute too)."),
        publish_overview.to_deployment(
            name="publish-overview", tags=TAGS, interval=OVERVIEW_EVERY if on else None,
            description="Coordinators' overview: caseload, deadline radar and KPIs per municipality, and the "
                        "timelines of the cases changed since the last run (all of them with all_timelines=true)."),
        publish_case_timeline_flow.to_deployment(name="publish-case-timeline", tags=TAGS,
                                                 description="Publish the timeline artifact (case-<ref>) of one case."),
        import_koppelingen.to_deployment(
            name="import-koppelingen", tags=TAGS,
            description="Import COA's koppeling list (CSV) from a path on the worker; nothing starts twice."),
        send_digests.to_deployment(name="send-digests", tags=TAGS, schedules=[DIGEST_CRON] if on else [],
                                   description="Send the daily digest to partners who chose one message a day."),
        export_person.to_deployment(
            name="export-person", tags=TAGS,
            description="Inzage (art. 15 AVG): write everything Regie holds about the person of a case to a file "
                        "in the worker's data folder (never into Prefect); the result is its path."),
        erase_expired.to_deployment(
            name="erase-expired", tags=TAGS, schedules=[RETENTION_CRON] if sweep_every else [],
            description="Erase the personal data of closed cases whose retention period has ended; the artifact "
                        "holds counts only."),
    ]


def serve_all(sweep_every: timedelta | None = SWEEP_EVERY, limit: int | None = None, *,
              scheduled: bool | None = None) -> None:
    """Register and serve every deployment until interrupted (Ctrl-C); blocks."""
    serve(*deployments(sweep_every, scheduled=scheduled), print_starting_message=False, limit=limit)

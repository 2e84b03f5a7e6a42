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


DESCRIPTIONS = {
    "start-trajectory": "Start een traject voor een zaaknummer.",
    "complete-step": "Rond een open stap van een zaak af met de gegevens van het formulier.",
    "deliver-message": "Geef een gebeurtenis of signaal door aan een zaak.",
    "user-task": ("De inbox: elke open taak is een run die wacht (Suspended); vul het formulier in om de stap af "
                  "te ronden."),
    "fire-due-timers": ("Laat elke termijn en wachttijd die aan de beurt is één keer aflopen, in porties (FOR UPDATE "
                        "SKIP LOCKED op PostgreSQL)."),
    "deliver-notifications": "Verstuur wat nog klaarstaat in de outbox (de sweep doet dat ook elke minuut).",
    "publish-overview": ("Overzicht voor coördinatoren: caseload, termijnradar en KPI's per gemeente, en de tijdlijnen "
                         "van de zaken die sinds de vorige run veranderden (alle zaken met all_timelines=true)."),
    "publish-case-timeline": "Publiceer de tijdlijn (artifact case-<zaaknummer>) van één zaak.",
    "send-digests": "Stuur de dagelijkse samenvatting aan partners die één bericht per dag kozen.",
    "import-koppelingen": ("Lees de koppelingslijst van het COA (CSV) in vanaf een pad op de worker; niets start twee keer."),
    "export-person": ("Inzage (art. 15 AVG): schrijf alles wat Regie over de persoon van een zaak bewaart naar een "
                      "bestand in de datamap van de worker (nooit in Prefect); het resultaat is het pad."),
    "erase-expired": ("Wis de persoonsgegevens van afgesloten zaken waarvan de bewaartermijn voorbij is; het artifact "
                      "bevat alleen aantallen."),
}
"""What each deployment does, as people read it in the Prefect UI (prefect.yaml says the same)."""


def deployments(sweep_every: timedelta | None = SWEEP_EVERY, *, scheduled: bool | None = None
                ) -> list[RunnerDeployment]:
    """Every deployment; the timer sweep on a schedule (none when `sweep_every` is None); the overview and
    the digests on theirs when `scheduled` (by default: when the sweep is)."""
    on = sweep_every is not None if scheduled is None else scheduled
    return [
        start_trajectory.to_deployment(name="start-trajectory", tags=TAGS,
                                       description=DESCRIPTIONS["start-trajectory"]),
        complete_step.to_deployment(name="complete-step", tags=TAGS,
                                    description=DESCRIPTIONS["complete-step"]),
        deliver_message.to_deployment(name="deliver-message", tags=TAGS,
                                      description=DESCRIPTIONS["deliver-message"]),
        user_task.to_deployment(name="user-task", tags=TAGS,
                                description=DESCRIPTIONS["user-task"]),
        fire_due_timers.to_deployment(name="fire-due-timers", tags=TAGS, interval=sweep_every,
                                      description=DESCRIPTIONS["fire-due-timers"]),
        deliver_notifications.to_deployment(name="deliver-notifications", tags=TAGS,
                                            description=DESCRIPTIONS["deliver-notifications"]),
        publish_overview.to_deployment(
            name="publish-overview", tags=TAGS, interval=OVERVIEW_EVERY if on else None,
            description=DESCRIPTIONS["publish-overview"]),
        publish_case_timeline_flow.to_deployment(name="publish-case-timeline", tags=TAGS,
                                                 description=DESCRIPTIONS["publish-case-timeline"]),
        import_koppelingen.to_deployment(
            name="import-koppelingen", tags=TAGS,
            description=DESCRIPTIONS["import-koppelingen"]),
        send_digests.to_deployment(name="send-digests", tags=TAGS, schedules=[DIGEST_CRON] if on else [],
                                   description=DESCRIPTIONS["send-digests"]),
        export_person.to_deployment(
            name="export-person", tags=TAGS,
            description=DESCRIPTIONS["export-person"]),
        erase_expired.to_deployment(
            name="erase-expired", tags=TAGS, schedules=[RETENTION_CRON] if sweep_every else [],
            description=DESCRIPTIONS["erase-expired"]),
    ]


def serve_all(sweep_every: timedelta | None = SWEEP_EVERY, limit: int | None = None, *,
              scheduled: bool | None = None) -> None:
    """Register and serve every deployment until interrupted (Ctrl-C); blocks."""
    serve(*deployments(sweep_every, scheduled=scheduled), print_starting_message=False, limit=limit)

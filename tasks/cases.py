"""Prefect tasks on cases: one side effect each, through the one case service (`app.bootstrap.current()`).

Business rules stay in the engine and `app.cases`; a task calls the service, logs what happened in
process terms (case reference, step, version, phase) and returns process data only. Task results are
not persisted, and no task takes or returns personal data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run

from app.bootstrap import current
from app.delivery import DrainReport, deliver_pending
from app.sweep import SweepReport
from app.views import CaseView
from integrations import labels


class PrivateDataRefused(ValueError):
    """Identifying or special-category data was passed where Prefect would store it."""


def refuse_private_data(data: dict[str, Any], fields: dict[str, Any], where: str) -> None:
    """Raise when `data` holds a field that may not leave the case store (or one that is undeclared)."""
    bad = sorted(name for name in data if name not in fields or not fields[name].privacy.may_leave_case_store)
    if bad:
        raise PrivateDataRefused(f"{where}: veld(en) {', '.join(bad)} mogen niet via Prefect (geen gedeclareerde "
                                 "procesgegevens); voer ze in met het commando `regie case`")


def run_name(action: str, detail: str | None = None) -> Callable[[], str]:
    """A flow-run name for a run on one case: `complete RMD-2026-0042 klantprofiel`."""
    def name() -> str:
        # Parameters arrive as a model when the flow is called, as a dict when a deployment runs it.
        request = flow_run.parameters["request"]
        get = request.get if isinstance(request, dict) else lambda k: getattr(request, k)
        return labels.case_run_name(action, get("case_ref"), get(detail) if detail else None)
    return name


@task(name="start-case", cache_policy=NO_CACHE)
def start_case(*, case_ref: str, definition: str, municipality: str, start_message: str | None,
               data: dict[str, Any], occurred_on: date | None, actor: str) -> CaseView:
    """Start a trajectory (no personal data: that is entered with `regie case start --personal`)."""
    service = current().service
    refuse_private_data(data, service.process_for(definition, None).data_fields, f"start van zaak {case_ref}")
    view = service.start_trajectory(case_ref=case_ref, definition=definition, municipality=municipality,
                                    start_message=start_message, data=data, occurred_on=occurred_on, actor=actor)
    get_run_logger().info("case %s runs %s, version %s, phase %s", view.case_ref, view.definition, view.version,
                          view.phase)
    return view


@task(name="complete-step", cache_policy=NO_CACHE)
def complete_case_step(*, case_ref: str, task_ref: str, data: dict[str, Any], actor: str,
                       expected_version: int | None) -> CaseView:
    """Complete an open step with its form data."""
    view = current().service.complete_step(case_ref=case_ref, task=task_ref, data=data, actor=actor,
                                           expected_version=expected_version)
    get_run_logger().info("case %s: step %s completed, now version %s", case_ref, task_ref, view.version)
    return view


@task(name="deliver-message", cache_policy=NO_CACHE)
def deliver_case_message(*, case_ref: str, message: str, data: dict[str, Any], occurred_on: date | None,
                         actor: str) -> CaseView:
    """Deliver a life event or signal to a case (process data only; special data goes through the CLI)."""
    service = current().service
    case = service.show_case(case_ref, history=0)
    refuse_private_data(data, service.process_for(case.definition, case.profile).data_fields,
                        f"bericht {message} voor zaak {case_ref}")
    view = service.deliver_message(case_ref=case_ref, message=message, data=data, occurred_on=occurred_on,
                                   actor=actor)
    get_run_logger().info("case %s: message %s delivered, now version %s", case_ref, message, view.version)
    return view


@task(name="fire-due-timers", cache_policy=NO_CACHE)
def sweep_timers(*, batch_size: int | None, limit: int | None) -> SweepReport:
    """Fire every due timer once, a batch of cases per transaction."""
    report = current().service.fire_due_timers(batch_size=batch_size, limit=limit)
    get_run_logger().info("sweep at %s: %s cases advanced in %s batches, %s commands queued, %s set aside",
                          report.now.isoformat(), report.cases_advanced, report.batches,
                          report.commands_queued, len(report.failed))
    return report


@task(name="publish-sweep-summary", cache_policy=NO_CACHE)
async def publish_sweep_summary(report: SweepReport, delivered: int) -> None:
    """The `timer-sweep` artifact: what the last sweep that did something did (counts only)."""
    await acreate_markdown_artifact(
        key="timer-sweep",
        markdown=(f"### Timer sweep at {report.now:%Y-%m-%d %H:%M} UTC\n\n| | |\n|---|---|\n"
                  f"| cases advanced | {report.cases_advanced} |\n| batches | {report.batches} |\n"
                  f"| commands queued | {report.commands_queued} |\n| delivered | {delivered} |\n"
                  f"| cases set aside (stuck) | {len(report.failed)} |\n"),
        description="What the last timer sweep did",
    )


@task(name="deliver-outbox", cache_policy=NO_CACHE)
async def deliver_outbox(batch: int = 500) -> DrainReport:
    """Carry out every ready outbox command (inbox runs, events, notices). Failures are recorded on their
    rows and reported, not raised: the flow raises after the rest of its work (`raise_for_failures`)."""
    rt = current()
    report = await deliver_pending(rt.service, rt.notifier, batch=batch, raise_failures=False)
    get_run_logger().info("delivered %s commands (%s); %s waiting, %s failed", report.delivered,
                          ", ".join(f"{n} {what}" for what, n in sorted(report.counts.items())) or "nothing",
                          report.waiting, len(report.failed))
    return report


@task(name="tag-run", cache_policy=NO_CACHE)
async def tag_run(view: CaseView) -> None:
    """Give this flow run the case's tags, so coordinators can filter by case, municipality and phase."""
    tags = labels.merge_tags(flow_run.tags or [], labels.case_tags(view.case_ref, view.municipality, view.phase))
    async with get_client() as client:
        await client.update_flow_run(flow_run.id, tags=tags)

"""Deployments an operator runs from the Prefect UI or the CLI: start a trajectory, complete a step,
deliver a message. Each takes one typed request (pydantic), so the UI shows a proper form.

The flows only sequence tasks: change the case through the service, tag the run with the case's
municipality and phase, then deliver the outbox (inbox runs, events, notices) at once.

Everything in a request is stored by Prefect in the clear: case reference and process data only.
Personal data is entered with `regie case start --personal ...`, which never goes through Prefect.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow
from pydantic import BaseModel, ConfigDict, Field

from tasks.cases import complete_case_step, deliver_case_message, deliver_outbox, run_name, start_case, tag_run


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_ref: str = Field(description="pseudonymous case reference, e.g. RMD-2026-0042", min_length=1)
    actor: str = Field("prefect-ui", description="who does this (operator id)")


class StartTrajectory(_Request):
    """Start a trajectory for a case reference."""

    definition: str = Field(description="process definition: `id` (newest version) or `id@version`")
    municipality: str = Field(description="the municipality that runs the case, e.g. rotterdam")
    start_message: str | None = Field(None, description="life event that starts it, e.g. koppeling")
    data: dict[str, Any] = Field(default_factory=dict, description="process data only (no names, BSN, health)")
    occurred_on: date | None = Field(None, description="when the life event happened (default: today)")


class CompleteStep(_Request):
    """Complete an open step of a case with its form data."""

    step: str = Field(description="step (element id), or task id when several of the step are open")
    data: dict[str, Any] = Field(default_factory=dict, description="the step's form fields")
    expected_version: int | None = Field(None, description="the case version you saw; refused if it changed")


class DeliverMessage(_Request):
    """Deliver a life event or signal (e.g. huisvesting) to a case."""

    message: str = Field(description="message name from the catalogue, e.g. huisvesting")
    data: dict[str, Any] = Field(default_factory=dict, description="the message's process data")
    occurred_on: date | None = Field(None, description="when it happened (default: today)")


@flow(name="start-trajectory", flow_run_name=run_name("start"), log_prints=False)
async def start_trajectory(request: StartTrajectory) -> dict[str, Any]:
    """Start a trajectory; its first steps appear in the inbox."""
    view = start_case(case_ref=request.case_ref, definition=request.definition,
                      municipality=request.municipality, start_message=request.start_message,
                      data=request.data, occurred_on=request.occurred_on, actor=request.actor)
    return await _tag_and_deliver(view)


@flow(name="complete-step", flow_run_name=run_name("complete", "step"))
async def complete_step(request: CompleteStep) -> dict[str, Any]:
    """Complete a step, as the inbox form does; its inbox run closes, the next steps open."""
    view = complete_case_step(case_ref=request.case_ref, task_ref=request.step, data=request.data,
                              actor=request.actor, expected_version=request.expected_version)
    return await _tag_and_deliver(view)


@flow(name="deliver-message", flow_run_name=run_name("message", "message"))
async def deliver_message(request: DeliverMessage) -> dict[str, Any]:
    """Deliver a life event or signal to a case."""
    view = deliver_case_message(case_ref=request.case_ref, message=request.message, data=request.data,
                                occurred_on=request.occurred_on, actor=request.actor)
    return await _tag_and_deliver(view)


async def _tag_and_deliver(view: Any) -> dict[str, Any]:
    """After a change: tag the run with the case, deliver the outbox; return process data only."""
    await tag_run(view)
    await deliver_outbox()
    return {"case_ref": view.case_ref, "version": view.version, "status": view.status, "phase": view.phase,
            "open_tasks": [t.task_id for t in view.open_tasks]}

"""Deployments an operator runs from the Prefect UI or the CLI: start a trajectory, complete a step,
deliver a message. Each takes one typed request (pydantic), so the UI shows a proper form.

The flows only sequence tasks: change the case through the service, tag the run with the case's
municipality and phase, then deliver the outbox (inbox runs, events, notices) at once.

Everything in a request is stored by Prefect in the clear: case reference and process data only.
Personal data is entered with `regie case start --personal ...`, which never goes through Prefect.
So every text field of these forms has a shape a name, BSN, V-number or e-mail address cannot have
(`integrations.safe_text`), and the Prefect server refuses a request that does not fit before it
stores anything (the deployments enforce their parameter schema): a case reference, identifiers,
an operator id, and case data as identifiers with yes/no, whole numbers, dates and codes as values.
Free text is personal, and is entered with the `regie case` commands.
"""

from __future__ import annotations

from typing import Annotated, Any

from prefect import flow
from pydantic import BaseModel, ConfigDict, Field

from app.inputs import (
    MAX_FIELDS,
    MAX_WHOLE_NUMBER,
    Actor,
    CaseRef,
    Code,
    DefinitionRef,
    FormDate,
    Identifier,
    NewCaseRef,
    StepRef,
)
from tasks.cases import complete_case_step, deliver_case_message, deliver_outbox, run_name, start_case, tag_run

FormValue = bool | Annotated[int, Field(ge=-MAX_WHOLE_NUMBER, le=MAX_WHOLE_NUMBER)] | Code | None
"""A value of case data in a form: yes/no, a whole number, or a code (which includes an ISO date)."""


def _data(description: str) -> Any:
    # additionalProperties false: keys that are no identifier are refused, not just left unchecked.
    return Field(default_factory=dict, description=description, max_length=MAX_FIELDS,
                 json_schema_extra={"additionalProperties": False})


class _Request(BaseModel):
    # Each request says in Dutch what it does (json_schema_extra): the Prefect form shows that, not the docstring.
    model_config = ConfigDict(extra="forbid")

    case_ref: CaseRef = Field(description="zaaknummer (pseudoniem), bijv. RMD-2026-0042")
    actor: Actor = Field("prefect-ui", description="wie dit doet (medewerkercode, één woord)")


class StartTrajectory(_Request):
    """Start a trajectory for a case reference."""

    model_config = ConfigDict(json_schema_extra={"description": "Start een traject voor een zaaknummer."})

    case_ref: NewCaseRef = Field(description="zaaknummer (pseudoniem), bijv. RMD-2026-0042 (nooit een BSN, "
                                             "V-nummer of naam)")
    definition: DefinitionRef = Field(description="procesdefinitie: `id` (nieuwste versie) of `id@versie`")
    municipality: Identifier = Field(description="de gemeente die de zaak voert, bijv. tilburg")
    start_message: Identifier | None = Field(None, description="gebeurtenis waarmee het begint, bijv. koppeling")
    data: dict[Identifier, FormValue] = _data("alleen procesgegevens (geen namen, BSN, gezondheid): codes, "
                                              "geen vrije tekst")
    occurred_on: FormDate | None = Field(None, description="wanneer de gebeurtenis plaatsvond (standaard: vandaag)")


class CompleteStep(_Request):
    """Complete an open step of a case with its form data."""

    model_config = ConfigDict(json_schema_extra={
        "description": "Rond een open stap van een zaak af met de gegevens van het formulier."})

    step: StepRef = Field(description="stap (id in de definitie), of taak-id als er meer van die stap "
                                      "open staan")
    data: dict[Identifier, FormValue] = _data("de formuliervelden van de stap (procesgegevens: codes, "
                                              "geen vrije tekst)")
    expected_version: int | None = Field(None, ge=1, le=2**31 - 1,
                                         description="de versie van de zaak die u zag; geweigerd als die "
                                                     "intussen veranderde")


class DeliverMessage(_Request):
    """Deliver a life event or signal (e.g. huisvesting) to a case."""

    model_config = ConfigDict(json_schema_extra={
        "description": "Geef een gebeurtenis of signaal (bijv. huisvesting) door aan een zaak."})

    message: Identifier = Field(description="naam van het bericht uit de catalogus, bijv. huisvesting")
    data: dict[Identifier, FormValue] = _data("de procesgegevens van het bericht (codes, geen vrije tekst)")
    occurred_on: FormDate | None = Field(None, description="wanneer het gebeurde (standaard: vandaag)")


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

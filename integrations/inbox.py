"""The operators' inbox: each open user task is a Suspended run of the `user-task` deployment.

An inbox entry costs no Python process and no runner time: it is created directly through the Prefect
API as a flow run that is *already* Suspended, with its run-input schema and markdown description
stored under the same keys `suspend_flow_run(wait_for_input=...)` uses (`suspended-<pause key>-schema`,
`-description`, `-response`). The Prefect UI therefore shows the run as waiting for input and renders
the form; the server validates what the operator submits against the schema, stores it under the
`-response` key and schedules the run ("Resuming"). Only then does a runner execute the flow
(flows/user_task.py), which reads the response and completes the step.

What an operator types into the form is stored by Prefect (as the run's input) and shown to everyone
with UI access: the form carries process data only. A text field takes a code (`kr-017`), never prose,
and the Prefect server refuses anything else before it stores it (the form's JSON Schema `pattern`).
A personal field of a step (free text such as a note about the person: optional, by the validator's
rule) is left off the form; the description says to enter it with `regie case complete`. The run's
parameters (`InboxTask`) have the same shapes, so "Run" with typed parameters cannot store a name either.

The run's name carries the deadline and its tags say whether it is overdue (`te-laat`) or due this week
(`deze-week`), as they are on the day it is created; the inbox keeper (app/inbox_keeper.py) keeps those
tags current (`retag`) and gives a task back when its run was cancelled, deleted or otherwise ended
while the task is still open (`give_back`: a new run, keyed `regie-inbox:<case>:<task>:<n>`).

Creating runs uses Prefect's bulk endpoint (100 runs per request); the two inputs of each run are
written concurrently. Everything here is idempotent: a run is keyed by case and task, an input that
exists already is left as it is, and closing a closed run does nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import pydantic
from prefect.client.orchestration import PrefectClient, SyncPrefectClient
from prefect.client.schemas.actions import DeploymentFlowRunCreate
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from prefect.input.run_input import keyset_from_base_key
from prefect.states import Cancelled, Completed, Suspended, to_state_create

from engine.calendar import NL
from engine.catalog import Privacy
from engine.commands import FormFieldSpec, OpenUserTask
from engine.people_time import choice, day
from integrations import labels
from integrations.safe_text import MAX_WHOLE_NUMBER, CaseRef, Code, FormDate, Identifier, StepRef

FLOW_NAME = "user-task"
PAUSE_KEY = "regie-inbox"
# `suspend_flow_run` names its keys `<state name, lower case>-<pause key>-...`; we do the same, so the
# UI and `RunInput.load` find them where they always look.
KEYSET = keyset_from_base_key(f"suspended-{PAUSE_KEY}")
BULK_LIMIT = 100
"""Prefect's limit on runs per bulk-create request (server/api/deployments.py, BULK_CREATE_LIMIT)."""
RETRIES = 5
"""Attempts after the first for a write the server refused for a transient reason."""
BACKOFF = 0.1
"""Seconds before the first retry; doubled each time."""
PAGE = 200
"""Runs read per request when going through the whole inbox."""
LIVE = [StateType.PAUSED, StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING]
"""States of an inbox run that still carries its task: waiting for the form, or resumed and on its way."""


def today_in_nl(now: datetime | None = None) -> date:
    """Today's date in Europe/Amsterdam, the calendar the deadlines are in."""
    return (now or datetime.now(NL)).astimezone(NL).date()


class InboxTask(pydantic.BaseModel):
    """The parameters of an inbox run: which step of which case. Process data only."""

    # The description is what the Prefect UI shows above the parameters.
    model_config = pydantic.ConfigDict(frozen=True, extra="forbid", json_schema_extra={
        "description": "Welke stap van welke zaak: alleen procesgegevens."})

    case_ref: CaseRef = pydantic.Field(description="zaaknummer (pseudoniem), bijv. RMD-2026-0042")
    task_id: StepRef = pydantic.Field(description="de open taak (uniek binnen de zaak)")
    step: Identifier = pydantic.Field(description="de stap in de procesdefinitie")
    role: Identifier = pydantic.Field(description="de rol die de taak uitvoert")
    municipality: Identifier
    phase: Identifier | None = None
    due_on: FormDate | None = pydantic.Field(default=None, description="uiterste datum")


@dataclass(frozen=True)
class InboxEntry:
    """What an inbox run shows: the task, its display name and instructions, and its form."""

    task: InboxTask
    name: str
    instructions: str
    form: tuple[FormFieldSpec, ...] = ()

    @classmethod
    def from_command(cls, command: OpenUserTask, municipality: str) -> "InboxEntry":
        """The inbox entry for an engine `OpenUserTask` command of a case in `municipality`."""
        task = InboxTask(case_ref=command.case_ref, task_id=command.task_id, step=command.element,
                         role=command.role, municipality=municipality, phase=command.phase,
                         due_on=command.due_on)
        return cls(task=task, name=command.name, instructions=command.instructions, form=tuple(command.form))


# --- the form ------------------------------------------------------------------------------------

_TYPES: dict[str, Any] = {"text": Code, "bool": bool, "date": FormDate,
                          "int": Annotated[int, pydantic.Field(ge=-MAX_WHOLE_NUMBER, le=MAX_WHOLE_NUMBER)]}


def on_prefect_form(spec: FormFieldSpec) -> bool:
    """Whether a form field's data may be typed into Prefect (process data), or is personal."""
    return Privacy(spec.privacy).may_leave_case_store


CHOICES = "x-regie-keuzes"
"""In the inbox form's JSON schema, on a choice field: {the label the form lists: the definition's value}."""


def choice_labels(values: Sequence[str]) -> dict[str, str] | None:
    """{label: value} for a choice field's values (`Snelle start` for `snelle_start`); None when two
    values would read the same, so the form lists the values themselves."""
    labels = {choice(value): value for value in values}
    return labels if len(labels) == len(values) else None


def form_model(fields: Sequence[FormFieldSpec], *, labelled: bool = False) -> type[pydantic.BaseModel]:
    """A pydantic model of a step's form as Prefect shows it: one field per form field of process data
    (text as a code), optional ones may stay empty; personal fields are not on it.

    `labelled`: a choice field takes the choices' Dutch labels, as the Prefect form lists them (the
    schema says which value each one stands for, `CHOICES`; `submitted_form` turns them back). Prefect
    3.8.8's UI lists a choice only by what is in `enum`: `oneOf` is not rendered at all, and `anyOf` of
    `{const, title}` shows the titles as buttons but submits nothing (checked in Debian chromium)."""
    definitions: dict[str, Any] = {}
    for spec in fields:
        if not on_prefect_form(spec):
            continue
        kind, extra = None, None
        if spec.type == "enum" and spec.values:
            labels = choice_labels(spec.values) if labelled else None
            kind = Literal[tuple(labels or spec.values)]
            extra = {CHOICES: labels} if labels else None
        else:
            kind = _TYPES[spec.type]
        title = spec.label or spec.name
        if spec.required:
            definitions[spec.name] = (kind, pydantic.Field(title=title, json_schema_extra=extra))
        else:
            definitions[spec.name] = (kind | None, pydantic.Field(default=None, title=title, json_schema_extra=extra))
    return pydantic.create_model("Formulier", __config__=pydantic.ConfigDict(extra="forbid"), **definitions)


def form_schema(fields: Sequence[FormFieldSpec]) -> dict[str, Any]:
    """The JSON schema the Prefect server validates the submitted form against (and the UI renders),
    with the choices' labels.

    A flat model has no `$defs`, so this is exactly what `RunInput.save` stores for the same model.
    """
    return form_model(fields, labelled=True).model_json_schema(by_alias=True)


def form_values(form: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """The submitted form with each choice's label turned back into the definition's value (a run created
    before the labels came submits the value itself, which stays as it is)."""
    fields = schema.get("properties") or {}
    values = dict(form)
    for name, value in form.items():
        labels = (fields.get(name) or {}).get(CHOICES) or {}
        if isinstance(value, str) and value in labels:
            values[name] = labels[value]
    return values


def description(entry: InboxEntry) -> str:
    """The markdown shown above the form: case, step, deadline, what to do."""
    task = entry.task
    rows = [("Zaak", task.case_ref), ("Stap", f"{entry.name} (`{task.step}`)"), ("Rol", task.role),
            ("Uiterlijk", day(task.due_on) if task.due_on else "geen termijn"),
            ("Fase", task.phase or "-"), ("Gemeente", task.municipality)]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    # The dialog's button says Submit (the run page's button says Resume).
    ending = "Vul het formulier in en kies **Submit** om de stap af te ronden." \
        if any(on_prefect_form(f) for f in entry.form) else "Kies **Submit** om de stap af te ronden."
    toggles = [f.label or f.name for f in entry.form if f.type == "bool" and on_prefect_form(f)]
    if toggles:
        # Prefect sends an untouched toggle as "no": say so before someone submits a checklist unread.
        ending += ("\n\n**Let op:** een schakelaar die u niet aanzet, telt als **nee** ("
                   + ", ".join(toggles) + "). Zet aan wat klopt voordat u verstuurt.")
    personal = [f for f in entry.form if not on_prefect_form(f)]
    if personal:
        names = ", ".join(f"{f.label or f.name} (`{f.name}`)" for f in personal)
        ending += (f"\n\nPersoonsgegevens horen niet in Prefect: {names} vult u in met "
                   f"`regie case complete {task.case_ref} {task.task_id} --data {personal[0].name}=...` "
                   "(dan rondt u de stap daar af, in plaats van hier).")
    return f"### {entry.name}\n\n| | |\n|---|---|\n{table}\n\n**Wat u moet doen:** {entry.instructions}\n\n{ending}\n"


# --- opening and closing entries -----------------------------------------------------------------

def flow_run_create(entry: InboxEntry, today: date | None = None, generation: int = 1) -> dict[str, Any]:
    """The API body that creates one inbox run, already Suspended and waiting for its form.

    `generation` counts the runs this task had: a task given back gets a new run (2, 3, ...).
    """
    task = entry.task
    state = Suspended(pause_key=PAUSE_KEY)
    state.state_details.run_input_keyset = KEYSET
    key = labels.inbox_idempotency_key(task.case_ref, task.task_id)
    create = DeploymentFlowRunCreate(
        parameters={"task": task.model_dump(mode="json")},
        name=labels.inbox_run_name(task.case_ref, task.step, task.due_on),
        tags=labels.with_due_tags(labels.inbox_tags(task.case_ref, task.municipality, task.phase, task.step,
                                                    task.role), task.due_on, today or today_in_nl()),
        idempotency_key=key if generation == 1 else f"{key}:{generation}",
        state=to_state_create(state),
    )
    return create.model_dump(mode="json", exclude_unset=True)


async def open_entries(client: PrefectClient, deployment_id: UUID, entries: Sequence[InboxEntry],
                       concurrency: int = 8, *, today: date | None = None,
                       generations: Sequence[int] | None = None) -> list[UUID]:
    """Create the inbox runs for `entries` (or find them, if they exist) and return their ids in order.

    Raises when Prefect refuses any of them, so the caller marks none of them delivered; delivering
    them again later creates nothing twice.
    """
    today = today or today_in_nl()
    bodies = [flow_run_create(e, today, g)
              for e, g in zip(entries, generations or [1] * len(entries), strict=True)]
    ids: list[UUID] = []
    for start in range(0, len(entries), BULK_LIMIT):
        ids.extend(await _create_runs(client, deployment_id, entries[start:start + BULK_LIMIT],
                                      bodies[start:start + BULK_LIMIT]))
    limit = asyncio.Semaphore(concurrency)

    async def inputs(flow_run_id: UUID, entry: InboxEntry) -> None:
        async with limit:
            await _put_input(client, flow_run_id, KEYSET["schema"], form_schema(entry.form))
            await _put_input(client, flow_run_id, KEYSET["description"], description(entry))

    await asyncio.gather(*(inputs(i, e) for i, e in zip(ids, entries, strict=True)))
    return ids


async def _create_runs(client: PrefectClient, deployment_id: UUID, chunk: Sequence[InboxEntry],
                       bodies: Sequence[dict[str, Any]]) -> list[UUID]:
    """One bulk request; entries the server could not write for a transient reason are sent again."""
    created: dict[int, UUID] = {}
    todo = list(range(len(chunk)))
    for attempt in range(RETRIES + 1):
        response = await client.request("POST", "/deployments/{id}/create_flow_run/bulk",  # type: ignore[arg-type]
                                         path_params={"id": deployment_id},
                                         json=[bodies[i] for i in todo])
        response.raise_for_status()
        failed: list[tuple[int, str]] = []
        for i, result in zip(todo, response.json()["results"], strict=True):
            if result["status"] == "CREATED":
                created[i] = UUID(result["flow_run_id"])
            else:
                failed.append((i, result.get("error") or "refused"))
        if not failed:
            break
        if attempt == RETRIES or not all(_transient(error) for _, error in failed):
            i, error = failed[0]
            raise RuntimeError(f"{len(failed)} inbox-run(s) niet aangemaakt, bijv. {chunk[i].task.case_ref} "
                               f"{chunk[i].task.task_id}: {error.splitlines()[0]}")
        todo = [i for i, _ in failed]
        await asyncio.sleep(BACKOFF * 2 ** attempt)
    return [created[i] for i in range(len(chunk))]


def _transient(error: str) -> bool:
    # Prefect on SQLite refuses a write when another writer got in first ("database is locked", a known
    # upstream limit); sending the same idempotent request again a moment later succeeds.
    return "database is locked" in error


async def _put_input(client: PrefectClient, flow_run_id: UUID, key: str, value: Any) -> None:
    # Stored JSON-encoded, as prefect.input.actions.create_flow_run_input does.
    for attempt in range(RETRIES + 1):
        try:
            await client.create_flow_run_input(flow_run_id, key, json.dumps(value))
            return
        except PrefectHTTPStatusError as exc:
            if exc.response.status_code == 409:  # written by an earlier delivery of the same command
                return
            if exc.response.status_code < 500 or attempt == RETRIES:
                raise
        await asyncio.sleep(BACKOFF * 2 ** attempt)


def task_of(run: FlowRun) -> InboxTask | None:
    """The task an inbox run carries (None for a run someone started with other parameters)."""
    try:
        return InboxTask.model_validate(run.parameters.get("task"))
    except pydantic.ValidationError:
        return None


async def runs_of_task(client: PrefectClient, case_ref: str, task_id: str) -> list[FlowRun]:
    """Every inbox run a task had (a task given back has more than one), newest first."""
    runs = await client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(any_=[FLOW_NAME])),
        flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[labels.INBOX_TAG, f"case:{case_ref}"])),
        sort=FlowRunSort.EXPECTED_START_TIME_DESC,
    )
    mine = [r for r in runs if (t := task_of(r)) is not None and t.task_id == task_id]
    return sorted(mine, key=lambda r: r.created or datetime.min.replace(tzinfo=NL), reverse=True)


async def find_entry(client: PrefectClient, case_ref: str, task_id: str) -> FlowRun | None:
    """The inbox run of a task, if one was created: the one still open, else the newest."""
    runs = await runs_of_task(client, case_ref, task_id)
    live = [r for r in runs if r.state is not None and r.state.type in LIVE]
    return (live or runs or [None])[0]


async def live_runs(client: PrefectClient) -> list[FlowRun]:
    """Every inbox run that still carries its task (waiting for its form, or resumed), page by page."""
    found: list[FlowRun] = []
    while True:
        page = await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[FLOW_NAME])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=LIVE))),
            sort=FlowRunSort.ID_DESC, limit=PAGE, offset=len(found))
        found.extend(page)
        if len(page) < PAGE:
            return found


def waiting_runs_by_step(client: SyncPrefectClient) -> dict[tuple[str, str], UUID]:
    """(case, step) -> the id of its inbox run that waits for the form: for links from the overview."""
    found: dict[tuple[str, str], UUID] = {}
    offset = 0
    while True:
        page = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[FLOW_NAME])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(
                any_=[StateType.PAUSED]))),
            sort=FlowRunSort.ID_DESC, limit=PAGE, offset=offset)
        for run in page:
            if (task := task_of(run)) is not None:
                found.setdefault((task.case_ref, task.step), run.id)
        offset += len(page)
        if len(page) < PAGE:
            return found


async def retag(client: PrefectClient, runs: Sequence[FlowRun], today: date) -> int:
    """Set `te-laat` / `deze-week` on the waiting runs as they are `today`; how many runs changed."""
    changed = 0
    for run in runs:
        task = task_of(run)
        if task is None or run.state is None or not run.state.is_paused():
            continue
        tags = labels.with_due_tags(run.tags, task.due_on, today)
        if set(tags) != set(run.tags):
            await client.update_flow_run(run.id, tags=tags)
            changed += 1
    return changed


def generation(run: FlowRun) -> int:
    """Which run of its task this is: 1 for the first, n for `regie-inbox:<case>:<task>:<n>`."""
    tail = (run.idempotency_key or "").rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() and (run.idempotency_key or "").count(":") == 3 else 1


async def give_back(client: PrefectClient, deployment_id: UUID, entry: InboxEntry, today: date, *,
                    earlier: Sequence[FlowRun]) -> UUID:
    """A new inbox run for a task whose run ended (cancelled, deleted, ...) while the task is open.

    Its generation follows the `earlier` runs the task still has in Prefect, so two keepers giving the
    same task back at once make one run (the idempotency key is the same).
    """
    after = max((generation(r) for r in earlier), default=0)
    [run_id] = await open_entries(client, deployment_id, [entry], today=today, generations=[after + 1])
    return run_id


CloseOutcome = Literal["closed", "running", "already_closed", "absent"]


async def close_entry(client: PrefectClient, case_ref: str, task_id: str,
                      reason: Literal["completed", "cancelled"]) -> CloseOutcome:
    """Take a task's run out of the inbox because the step was completed elsewhere or cancelled.

    A run still waiting for its form is set to Completed ("Completed elsewhere") or Cancelled. A run
    that an operator already resumed is left alone: it finds the step closed and ends by itself.
    """
    run = await find_entry(client, case_ref, task_id)
    if run is None:
        return "absent"
    if run.state is None or run.state.is_final():
        return "already_closed"
    if not run.state.is_paused():
        return "running"
    if reason == "completed":
        state = Completed(name="Completed elsewhere", message="De stap is buiten de inbox afgerond.")
    else:
        state = Cancelled(message="Het proces heeft deze stap niet meer nodig.")
    # Forced: a Suspended run may not move to a final state by the normal rules (it should resume first).
    await client.set_flow_run_state(run.id, state, force=True)
    return "closed"


async def submitted_form(client: PrefectClient, flow_run_id: UUID) -> dict[str, Any] | None:
    """What the operator entered when resuming the run, or None if the run was not resumed with a form."""
    raw = await _read_input(client, flow_run_id, KEYSET["response"])
    if not raw:
        return None
    form = json.loads(raw)
    schema = await _read_input(client, flow_run_id, KEYSET["schema"])
    return form_values(form, json.loads(schema) if schema else {})


async def _read_input(client: PrefectClient, flow_run_id: UUID, key: str) -> str | None:
    try:
        return await client.read_flow_run_input(flow_run_id, key)
    except (ObjectNotFound, PrefectHTTPStatusError) as exc:
        if isinstance(exc, PrefectHTTPStatusError) and exc.response.status_code != 404:
            raise
        return None

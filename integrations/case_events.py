"""Case events in Prefect: every state change of a case becomes a `regie.case.<what happened>` event.

The resource is the case (`regie.case.<case_ref>`) with the municipality and phase as labels, and the
municipality and phase are related resources too, so a coordinator can build an automation such as
"when `regie.case.deadline-missed` happens for municipality rotterdam, notify the team lead".

The event id is derived from the engine command's idempotency key, and Prefect stores an event id
once, so delivering the same command twice gives one event. Events are posted in one batch to the
API's `/events` endpoint, which answers only after the server accepted them; `emit_event` would queue
them in a background worker and give no such answer, and the outbox row must be marked delivered only
after the event really arrived.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID, uuid5

from prefect.client.orchestration import PrefectClient
from prefect.events import Event

from engine.commands import EmitEvent
from integrations import labels

_NAMESPACE = UUID("5b6f3f2e-8f0e-4a53-9c1c-2a0f1e9d7c41")
"""Fixed namespace for event ids derived from command keys (any constant UUID would do)."""


def event_id(command_key: str) -> UUID:
    """The Prefect event id of an engine command: the same key always gives the same id."""
    return uuid5(_NAMESPACE, command_key)


def case_event(command: EmitEvent, municipality: str, occurred: datetime) -> Event:
    """The Prefect event for one `EmitEvent` command of a case in `municipality`."""
    phase = command.payload.get("phase")
    resource = {"prefect.resource.id": labels.case_resource_id(command.case_ref),
                "prefect.resource.name": command.case_ref, "regie.municipality": municipality}
    related = [{"prefect.resource.id": f"regie.municipality.{municipality}",
                "prefect.resource.role": "municipality", "prefect.resource.name": municipality}]
    if phase:
        resource["regie.phase"] = phase
        related.append({"prefect.resource.id": f"regie.phase.{phase}", "prefect.resource.role": "phase",
                        "prefect.resource.name": phase})
    return Event(occurred=occurred, event=labels.event_name(command.event), resource=resource,
                 related=related, payload=dict(command.payload), id=event_id(command.key))


async def publish(client: PrefectClient, events: Sequence[Event], batch_size: int = 200) -> None:
    """Post events to the Prefect API; raises if the server does not accept them."""
    for start in range(0, len(events), batch_size):
        body = [e.model_dump(mode="json") for e in events[start:start + batch_size]]
        response = await client.request("POST", "/events", json=body)  # type: ignore[arg-type]
        response.raise_for_status()

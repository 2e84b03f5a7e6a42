"""Prefect automations Regie sets up on its own case events (`regie automations install`).

- When a deadline is missed (`regie.case.deadline-missed`), the case's timeline artifact is published
  at once, so the coordinator sees the missed date without waiting for the 15-minute overview.
- With a notification block (Slack, Teams, email: the team's own channel), the coordinator is also
  told of every missed deadline: case reference, what was missed and the last day; no personal data.

Installing is idempotent: an automation with the same name is replaced. Coordinators add their own in
the UI (Automations → Add), on the same events; see docs/coordinators.md.
"""

from __future__ import annotations

from prefect.automations import Automation, EventTrigger, RunDeployment, SendNotification
from prefect.blocks.core import Block
from prefect.client.orchestration import get_client
from prefect.events.schemas.automations import Posture

from integrations.labels import case_resource_id, event_name

TIMELINE = "regie: tijdlijn bijwerken bij gemiste termijn"
NOTIFY = "regie: coordinator bij gemiste termijn"
TIMELINE_DEPLOYMENT = "publish-case-timeline/publish-case-timeline"


def missed_deadline_trigger() -> EventTrigger:
    """Every missed deadline of every case, one action per event."""
    return EventTrigger(match={"prefect.resource.id": case_resource_id("*")},
                        expect={event_name("deadline-missed")}, posture=Posture.Reactive, threshold=1)


async def install(notify_block: str | None = None) -> list[str]:
    """Create (or replace) Regie's automations; returns their names."""
    async with get_client() as client:
        deployment = await client.read_deployment_by_name(TIMELINE_DEPLOYMENT)
    wanted = [Automation(
        name=TIMELINE, description="Publiceer de tijdlijn van de zaak zodra een termijn is verstreken.",
        trigger=missed_deadline_trigger(),
        actions=[RunDeployment(source="selected", deployment_id=deployment.id,
                               parameters={"case_ref": "{{ event.resource.name }}"})],
    )]
    if notify_block:
        block = await Block.aload(notify_block)
        wanted.append(Automation(
            name=NOTIFY, description="Meld elke verstreken termijn op het kanaal van de coördinator.",
            trigger=missed_deadline_trigger(),
            actions=[SendNotification(
                block_document_id=block._block_document_id,
                subject="Termijn verstreken voor zaak {{ event.resource.name }}",
                body=("Zaak {{ event.resource.name }} ({{ event.resource['regie.municipality'] }}): "
                      "{{ event.payload.ref }} is verstreken ({{ event.payload.detail }}). "
                      "Kijk in Regie wat er moet gebeuren."),
            )],
        ))
    async with get_client() as client:
        for automation in wanted:
            for existing in await client.read_automations_by_name(automation.name):
                await client.delete_automation(existing.id)
    for automation in wanted:
        await automation.acreate()
    return [a.name for a in wanted]

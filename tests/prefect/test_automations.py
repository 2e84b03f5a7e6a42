"""`regie automations install` puts Regie's automations on the server, once, however often it runs."""

from __future__ import annotations

import asyncio

import pytest
from prefect.blocks.notifications import SlackWebhook
from prefect.client.orchestration import get_client

from app.automations import NOTIFY, TIMELINE, install

pytestmark = pytest.mark.prefect


async def named(name: str):
    async with get_client() as client:
        return await client.read_automations_by_name(name)


def test_a_missed_deadline_publishes_the_case_timeline_and_tells_the_coordinators_channel(prefect_server):
    SlackWebhook(url="https://hooks.slack.example/services/T000/B000/XXXX").save("regie-coordinatoren",
                                                                                overwrite=True)
    assert asyncio.run(install("slack-webhook/regie-coordinatoren")) == [TIMELINE, NOTIFY]
    asyncio.run(install("slack-webhook/regie-coordinatoren"))  # again: replaced, not doubled
    [timeline] = asyncio.run(named(TIMELINE))
    [notify] = asyncio.run(named(NOTIFY))
    assert timeline.trigger.expect == {"regie.case.deadline-missed"}
    assert timeline.trigger.match.model_dump()["prefect.resource.id"] == "regie.case.*"
    assert timeline.actions[0].parameters == {"case_ref": "{{ event.resource.name }}"}
    assert "{{ event.resource.name }}" in notify.actions[0].subject

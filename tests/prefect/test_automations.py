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


def test_the_command_goes_to_the_running_instance_and_refuses_in_one_line(prefect_server, tmp_path, monkeypatch,
                                                                          capsys):
    from prefect.settings import get_current_settings

    from app.settings import get_settings
    from cli import running
    from cli.main import main

    monkeypatch.setenv("REGIE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    # No regie up for this data dir and no PREFECT_API_URL: said, not a temporary server of Prefect's own.
    assert main(["automations", "install"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"er draait geen regie up voor {tmp_path}" in err

    # A running instance (this process stands in for it); the test server plays its Prefect server.
    running.write(get_settings())
    monkeypatch.setenv("PREFECT_API_URL", get_current_settings().api.url)
    assert main(["automations", "install", "--notify-block", "slack-webhook/bestaat-niet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "het blok slack-webhook/bestaat-niet bestaat niet op de Prefect-server" in err
    assert main(["automations", "install"]) == 0
    assert f"installed: {TIMELINE}" in capsys.readouterr().out

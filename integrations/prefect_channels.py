"""Prefect as the channel for the operators' inbox and the coordinators' case events.

`PrefectChannels` carries out the two kinds of outbox command that go to Prefect (inbox runs and case
events) over one API client; the outbox delivery (`app.delivery`) uses it through its `Channels`
interface, and tests give it a fake. `prefect_channels()` opens a client on the configured API
(PREFECT_API_URL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal
from uuid import UUID

import httpx
from prefect.client.orchestration import PrefectClient, get_client
from prefect.exceptions import ObjectNotFound

from engine.commands import EmitEvent
from integrations import case_events, inbox

INBOX_DEPLOYMENT = f"{inbox.FLOW_NAME}/{inbox.FLOW_NAME}"
"""`<flow name>/<deployment name>` of the inbox deployment, the same with `regie up` and prefect.yaml."""

API_ERRORS = (httpx.HTTPError, RuntimeError)
"""What talking to Prefect can raise (transport errors, refused requests, refused bulk entries).
Anything else is a bug and is raised at once."""


class InboxUnavailable(RuntimeError):
    """Nothing serves the inbox deployment yet, so inbox runs cannot be created."""


@dataclass
class PrefectChannels:
    """Inbox runs and case events on one Prefect API client."""

    client: PrefectClient
    today: Callable[[], date] = inbox.today_in_nl
    """today in Europe/Amsterdam by the case service's clock: the new runs' deadline tags follow it"""
    _deployment: UUID | None = field(default=None, repr=False)

    async def open_tasks(self, entries: Sequence[inbox.InboxEntry]) -> None:
        """Create the inbox runs of these tasks (idempotent: existing runs are found, not made again)."""
        if entries:
            await inbox.open_entries(self.client, await self.inbox_deployment(), entries, today=self.today())

    async def close_task(self, case_ref: str, task_id: str,
                         reason: Literal["completed", "cancelled"]) -> inbox.CloseOutcome:
        """Take a task's run out of the inbox."""
        return await inbox.close_entry(self.client, case_ref, task_id, reason)

    async def publish_events(self, events: Sequence[tuple[EmitEvent, str]], occurred: datetime) -> None:
        """Post case events (command, municipality); raises unless the server accepted all of them."""
        await case_events.publish(self.client, [case_events.case_event(c, m, occurred) for c, m in events])

    async def inbox_deployment(self) -> UUID:
        """The id of the `user-task` deployment; `InboxUnavailable` when nothing serves it yet."""
        if self._deployment is None:
            try:
                self._deployment = (await self.client.read_deployment_by_name(INBOX_DEPLOYMENT)).id
            except ObjectNotFound:
                raise InboxUnavailable(f"deployment {INBOX_DEPLOYMENT} niet gevonden op {self.client.api_url}: start "
                                       "`regie up`, of zet prefect.yaml uit met `prefect deploy`, voordat inbox-taken "
                                       "worden bezorgd") from None
        return self._deployment


@asynccontextmanager
async def prefect_channels(today: Callable[[], date] = inbox.today_in_nl) -> AsyncIterator[PrefectChannels]:
    """Channels on the Prefect API this process is configured for."""
    async with get_client() as client:
        yield PrefectChannels(client, today)

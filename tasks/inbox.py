"""Prefect tasks of the inbox run (flows/user_task.py): read the operator's form, check the step is still open.

`InboxTask` (the inbox run's parameters) is defined with the rest of the inbox in `integrations.inbox`.
"""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run

from app.bootstrap import current
from integrations.inbox import InboxTask, submitted_form

__all__ = ["InboxTask", "read_inbox_form", "step_is_open"]


@task(name="read-inbox-form", cache_policy=NO_CACHE)
async def read_inbox_form() -> dict[str, Any] | None:
    """What the operator entered in the inbox form of this run (None: not resumed from the inbox)."""
    async with get_client() as client:
        return await submitted_form(client, flow_run.id)


@task(name="check-step-open", cache_policy=NO_CACHE)
def step_is_open(*, case_ref: str, task_id: str) -> bool:
    """Whether the task is still open (it may have been completed elsewhere since the inbox showed it)."""
    return any(t.task_id == task_id for t in current().service.open_tasks(case_ref=case_ref))

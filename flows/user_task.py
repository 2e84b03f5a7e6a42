"""The inbox run: one Suspended run of the `user-task` deployment per open user task.

Nothing executes while the task is open: the run is created already Suspended (integrations/inbox.py). When
an operator fills in the form and resumes it, the server stores the form and schedules the run; a
runner then executes this flow from the top, which reads the form, checks that the step is still open
(it may have been completed elsewhere meanwhile), and completes it through the same service call as
the `complete-step` deployment and the CLI.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from app.inbox_keeper import INBOX_ACTOR
from tasks.cases import complete_case_step, deliver_outbox
from tasks.inbox import InboxTask, read_inbox_form, step_is_open


class NoFormSubmitted(RuntimeError):
    """The run was started without the inbox form (e.g. with "Run" instead of "Resume")."""


@flow(name="user-task")
async def user_task(task: InboxTask) -> dict[str, Any]:
    """Complete the step with the form the operator entered in the inbox."""
    form = await read_inbox_form()
    if form is None:
        raise NoFormSubmitted(f"{task.case_ref} {task.step}: open deze run in de inbox en ga verder met het formulier")
    if not step_is_open(case_ref=task.case_ref, task_id=task.task_id):
        return {"case_ref": task.case_ref, "task_id": task.task_id, "outcome": "already closed elsewhere"}
    # Empty optional fields come back as null; leave them out rather than erase earlier case data.
    data = {name: value for name, value in form.items() if value is not None}
    view = complete_case_step(case_ref=task.case_ref, task_ref=task.task_id, data=data, actor=INBOX_ACTOR,
                              expected_version=None)
    await deliver_outbox()
    return {"case_ref": task.case_ref, "task_id": task.task_id, "outcome": "completed", "version": view.version}

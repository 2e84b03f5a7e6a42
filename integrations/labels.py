"""How Regie names things in Prefect: flow-run names, tags, event names and resource ids.

One place, so a coordinator can rely on the same filters everywhere: `case:<case_ref>`,
`municipality:<name>`, `phase:<phase>`, `step:<step>`, `role:<role>` as tags, and events named
`regie.case.<what happened>` about the resource `regie.case.<case_ref>`.

Only the case reference and process data (step, role, deadline, phase, municipality) are used: these
strings are stored in the clear by Prefect and shown to everyone with UI access.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

EVENT_PREFIX = "regie.case"
INBOX_TAG = "inbox"
OVERDUE_TAG = "te-laat"
"""On an open inbox run whose deadline has passed (kept current by the inbox keeper, app/inbox_keeper.py)."""
THIS_WEEK_TAG = "deze-week"
"""On an open inbox run due from today up to and including this Sunday."""
DUE_TAGS = (OVERDUE_TAG, THIS_WEEK_TAG)


def case_tags(case_ref: str, municipality: str | None = None, phase: str | None = None) -> list[str]:
    """The tags that let a coordinator filter runs by case, municipality and phase."""
    tags = [f"case:{case_ref}"]
    if municipality:
        tags.append(f"municipality:{municipality}")
    if phase:
        tags.append(f"phase:{phase}")
    return tags


def inbox_tags(case_ref: str, municipality: str, phase: str | None, step: str, role: str) -> list[str]:
    """Tags of an inbox run: the case tags plus the step, the role and `inbox`."""
    return [INBOX_TAG, *case_tags(case_ref, municipality, phase), f"step:{step}", f"role:{role}"]


def inbox_run_name(case_ref: str, step: str, due_on: date | None = None) -> str:
    """An inbox run is named after the case reference, the step and its deadline (a date in
    Europe/Amsterdam, as the case's deadlines are): `RMD-2026-0042 · klantprofiel · uiterlijk 16-03-2026`."""
    deadline = f" · uiterlijk {due_on:%d-%m-%Y}" if due_on else ""
    return f"{case_ref} · {step}{deadline}"


def due_tags(due_on: date | None, today: date) -> list[str]:
    """`te-laat` when the deadline has passed, `deze-week` when it falls from today to this Sunday."""
    if due_on is None:
        return []
    if due_on < today:
        return [OVERDUE_TAG]
    if due_on <= today + timedelta(days=6 - today.weekday()):
        return [THIS_WEEK_TAG]
    return []


def with_due_tags(tags: Iterable[str], due_on: date | None, today: date) -> list[str]:
    """`tags` with the deadline tags as they are `today` (the old ones dropped)."""
    return [*(t for t in tags if t not in DUE_TAGS), *due_tags(due_on, today)]


def case_run_name(action: str, case_ref: str, detail: str | None = None) -> str:
    """The name of a run that acts on one case: `complete RMD-2026-0042 klantprofiel`."""
    return " ".join(p for p in (action, case_ref, detail) if p)


def inbox_idempotency_key(case_ref: str, task_id: str) -> str:
    """One inbox run per open task: creating it twice returns the first (task ids are unique per case)."""
    return f"regie-inbox:{case_ref}:{task_id}"


def event_name(what: str) -> str:
    """`task-opened` -> `regie.case.task-opened`."""
    return f"{EVENT_PREFIX}.{what}"


def case_resource_id(case_ref: str) -> str:
    """The Prefect resource id of a case."""
    return f"{EVENT_PREFIX}.{case_ref}"


def merge_tags(*groups: Iterable[str]) -> list[str]:
    """Tags from several sources, each once, in first-seen order."""
    seen: dict[str, None] = {}
    for group in groups:
        for tag in group:
            seen.setdefault(tag, None)
    return list(seen)

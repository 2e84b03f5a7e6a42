"""How Regie names things in Prefect: flow-run names, tags, event names and resource ids.

One place, so a coordinator can rely on the same filters everywhere: `case:<case_ref>`,
`municipality:<name>`, `phase:<phase>`, `step:<step>`, `role:<role>` as tags, and events named
`regie.case.<what happened>` about the resource `regie.case.<case_ref>`.

Only the case reference and process data (step, role, deadline, phase, municipality) are used: these
strings are stored in the clear by Prefect and shown to everyone with UI access.
"""

from __future__ import annotations

from collections.abc import Iterable

EVENT_PREFIX = "regie.case"
INBOX_TAG = "inbox"


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


def inbox_run_name(case_ref: str, step: str) -> str:
    """An inbox run is named after the case reference and the step: `RMD-2026-0042 · klantprofiel`."""
    return f"{case_ref} · {step}"


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

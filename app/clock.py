"""The real clock. Everything that needs the time takes a clock (a function returning an aware UTC
instant) as a parameter, so tests pass a fake one and nothing sleeps; this is the only real one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""A function returning the current instant, timezone-aware."""


def utc_now() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)

"""Rate limits of the partner page: per link and per client address, counted in fixed windows in memory.

A link is a secret in a URL: guessing or replaying one should hit a wall quickly, and one office behind
one address should still get its work done. Each portal process counts for itself (behind a load
balancer, N processes allow N times as much); the clock is a parameter, so tests move time by hand.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from threading import Lock

MAX_KEYS = 100_000
"""Counters kept at most; beyond that the oldest windows are dropped (an attacker with many addresses
must not grow the process without bound)."""


@dataclass(frozen=True)
class Limits:
    """How many requests a link and an address may make per window."""

    per_link: int = 30
    per_address: int = 120
    window_seconds: float = 600.0


@dataclass
class RateLimiter:
    """Counts requests per key in fixed windows; `allow` says whether one more may pass, and if not,
    after how many seconds the window ends."""

    limits: Limits = field(default_factory=Limits)
    clock: Callable[[], float] = time.monotonic
    _counts: dict[str, tuple[float, int]] = field(default_factory=dict)
    _lock: Lock = field(default_factory=Lock)

    def allow(self, address: str, token: str | None) -> float | None:
        """None when the request may pass (and is counted), else the seconds until it may try again."""
        now = self.clock()
        keys = [(f"a:{address}", self.limits.per_address)]
        if token is not None:
            # Counted by a hash: the process never keeps the tokens themselves.
            keys.append((f"l:{hashlib.sha256(token.encode()).hexdigest()[:32]}", self.limits.per_link))
        with self._lock:
            if len(self._counts) > MAX_KEYS:
                self._forget(now)
            wait = None
            for key, limit in keys:
                start, count = self._counts.get(key, (now, 0))
                if now - start >= self.limits.window_seconds:
                    start, count = now, 0
                if count >= limit:
                    wait = max(wait or 0.0, start + self.limits.window_seconds - now)
                self._counts[key] = (start, count + 1)
            return wait

    def _forget(self, now: float) -> None:
        live = {k: v for k, v in self._counts.items() if now - v[0] < self.limits.window_seconds}
        if len(live) > MAX_KEYS:
            live = dict(sorted(live.items(), key=lambda kv: kv[1][0])[-MAX_KEYS // 2:])
        self._counts = live

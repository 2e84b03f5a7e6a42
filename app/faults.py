"""What is stuck right now (`regie storingen`, the deadline radar): cases set aside by the sweep, partner
channels that are down or failing, and how the outbox stands. Read only; process data only.

Times for people are Amsterdam time (`app.people_time.moment`).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.cases import CaseService
from engine.deliveries import ChannelHealth
from store import queries
from store.deliveries import channels_in_trouble
from store.outbox import OutboxSummary
from store.queries import StuckCase

MAX_ATTEMPTS = 50
"""After this many failed attempts the outbox no longer tries a command (app.delivery uses the same)."""


@dataclass(frozen=True)
class Faults:
    """The cases set aside, the channels in trouble (down first), and the outbox's counts."""

    stuck: list[StuckCase]
    channels: list[ChannelHealth]
    outbox: OutboxSummary | None

    @property
    def down(self) -> list[ChannelHealth]:
        """The channels that are down (out of use until a probe works)."""
        return [h for h in self.channels if h.down]


def current_faults(service: CaseService, *, municipality: str | None = None, outbox: bool = True) -> Faults:
    """Everything stuck now; for one municipality: its cases and the channels of the profiles they run with."""
    channels = channels_in_trouble(service.engine)
    if municipality is not None:
        profiles = {p or service.default_profile for p in queries.case_profiles(service.engine, municipality)}
        profiles.add(service.profile_for(municipality))
        channels = [h for h in channels if h.profile in profiles]
    return Faults(stuck=service.stuck_cases(municipality), channels=channels,
                  outbox=service.outbox_summary(MAX_ATTEMPTS) if outbox else None)


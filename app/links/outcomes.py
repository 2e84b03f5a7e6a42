"""What acting on a partner link can come to: done, refused (each reason its own Dutch page), or issued."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

RefusalReason = Literal["ongeldig", "ingetrokken", "gebruikt", "verlopen", "afgerond", "bezig", "niet_nodig"]


class LinkNotIssued(ValueError):
    """An operator asked for a link that cannot be made; says why and what would work."""


@dataclass(frozen=True)
class Refusal:
    """Why a link does nothing (each reason has its own Dutch page). Process data only."""

    reason: RefusalReason
    case_ref: str = ""
    title: str = ""
    when: str = ""
    """the day it was used or its last day, in Dutch words (`16 maart 2026`)"""


@dataclass(frozen=True)
class Done:
    """A submission changed the case."""

    case_ref: str
    title: str
    kind: Literal["step", "signal"]
    version: int
    next_url: str | None = None
    """a fresh link for the step, when a signal was sent from the step's page and the step is still open"""
    next_title: str = ""


@dataclass(frozen=True)
class Issued:
    """A link handed out now."""

    url: str
    last_day: date
    case_ref: str
    step: str
    role: str
    recipient: str

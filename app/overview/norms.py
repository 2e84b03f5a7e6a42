"""Local norms: each definition parameter with the municipality profile's value where it sets one, and
the documented constants for the norms no profile parameter carries (each with its source)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.durations import Duration, parse_duration

if TYPE_CHECKING:
    from app.cases import CaseService
    from engine.loader import Library

# --- norms without a profile parameter (documented constants) -----------------------------------------
WARME_OVERDRACHT_NORM = 80.0
WARME_OVERDRACHT_SOURCE = ("wi2021.md#2 Practice/AVG: COA promised 80% warm handovers (M); P1 driegesprek "
                           "before the move")
PIP_NORM = 100.0
PIP_SOURCE = "a legal term, so the norm is every PIP"
DUAAL_BANDWIDTH = "3–6 maanden"
DUO_BESLISTERMIJN = parse_duration("P8W")
MEDISCH_SOURCE = "wi2021.md#0 row 10 DUO decision term 8 weeks (H); P8 the wait eats into the term"
NAZORG_SOURCE = "wi2021.md#10 no national check-in norm (L)"


@dataclass(frozen=True)
class Norm:
    """A local norm: the parameter's value and where it comes from."""

    name: str
    value: Any
    source: str

    @property
    def duration(self) -> Duration:
        return parse_duration(str(self.value))


def norms(library: Library, profile: str | None) -> dict[str, Norm]:
    """Every parameter of every definition with the profile's value where it sets one."""
    found: dict[str, Norm] = {}
    for definition in library.definitions.values():
        for name, parameter in definition.parameters.items():
            found.setdefault(name, Norm(name, parameter.default, parameter.source))
    chosen = library.profiles.get(profile) if profile else None
    if chosen is not None:
        for name, value in chosen.parameters.items():
            if name in found:
                found[name] = Norm(name, value, f"profiel {chosen.id}; {found[name].source}")
    return found


def municipality_profile(service: CaseService, municipality: str) -> str | None:
    """The profile a new case of this municipality gets (as `CaseService.start_trajectory` chooses it)."""
    return service.profile_for(municipality)


def dutch_duration(duration: Duration) -> str:
    """`P12W` -> `12 weken`, `P3M` -> `3 maanden`, `5 werkdagen` stays; mixed durations keep their text."""
    if duration.werkdagen:
        return f"{duration.werkdagen} werkdagen"
    parts = [(duration.years, "jaar", "jaar"), (duration.months, "maand", "maanden")]
    days = duration.days
    if days and days % 7 == 0 and not (duration.years or duration.months):
        parts.append((days // 7, "week", "weken"))
        days = 0
    parts.append((days, "dag", "dagen"))
    words = [f"{n} {one if n == 1 else many}" for n, one, many in parts if n]
    return " en ".join(words) or "0 dagen"

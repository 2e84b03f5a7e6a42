"""Local norms: each definition parameter with the municipality profile's value where it sets one, and
the documented constants for the norms no profile parameter carries (each with its source)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.durations import Duration, parse_duration

if TYPE_CHECKING:
    from app.cases import CaseService
    from engine.loader import Library

# --- norms without a profile parameter (documented constants; their sources in app/overview/sources.py) --
WARME_OVERDRACHT_NORM = 80.0
PIP_NORM = 100.0
DUAAL_BANDWIDTH = "3–6 maanden"
DUO_BESLISTERMIJN = parse_duration("P8W")


@dataclass(frozen=True)
class Norm:
    """A local norm: the parameter's value and where it comes from (`profile`: the profile that set it)."""

    name: str
    value: Any
    source: str
    profile: str | None = None

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
                found[name] = Norm(name, value, f"profiel {chosen.id}; {found[name].source}", profile=chosen.id)
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

"""Routing a role's message in one case to the partners who should get it.

A role whose catalogue has a `partner_<role>` data field is case-specific (the language school,
employer, job coach of this person): its messages go only to the partner the case names, never to a
guess, unless the profile marks one partner of the role `default: true` (the one regional language
school): then cases that name no partner get that one. Any other role (coordinator, klantregisseur,
...) goes to every partner listed for it. When nobody can be found, the answer says why, in Dutch and
English, for the coordinator who gets the message instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from integrations.directory import CASE_PARTNER_PREFIX, Partner, PartnerDirectory


@dataclass(frozen=True)
class Unroutable:
    """No recipient for a role in a case; said in Dutch and in English for the coordinator."""

    role: str
    nl: str
    en: str


def route(directory: PartnerDirectory, role: str, chosen: str | None) -> tuple[Partner, ...] | Unroutable:
    """The partners who get a message for `role` in a case that names `chosen` for it (or None)."""
    listed = directory.roles.get(role, ())
    if chosen:
        partner = next((p for p in listed if p.id == chosen), None)
        if partner is not None:
            return (partner,)
        return Unroutable(role, f"de zaak noemt partner {chosen}, maar die staat niet bij deze rol in de "
                                f"partnerlijst van {directory.profile}",
                          f"the case names partner {chosen}, which is not listed for this role in the "
                          f"partner list of {directory.profile}")
    if role in directory.case_specific:
        default = next((p for p in listed if p.default), None)
        if default is not None:
            return (default,)
        return Unroutable(role, f"de zaak noemt nog geen partner voor deze rol (veld {CASE_PARTNER_PREFIX}{role})",
                          f"the case does not name a partner for this role yet (field "
                          f"{CASE_PARTNER_PREFIX}{role})")
    if not listed:
        return Unroutable(role, f"de partnerlijst van {directory.profile} heeft niemand voor deze rol",
                          f"the partner list of {directory.profile} has no one for this role")
    return listed


def case_choices(data: Mapping[str, Any], roles: Iterable[str]) -> dict[str, str]:
    """`partner_<role>` values from case data (or a notification's context), by role."""
    choices = {}
    for role in roles:
        value = data.get(f"{CASE_PARTNER_PREFIX}{role}")
        if isinstance(value, str) and value:
            choices[role] = value
    return choices

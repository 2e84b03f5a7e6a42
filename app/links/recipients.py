"""Who a link an operator makes is for: the partner the case's profile sends the role's messages to."""

from __future__ import annotations

from collections.abc import Mapping

from app.cases import CaseService
from app.links.outcomes import LinkNotIssued
from integrations.directory import load_directory
from integrations.routing import Unroutable, case_choices, route
from store import queries


def routed_recipient(service: CaseService, case_ref: str, profile_id: str | None, role: str,
                     env: Mapping[str, str]) -> str:
    """The one partner that gets `role`'s messages in this case; `LinkNotIssued` naming the choices when
    there is none or more than one (the operator then names one with --recipient)."""
    profile = service.library.profiles.get(profile_id or "")
    if profile is None:
        raise LinkNotIssued(f"zaak {case_ref} heeft geen gemeenteprofiel met partners: noem de partner "
                            "met --recipient")
    directory = load_directory(profile, service.library.catalog, env)
    facts = queries.routing_facts(service.engine, case_ref)
    routed = route(directory, role, case_choices(facts[1] if facts else {}, [role]).get(role))
    if isinstance(routed, Unroutable):
        raise LinkNotIssued(f"geen partner voor rol {role} in zaak {case_ref}: {routed.nl}; noem er een met "
                            "--recipient")
    if len(routed) > 1:
        raise LinkNotIssued(f"meerdere partners vervullen rol {role} in {profile.id} "
                            f"({', '.join(p.id for p in routed)}): noem er een met --recipient")
    return routed[0].id

"""The one bootstrap: the runtime (database, definitions, case service, delivery ledger, notifier, clock,
partner links) built from the one `Settings`, in the same way for the CLI, the Prefect flows, the portal,
the tests and the benchmarks.

Built when asked, never at import. A served flow run is its own process and builds its runtime on
first use (`current()`); the CLI, the demo loader and the tests build one and install it with `use()`.
Nothing is patched: a test passes its own settings, clock or notifier.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine

from app.cases import CaseService
from app.clock import Clock, utc_now
from app.links.service import PartnerLinks
from app.links.tokens import load_key
from app.settings import Settings, get_settings
from engine.errors import DefinitionError
from engine.loader import Library
from engine.validator import validate_paths
from integrations.apprise_notifier import AppriseNotifier, CaseInfo, LinkMaker
from integrations.apprise_send import prefect_secret
from integrations.directory import load_directories
from integrations.ledger import DeliveryLedger
from integrations.messages import MessageRenderer, WhereToAct
from integrations.notifier import LogNotifier, Notifier
from store import queries
from store.db import make_engine, upgrade
from store.deliveries import SqlDeliveryLedger

DEMO_DEFINITION = "asielstatushouder"
"""The definition demo cases run (`regie up --demo`): the Wi2021 asielstatushouder trajectory."""


@dataclass
class Runtime:
    """Everything a Regie process works with."""

    settings: Settings
    service: CaseService
    ledger: DeliveryLedger
    notifier: Notifier
    clock: Clock
    links: PartnerLinks | None = None
    """partner links (issue, check, act); every runtime `bootstrap` builds has them"""

    @property
    def engine(self) -> Engine:
        """The case store's database."""
        return self.service.engine

    @property
    def library(self) -> Library:
        """The loaded, validated definitions, catalogue and profiles."""
        return self.service.library


def load_definitions(settings: Settings) -> Library:
    """The definitions in the configured folder; `DefinitionError` listing every problem."""
    library, problems = validate_paths([settings.definitions_dir])
    if problems:
        raise DefinitionError(problems)
    return library


def bootstrap(settings: Settings | None = None, *, clock: Clock = utc_now, migrate: bool = True,
              notifier: Notifier | None = None, env: Mapping[str, str] | None = None) -> Runtime:
    """A runtime for these settings (default: from the environment): definitions loaded and checked first
    (nothing is created when they have problems), then the database migrated, then the notifier."""
    settings = settings or get_settings()
    library = load_definitions(settings)
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    service = CaseService(engine, library, clock, default_profile=settings.default_profile,
                          sweep_batch_size=settings.sweep_batch_size, municipalities=settings.municipalities)
    ledger = SqlDeliveryLedger(engine)
    links = build_links(settings, service, env)
    if notifier is None:
        notifier = build_notifier(settings, library, ledger, engine, clock, env, links=links.for_notice)
    return Runtime(settings=settings, service=service, ledger=ledger, notifier=notifier, clock=clock, links=links)


def build_links(settings: Settings, service: CaseService, env: Mapping[str, str] | None = None) -> PartnerLinks:
    """Partner links signed with the configured key (read when the first link is made or checked)."""
    def key() -> bytes:
        return load_key(settings.link_key.get_secret_value(), settings.data_dir, prefect_secret)

    return PartnerLinks(service, key=key, base_url=settings.portal_url, lifetime=settings.link_lifetime, env=env)


def build_notifier(settings: Settings, library: Library, ledger: DeliveryLedger, engine: Engine, clock: Clock,
                   env: Mapping[str, str] | None = None, *, links: LinkMaker | None = None) -> Notifier:
    """The apprise notifier (partners from the profiles; every URL checked now, so a bad one stops the
    start with a list of problems; a message asking a partner to do a step carries their own link from
    `links`), or the logging one the demo uses (`REGIE_NOTIFIER=log`)."""
    if settings.notifier == "log":
        return LogNotifier(ledger=settings.data_dir / "notices.jsonl")
    if library.catalog is None:
        raise DefinitionError(["de definities hebben geen catalogus: er zijn geen berichtsjablonen om te sturen"])
    env = os.environ if env is None else env
    policy = settings.notify
    return AppriseNotifier(
        directories=load_directories(library.profiles.values(), library.catalog, env),
        renderer=MessageRenderer(library.catalog, WhereToAct(policy.ui_url, policy.inbox_path)),
        ledger=ledger, cases=StoreRouting(engine), clock=clock, policy=policy,
        default_profile=settings.default_profile, env=env, links=links,
    )


@dataclass(frozen=True)
class StoreRouting:
    """What routing a notice needs of a case, read from the case store (the notifier's `CaseLookup`)."""

    engine: Engine

    def case(self, case_ref: str) -> CaseInfo | None:
        facts = queries.routing_facts(self.engine, case_ref)
        return None if facts is None else CaseInfo(*facts)


_current: Runtime | None = None


def current() -> Runtime:
    """The runtime of this process, built from the environment the first time it is asked for."""
    global _current
    if _current is None:
        _current = bootstrap()
    return _current


@contextmanager
def use(rt: Runtime) -> Iterator[Runtime]:
    """Work against `rt` in this process (CLI, tests, the demo loader); the previous one comes back after."""
    global _current
    previous, _current = _current, rt
    try:
        yield rt
    finally:
        _current = previous


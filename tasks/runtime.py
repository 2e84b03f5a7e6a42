"""The one place where the Prefect side is wired: settings -> case service, notifier, definitions.

Built on first use in each process (a served flow run is its own process), never at import. Tests and
the demo loader install their own runtime with `use_runtime` (a real service on a test database, with
a fixed clock); nothing is patched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from engine.errors import DefinitionError
from engine.loader import Library
from engine.validator import validate_paths
from integrations.notifier import Notifier, RecordingNotifier
from store.db import make_engine, upgrade
from store.service import CaseService, utc_now
from store.settings import Settings, get_settings

DEMO_DEFINITION = "asielstatushouder"
"""The definition demo cases run (`regie up --demo`): the Wi2021 asielstatushouder trajectory."""


@dataclass
class Runtime:
    """What flows and tasks work with: the case service, the notifier and the settings."""

    settings: Settings
    service: CaseService
    notifier: Notifier


def load_definitions(settings: Settings) -> Library:
    """The definitions the service runs: the configured folder."""
    library, problems = validate_paths([settings.definitions_dir])
    if problems:
        raise DefinitionError(problems)
    return library


def build_runtime(settings: Settings | None = None, *, clock=utc_now, migrate: bool = True) -> Runtime:
    """A runtime for these settings (default: from the environment): database migrated, definitions loaded."""
    settings = settings or get_settings()
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    service = CaseService(engine, load_definitions(settings), clock, default_profile=settings.default_profile,
                          sweep_batch_size=settings.sweep_batch_size)
    return Runtime(settings=settings, service=service, notifier=build_notifier_for(settings, service, clock))


def build_notifier_for(settings: Settings, service: CaseService, clock) -> Notifier:
    """The apprise notifier (partners from the profiles; every URL checked now, so a bad one stops
    the start with a list of problems), or the logging one the demo uses."""
    if settings.notifier == "log":
        return RecordingNotifier(ledger=settings.data_dir / "notices.jsonl")
    from integrations.apprise_notifier import build_notifier

    return build_notifier(engine=service.engine, library=service.library, clock=clock,
                          default_profile=settings.default_profile)


_current: Runtime | None = None


def runtime() -> Runtime:
    """The runtime of this process, built from the environment the first time it is asked for."""
    global _current
    if _current is None:
        _current = build_runtime()
    return _current


@contextmanager
def use_runtime(rt: Runtime) -> Iterator[Runtime]:
    """Run flows in this process against `rt` (tests, the demo loader); the previous one comes back after."""
    global _current
    previous, _current = _current, rt
    try:
        yield rt
    finally:
        _current = previous

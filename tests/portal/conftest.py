"""Fixtures for the partner-page tests: the real definitions with a test municipality whose partners read
mail on a local SMTP server, a case store (SQLite, and PostgreSQL where asked), a clock moved by hand.

`Partners` is one municipality's world: the case service, the partner links, the apprise notifier that
puts a link in every task message, and the outbox delivered to a recording fake of our own `Channels`
(inbox runs and events; the real Prefect side is tested in tests/prefect and the browser test).
Every message the SMTP server received is scanned for personal and health data when a test ends.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.bootstrap import StoreRouting
from app.cases import CaseService
from app.delivery import drain
from app.links.service import PartnerLinks
from engine.commands import EmitEvent
from engine.loader import Library, load_yaml
from engine.validator import validate_paths
from integrations.apprise_notifier import AppriseNotifier
from integrations.directory import PartnerDirectory, load_directories
from integrations.inbox import InboxEntry
from integrations.messages import MessageRenderer
from store.db import upgrade
from store.deliveries import SqlDeliveryLedger
from tests.notifications.conftest import smtp  # noqa: F401 - the partners' mail server, scanned at the end
from tests.notifications.peers import SmtpPeer
from tests.store.conftest import Database, FakeClock, _postgres, _sqlite

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
NL = ZoneInfo("Europe/Amsterdam")
KEY = b"portal-tests-key-0123456789abcdef-0123456789"
PORTAL = "http://127.0.0.1:4300"
MUNICIPALITY = "portaaldorp"
CASE = "PD-2026-0316"
PERSON = {"naam": "Amina Yusuf", "bsn": "999990019"}
"""Made up (tests/notifications/privacy_scan.py knows the name): it must never reach a page or a message."""
LINK = re.compile(r"(http://\S+/l/(\S+))")


def definitions_folder(target: Path) -> Path:
    """The project's catalogue and definitions, with the test municipality's profile."""
    target.mkdir(parents=True, exist_ok=True)
    for path in (ROOT / "process_definitions").glob("*.yaml"):
        shutil.copy(path, target / path.name)
    shutil.copy(HERE / "fixtures" / "portaaldorp.yaml", target / "portaaldorp.yaml")
    return target


@pytest.fixture(scope="session")
def definitions_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return definitions_folder(tmp_path_factory.mktemp("definitions"))


@pytest.fixture(scope="session")
def library(definitions_dir: Path) -> Library:
    library, problems = validate_paths([definitions_dir])
    assert problems == []
    return library


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _engine(databases: Iterator[Database]) -> Iterator[sa.Engine]:
    database = next(databases)
    engine = database.engine()
    upgrade(engine)
    yield engine
    engine.dispose()
    databases.close()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    """A migrated SQLite case store."""
    yield from _engine(_sqlite(tmp_path))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A migrated case store: SQLite, and a fresh PostgreSQL schema when REGIE_TEST_DATABASE_URL is set."""
    yield from _engine(_sqlite(tmp_path) if request.param == "sqlite" else _postgres())


@dataclass
class Recorded:
    """Our own `app.delivery.Channels`, recording what would go to Prefect."""

    opened: list[InboxEntry] = field(default_factory=list)
    closed: list[tuple[str, str, str]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    async def open_tasks(self, entries: Sequence[InboxEntry]) -> None:
        self.opened.extend(entries)

    async def close_task(self, case_ref: str, task_id: str, reason: Literal["completed", "cancelled"]) -> str:
        self.closed.append((case_ref, task_id, reason))
        return "closed"

    async def publish_events(self, events: Sequence[tuple[EmitEvent, str]], occurred: datetime) -> None:
        self.events.extend(e.event for e, _ in events)


@dataclass
class Partners:
    """Portaaldorp: its case service, partner links and notifier, and the partners' mailboxes."""

    service: CaseService
    links: PartnerLinks
    notifier: Any
    smtp: SmtpPeer
    clock: FakeClock
    channels: Recorded = field(default_factory=Recorded)

    def at(self, day: Any, hour: int = 9) -> None:
        """Move the clock to `hour` o'clock Dutch time on `day` (a date or ISO text)."""
        day = day if not isinstance(day, str) else datetime.fromisoformat(day).date()
        self.clock.now = datetime.combine(day, time(hour, 0), tzinfo=NL)

    def replay(self, scenario: str, *, stop_before: str, case_ref: str = CASE) -> None:
        """Drive a case through a case file of tests/scenarios (timers firing on the way) up to a step."""
        case = load_yaml((ROOT / "tests" / "scenarios" / f"{scenario}.yaml").read_text(encoding="utf-8"))
        self.at(case["start"])
        self.service.start_trajectory(case_ref=case_ref, definition=case["definition"], municipality=MUNICIPALITY,
                                      start_message=case.get("start_message"), personal=PERSON, actor="kr-017")
        for event in case["events"]:
            if event.get("complete") == stop_before:
                return
            self.at(event["on"])
            self.service.fire_due_timers()
            if "complete" in event:
                self.service.complete_step(case_ref=case_ref, task=event["complete"], data=event.get("data", {}),
                                           actor="kr-017")
            else:
                self.service.deliver_message(case_ref=case_ref, message=event["message"],
                                             data=event.get("data", {}), actor="kr-017")
        raise AssertionError(f"{scenario} never completes {stop_before}")

    def deliver(self) -> None:
        """Deliver the outbox: messages to the partners (with links), inbox runs and events recorded."""
        import asyncio

        asyncio.run(drain(self.service, self.notifier, self.channels, now=self.clock()))

    def mails_to(self, address: str) -> list[Any]:
        return self.smtp.to(address)

    def link_in_last_mail_to(self, address: str) -> str:
        """The partner-page link in the newest mail to `address`."""
        mails = self.mails_to(address)
        assert mails, f"no mail to {address}"
        found = LINK.search(mails[-1].text)
        assert found, f"no partner link in the mail to {address}:\n{mails[-1].text}"
        return found.group(1)


def token_of(url: str) -> str:
    return url.rsplit("/l/", 1)[1]


@pytest.fixture(scope="session")
def directories(library: Library) -> dict[str, PartnerDirectory]:
    """The partner lists, checked once: their URLs keep ${TEST_SMTP_PORT} until a message is sent."""
    return load_directories(library.profiles.values(), library.catalog, {"TEST_SMTP_PORT": "25"})


@pytest.fixture(scope="session")
def renderer(library: Library) -> MessageRenderer:
    return MessageRenderer(library.catalog)


@pytest.fixture
def partners_on(library: Library, directories, renderer, smtp: SmtpPeer, clock: FakeClock):
    """Build Portaaldorp on a given case-store engine: the notifier `app.bootstrap.build_notifier` makes,
    with the partner lists and templates loaded once per session."""

    def make(engine: sa.Engine, *, lifetime: str = "P14D") -> Partners:
        env = {"TEST_SMTP_PORT": str(smtp.port)}
        service = CaseService(engine, library, clock)
        links = PartnerLinks(service, key=lambda: KEY, base_url=PORTAL, lifetime=lifetime, env=env)
        notifier = AppriseNotifier(directories=directories, renderer=renderer, ledger=SqlDeliveryLedger(engine),
                                   cases=StoreRouting(engine), clock=clock, env=env, links=links.for_notice)
        return Partners(service=service, links=links, notifier=notifier, smtp=smtp, clock=clock)

    return make


@pytest.fixture
def partners(partners_on, engine: sa.Engine) -> Partners:
    """Portaaldorp on SQLite."""
    return partners_on(engine)


@pytest.fixture
def school(partners: Partners) -> Partners:
    """A gezinsmigrant in Portaaldorp (the Nederweert case file), at the moment the language school must
    start the lessons: Taalschool Delta has a mail with its link."""
    return lessons_to_start(partners)


def lessons_to_start(partners: Partners) -> Partners:
    """Drive the case to the language school's step and deliver the school's mail. (The messages to
    everyone else count as sent long ago: sending them all costs a second per test and shows nothing new.)"""
    partners.replay("lesrooster_gewijzigd", stop_before="lessen_starten")
    for item in partners.service.pending_commands(1000, types=["notify"]):
        if item.command().role != "taalaanbieder":
            partners.service.mark_delivered(item.key)
    partners.deliver()
    return partners

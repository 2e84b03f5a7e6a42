"""A fair outbox: rows waiting to retry never hide ready rows, a failing partner channel delays no other,
and drains running at once share the work without failing. Real SMTP and HTTP receivers, real databases."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.cases import CaseService
from app.delivery import LEASE, drain
from engine.commands import EmitEvent
from integrations.apprise_send import IDEMPOTENCY_FIELD, IDEMPOTENCY_HEADER, message_id
from store.db import upgrade
from tests.reliability.conftest import RecordingChannels, notice, notifier_for, queue, seed_cases
from tests.store.conftest import PG_ENV, FakeClock, _postgres, _sqlite, count

CASE = "TST-2026-0001"
SCHOOL = {"partner_taalaanbieder": "taalschool_delta"}  # a webhook (json://.../delta)
BAKERY = {"partner_werkgever": "bakkerij_de_korenschoof"}  # a mailbox (hr@korenschoof.example)


def to_school(n: int):
    return notice(CASE, n, "taalaanbieder").model_copy(update={"context": {"case_ref": CASE, **SCHOOL}})


def to_bakery(n: int):
    return notice(CASE, n, "werkgever").model_copy(update={"context": {"case_ref": CASE, **BAKERY}})


def run_drain(service, notifier, clock, batch=100):
    return asyncio.run(drain(service, notifier, RecordingChannels(), now=clock.now, batch=batch))


@pytest.fixture
def one_database(tmp_path) -> Iterator[sa.Engine]:
    """PostgreSQL when REGIE_TEST_DATABASE_URL is set (production's database), else a SQLite file: once."""
    databases = _postgres() if os.environ.get(PG_ENV) else _sqlite(tmp_path)
    engine = next(databases).engine()
    upgrade(engine)
    yield engine
    engine.dispose()
    databases.close()


def test_600_messages_to_a_failing_webhook_queued_first_hold_up_none_of_300_mails(
        one_database, library, clock: FakeClock, smtp, hooks, env, tmp_path):
    # The issue's own sizes, on one database only: about 20 s, most of it apprise's e-mail plugin building
    # a TLS context for every mail it sends (35 ms each, also without TLS) and one commit per ledger write.
    engine = one_database
    service = CaseService(engine, library, clock)
    seed_cases(engine, library, [CASE])
    queue(engine, [to_school(n) for n in range(600)] + [to_bakery(n) for n in range(600, 900)])
    notifier = notifier_for(engine, library, clock, env, tmp_path, escalate_after_failures=3, retry_base_seconds=60)
    hooks.status = 500  # the language school's webhook is down

    first = run_drain(service, notifier, clock)
    again = run_drain(service, notifier, clock)  # nothing is ready: the waiting rows hide nothing, cost nothing

    mails = smtp.to("hr@korenschoof.example")
    assert len(mails) == 300 and len({m.headers["Message-ID"] for m in mails}) == 300
    assert hooks.requests == 3  # after 3 failures in a row the channel is down: no more requests to it
    assert (first.delivered, first.waiting, len(first.failed)) == (300, 597, 3)
    assert (again.delivered, again.waiting, again.failed) == (0, 0, {})
    [escalation] = smtp.to("coordinator@testdorp.example")  # by mail: the other kind of channel
    assert escalation.subject == "Storing: berichten aan Taalschool Delta via json komen niet aan"
    box = service.outbox_summary(50)
    assert (box.ready, box.waiting, box.given_up) == (0, 600, 0)

    hooks.status = 200  # the webhook is back; its next probe is a minute after the third failure
    clock.advance(minutes=1)
    recovered = run_drain(service, notifier, clock)

    posts = hooks.at("delta")
    assert recovered.delivered == 600 and len(posts) == 600
    assert len({p.headers[IDEMPOTENCY_HEADER] for p in posts}) == 600
    assert all(p.payload[IDEMPOTENCY_FIELD] == p.headers[IDEMPOTENCY_HEADER] for p in posts)
    assert [m.subject for m in smtp.to("coordinator@testdorp.example")][1:] == [
        "Hersteld: berichten aan Taalschool Delta via json komen weer aan"]
    # One note per message that waited for the channel; the first two failed before it counted as down.
    assert count(engine, "case_history", case_ref=CASE, kind="notification_waiting") == 598
    assert service.pending_commands(1000) == []


def test_every_message_carries_its_idempotency_key_to_the_receiver(service, engine, library, clock, smtp, hooks,
                                                                    env, tmp_path):
    seed_cases(engine, library, [CASE])
    queue(engine, [to_school(1), to_bakery(2)])

    run_drain(service, notifier_for(engine, library, clock, env, tmp_path), clock)

    [mail] = smtp.to("hr@korenschoof.example")
    assert mail.headers["Message-ID"] == message_id(f"{CASE}:2:notify/bakkerij_de_korenschoof")
    assert mail.headers["X-Regie-Delivery"] == f"{CASE}:2:notify/bakkerij_de_korenschoof"
    [post] = hooks.at("delta")
    assert post.headers[IDEMPOTENCY_HEADER] == post.payload[IDEMPOTENCY_FIELD] == f"{CASE}:1:notify/taalschool_delta"


@pytest.mark.parametrize("batch", [7])
def test_three_drains_at_once_all_succeed_and_deliver_every_message_once(database, library, clock, smtp, hooks,
                                                                          env, tmp_path, batch):
    setup = database.engine()
    upgrade(setup)
    seed_cases(setup, library, [CASE])
    events = [EmitEvent(key=f"{CASE}:{n}:event", case_ref=CASE, event="timer-fired") for n in range(60)]
    queue(setup, [c for n in range(60) for c in (to_school(2 * n), to_bakery(2 * n + 1), events[n])])
    gate = threading.Barrier(3, timeout=20)

    def drain_in_own_worker(worker: int):
        engine = database.engine()  # each worker its own connections, service and notifier
        try:
            service = CaseService(engine, library, clock)
            notifier = notifier_for(engine, library, clock, env, tmp_path / str(worker))
            channels = RecordingChannels()
            gate.wait()
            report = asyncio.run(drain(service, notifier, channels, now=clock.now, batch=batch))
            report.raise_for_failures()  # a run that found rows held by another drain still succeeds
            return report, channels
        finally:
            engine.dispose()

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(drain_in_own_worker, range(3)))

    assert sum(report.delivered for report, _ in results) == 180
    assert all(report.failed == {} for report, _ in results)
    mails, posts = smtp.to("hr@korenschoof.example"), hooks.at("delta")
    assert len(mails) == len({m.headers["Message-ID"] for m in mails}) == 60
    assert len(posts) == len({p.headers[IDEMPOTENCY_HEADER] for p in posts}) == 60
    published = [key for _, channels in results for key in channels.events]
    assert sorted(published) == sorted(e.key for e in events)
    assert CaseService(setup, library, clock).pending_commands(1000) == []
    setup.dispose()


def test_a_drain_that_finds_every_ready_row_held_by_another_ends_without_failing(service, engine, library, clock,
                                                                                smtp, env, tmp_path):
    seed_cases(engine, library, [CASE])
    queue(engine, [to_bakery(n) for n in range(5)])
    notifier = notifier_for(engine, library, clock, env, tmp_path)
    held = service.claim_commands(100, lease=LEASE, max_attempts=50)  # another drain, then it died

    blocked = run_drain(service, notifier, clock)
    clock.advance(seconds=LEASE.total_seconds())
    after_lease = run_drain(service, notifier, clock)

    assert len(held) == 5
    assert (blocked.delivered, blocked.waiting, blocked.failed) == (0, 0, {})
    assert after_lease.delivered == 5 and len(smtp.to("hr@korenschoof.example")) == 5
    assert LEASE == timedelta(minutes=5)

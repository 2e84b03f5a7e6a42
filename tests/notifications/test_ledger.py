"""The delivery ledger: the SQL ledger and the in-memory fake keep the same promises."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import store.deliveries  # noqa: F401  (registers the table compared below)
from integrations.ledger import Claim, DeliveryMeta, Kind, MemoryLedger, OutageRule, Outcome, backoff
from store.db import alembic_config, upgrade, write_transaction
from store.deliveries import SqlDeliveryLedger
from tests.store.conftest import MONDAY, _postgres, _sqlite

LEASE = timedelta(minutes=5)


def meta(key: str = "TST-1:3:notify", recipient: str = "taalschool_delta") -> DeliveryMeta:
    return DeliveryMeta(message_key=key, recipient=recipient, profile="testgemeente", case_ref="TST-1",
                        role="taalaanbieder", template="bericht", kind=Kind.message)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_ledger(request, tmp_path):
    if request.param == "memory":
        yield MemoryLedger()
        return
    databases = _sqlite(tmp_path) if request.param == "sqlite" else _postgres()
    engine = next(databases).engine()
    upgrade(engine)
    yield SqlDeliveryLedger(engine)
    engine.dispose()
    databases.close()


def test_a_claimed_delivery_is_held_for_its_sender_until_the_lease_runs_out(any_ledger):
    first, row = any_ledger.claim(meta(), MONDAY, LEASE)
    second, _ = any_ledger.claim(meta(), MONDAY + timedelta(minutes=1), LEASE)
    after_lease, _ = any_ledger.claim(meta(), MONDAY + LEASE, LEASE)

    assert (first, second, after_lease) == (Claim.go, Claim.busy, Claim.go)
    assert row.outcome is Outcome.sending and row.attempts == 0


def test_a_delivered_message_is_never_claimed_again(any_ledger):
    any_ledger.claim(meta(), MONDAY, LEASE)
    any_ledger.succeeded("TST-1:3:notify", "taalschool_delta", at=MONDAY, service="json")

    answer, row = any_ledger.claim(meta(), MONDAY + timedelta(days=3), LEASE)

    assert answer is Claim.done
    assert (row.outcome, row.attempts, row.service, row.delivered_at) == (Outcome.delivered, 1, "json", MONDAY)


def test_a_failed_delivery_waits_for_its_retry_time_and_counts_its_attempts(any_ledger):
    any_ledger.claim(meta(), MONDAY, LEASE)
    failed = any_ledger.failed("TST-1:3:notify", "taalschool_delta", at=MONDAY, service="mailto",
                               error="connection refused", retry_at=MONDAY + timedelta(minutes=1))

    early, _ = any_ledger.claim(meta(), MONDAY + timedelta(seconds=59), LEASE)
    on_time, _ = any_ledger.claim(meta(), MONDAY + timedelta(minutes=1), LEASE)
    again = any_ledger.failed("TST-1:3:notify", "taalschool_delta", at=MONDAY + timedelta(minutes=1),
                              service="mailto", error="connection refused", retry_at=MONDAY + timedelta(minutes=3))

    assert (early, on_time) == (Claim.wait, Claim.go)
    assert (failed.attempts, again.attempts) == (1, 2)
    assert again.first_attempt_at == MONDAY and again.last_attempt_at == MONDAY + timedelta(minutes=1)
    assert again.error == "connection refused" and again.outcome is Outcome.failed


def test_a_released_claim_can_be_claimed_at_once(any_ledger):
    any_ledger.claim(meta(), MONDAY, LEASE)

    any_ledger.release("TST-1:3:notify", "taalschool_delta")

    assert any_ledger.claim(meta(), MONDAY, LEASE)[0] is Claim.go


def test_a_digest_message_is_queued_once_and_delivered_with_its_digest(any_ledger):
    assert any_ledger.queue(meta(), at=MONDAY, subject="Onderwerp", body="Tekst") is True
    assert any_ledger.queue(meta(), at=MONDAY, subject="Onderwerp", body="Tekst") is False
    queued = any_ledger.queued()

    any_ledger.mark_digested(queued, digest_key="digest:x", at=MONDAY + timedelta(hours=20), service="json")

    row = any_ledger.get("TST-1:3:notify", "taalschool_delta")
    assert [q.subject for q in queued] == ["Onderwerp"]
    assert (row.outcome, row.digest, row.digest_key, row.delivered_at) == \
        (Outcome.delivered, True, "digest:x", MONDAY + timedelta(hours=20))
    assert any_ledger.queued() == []
    assert any_ledger.claim(meta(), MONDAY, LEASE)[0] is Claim.done


def test_an_escalation_is_noted_once(any_ledger):
    any_ledger.claim(meta(), MONDAY, LEASE)

    assert any_ledger.mark_escalated("TST-1:3:notify", "taalschool_delta", at=MONDAY) is True
    assert any_ledger.mark_escalated("TST-1:3:notify", "taalschool_delta", at=MONDAY) is False


def test_rows_are_found_per_case_and_per_message(any_ledger):
    any_ledger.claim(meta(recipient="a"), MONDAY, LEASE)
    any_ledger.claim(meta(recipient="b"), MONDAY, LEASE)
    any_ledger.claim(meta(key="TST-2:1:notify").model_copy(update={"case_ref": "TST-2"}), MONDAY, LEASE)

    assert [r.recipient for r in any_ledger.for_message("TST-1:3:notify")] == ["a", "b"]
    assert [r.message_key for r in any_ledger.for_case("TST-2")] == ["TST-2:1:notify"]


def test_naive_times_are_refused(any_ledger):
    with pytest.raises(ValueError, match="naive"):
        any_ledger.claim(meta(), datetime(2026, 3, 2, 9, 0), LEASE)


def test_backoff_doubles_up_to_its_cap():
    waits = [backoff(n, timedelta(minutes=1), timedelta(minutes=10)) for n in range(1, 7)]

    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8, 10, 10)]


# --- channels and their outages -------------------------------------------------------------------

RULE = OutageRule(failures=3, window=timedelta(hours=4), probe_base=timedelta(minutes=1),
                  probe_max=timedelta(minutes=10))
CHANNEL = "testgemeente/taalschool_delta#1"


def fail(ledger, at, error="json: 500"):
    return ledger.channel_failed(channel=CHANNEL, profile="testgemeente", recipient="taalschool_delta",
                                 service="json", error=error, at=at, rule=RULE)


def test_a_channel_is_down_after_its_third_failure_in_a_row_and_its_outage_is_escalated_once(any_ledger):
    first = [fail(any_ledger, MONDAY + timedelta(minutes=m)) for m in range(3)]

    (before1, after1), _, (before3, after3) = first
    assert before1 is None and (after1.failures, after1.down) == (1, False)
    assert before3 is not None and not before3.down and after3.down
    assert (after3.down_since, after3.next_probe_at) == (MONDAY, MONDAY + timedelta(minutes=3))
    assert list(any_ledger.troubled_channels()) == [CHANNEL]
    assert any_ledger.mark_channel_escalated(CHANNEL, down_since=MONDAY, at=MONDAY) is True
    assert any_ledger.mark_channel_escalated(CHANNEL, down_since=MONDAY, at=MONDAY) is False


def test_a_success_ends_the_outage_and_returns_how_the_channel_was(any_ledger):
    for m in range(4):
        fail(any_ledger, MONDAY + timedelta(minutes=m))

    before = any_ledger.channel_succeeded(CHANNEL, at=MONDAY + timedelta(minutes=9))
    again = any_ledger.channel_succeeded(CHANNEL, at=MONDAY + timedelta(minutes=10))

    assert before is not None and (before.failures, before.down_since) == (4, MONDAY)
    assert again is None and any_ledger.troubled_channels() == {}


def test_a_message_is_noted_as_waiting_for_a_channel_once(any_ledger):
    assert any_ledger.note_waiting(meta(), at=MONDAY) is True
    assert any_ledger.note_waiting(meta(), at=MONDAY + timedelta(minutes=1)) is False
    assert any_ledger.get("TST-1:3:notify", "taalschool_delta").outcome is Outcome.new


def test_when_drains_fail_on_a_channel_at_once_exactly_one_sees_it_go_down(sql_database, sql_engine):
    # On PostgreSQL the row lock decides; on SQLite the writers take turns. Either way: one sees it go down.
    engines = [sql_database.engine() for _ in range(6)]
    gate = threading.Barrier(6, timeout=10)

    def one(engine):
        gate.wait()
        return fail(SqlDeliveryLedger(engine), MONDAY)

    try:
        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(one, engines))
    finally:
        for engine in engines:
            engine.dispose()

    went_down = [after for before, after in results if after.down and not (before and before.down)]
    assert len(went_down) == 1 and sorted(a.failures for _, a in results) == [1, 2, 3, 4, 5, 6]


def test_two_senders_on_two_connections_never_both_get_the_same_delivery(sql_database, sql_engine):
    other = sql_database.engine()
    try:
        answers = [SqlDeliveryLedger(e).claim(meta(), MONDAY, LEASE)[0] for e in (sql_engine, other)]
    finally:
        other.dispose()

    assert sorted(answers) == [Claim.busy, Claim.go]


# --- the migration --------------------------------------------------------------------------------


def _deliveries_only(obj, name, type_, reflected, compare_to) -> bool:
    table = obj.table.name if type_ in ("index", "column", "unique_constraint", "foreign_key_constraint") \
        else name
    return table == "deliveries"


def test_the_deliveries_migration_follows_the_case_store_and_matches_the_model(sql_engine):
    script = ScriptDirectory.from_config(alembic_config())

    with sql_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _deliveries_only})
        differences = compare_metadata(context, SQLModel.metadata)

    assert script.get_revision("0002").down_revision == "0001"
    assert differences == []


def test_downgrading_past_the_deliveries_migration_removes_only_its_table(sql_engine):
    config = alembic_config()

    with write_transaction(sql_engine) as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")

    tables = set(sa.inspect(sql_engine).get_table_names())
    assert "deliveries" not in tables and "outbox" in tables


def test_successes_handed_to_a_claim_are_recorded_with_it(any_ledger):
    """A drained batch records a send that went well together with the next claim (one write each)."""
    from integrations.ledger import Succeeded

    any_ledger.claim(meta("TST-1:3:notify"), MONDAY, LEASE)
    answer, _ = any_ledger.claim(meta("TST-1:4:notify"), MONDAY, LEASE,
                                 [Succeeded("TST-1:3:notify", "taalschool_delta", MONDAY, "json")])
    assert answer is Claim.go
    first = any_ledger.get("TST-1:3:notify", "taalschool_delta")
    assert (first.outcome, first.attempts, first.delivered_at, first.service) == \
        (Outcome.delivered, 1, MONDAY, "json")
    assert any_ledger.get("TST-1:4:notify", "taalschool_delta").outcome is Outcome.sending
    any_ledger.succeeded_many([Succeeded("TST-1:4:notify", "taalschool_delta", MONDAY, "json")])
    assert any_ledger.get("TST-1:4:notify", "taalschool_delta").outcome is Outcome.delivered


def test_a_chunk_is_claimed_in_one_write_answered_in_order_with_the_successes_recorded_first(any_ledger):
    """A drain claims a chunk of deliveries at once: each gets the answer a claim of its own would get."""
    from integrations.ledger import Succeeded

    any_ledger.claim(meta("TST-1:1:notify"), MONDAY, LEASE)  # sent by this drain, recorded with the chunk
    any_ledger.claim(meta("TST-1:2:notify"), MONDAY, LEASE)  # held by another drain
    any_ledger.claim(meta("TST-1:3:notify"), MONDAY, LEASE)
    any_ledger.failed("TST-1:3:notify", "taalschool_delta", at=MONDAY, service="json", error="500",
                      retry_at=MONDAY + timedelta(minutes=1))
    chunk = [meta("TST-1:1:notify"), meta("TST-1:2:notify"), meta("TST-1:3:notify"), meta("TST-1:4:notify"),
             meta("TST-1:4:notify", "werkgever")]

    answers = any_ledger.claim_many(chunk, MONDAY + timedelta(seconds=30), LEASE,
                                    [Succeeded("TST-1:1:notify", "taalschool_delta", MONDAY, "json")])

    assert [a for a, _ in answers] == [Claim.done, Claim.busy, Claim.wait, Claim.go, Claim.go]
    assert [(r.message_key, r.recipient) for _, r in answers] == [(m.message_key, m.recipient) for m in chunk]
    assert answers[3][1].outcome is Outcome.sending
    assert answers[4][1].claimed_until == MONDAY + timedelta(seconds=30) + LEASE


def test_a_delivery_asked_for_twice_in_one_chunk_is_held_once(any_ledger):
    answers = any_ledger.claim_many([meta(), meta()], MONDAY, LEASE)

    assert [a for a, _ in answers] == [Claim.go, Claim.busy]

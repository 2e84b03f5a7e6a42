"""Delivery semantics under crashes: a drain killed (SIGKILL) right after a message reached the receiver,
again and again, then one final drain. Real processes, real SMTP and HTTP receivers, a real database.

The receiver kills the drain while it holds the message, before the drain hears it arrived: the worst
moment (the send happened, its record did not). Promised (engine/deliveries.py, docs/reliability.md):
nothing is lost, a crash sends again at most the chunk of deliveries the drain had claimed together
(`claim_chunk`), and a repeat carries the same idempotency key as its original (the e-mail's
Message-ID, the webhook's Idempotency-Key).

With CHUNK = 2 and the kill at the 4th message of a run, each kill falls on the last message of a chunk
(the worst case: the whole chunk sent, none of it recorded), and each run still gets further than the
one before it (the chunk before the kill was recorded with the claim of the chunk that was killed).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from integrations.apprise_send import DELIVERY_HEADER, IDEMPOTENCY_HEADER, message_id
from store.db import upgrade
from tests.reliability.conftest import notice, queue, seed_cases
from tests.store.conftest import MONDAY

WORKER = Path(__file__).resolve().parent / "drain_worker.py"
CASES = [f"TST-2026-{n:04d}" for n in range(1, 13)]
KILLS = 6
KILL_AT = 4
"""the drain is killed when the receivers got the 4th message of its run"""
CHUNK = 2
"""deliveries claimed together (the delivery policy's `claim_chunk`): what one kill may send again"""
RECIPIENTS = {"klantregie_testdorp", "klantregie_backoffice"}  # the klantregisseur: by mail and by webhook


class Killer:
    """Kills the running drain when the receivers got its `KILL_AT`-th message, `limit` times in all."""

    def __init__(self, limit: int = KILLS) -> None:
        self.lock = threading.Lock()
        self.limit = limit
        self.pid: int | None = None
        self.received = 0
        self.kills = 0

    def run(self, pid: int) -> None:
        with self.lock:
            self.pid, self.received = pid, 0

    def __call__(self, _message: object) -> None:
        with self.lock:
            self.received += 1
            if self.pid is not None and self.received == KILL_AT and self.kills < self.limit:
                os.kill(self.pid, signal.SIGKILL)  # the receiver has it; the drain never hears so
                self.kills += 1


def test_a_drain_killed_right_after_sends_loses_nothing_and_repeats_at_most_its_chunk_per_kill_with_the_same_key(
        database, library, smtp, hooks, env, tmp_path):
    engine = database.engine()
    upgrade(engine)
    seed_cases(engine, library, CASES)
    queue(engine, [notice(ref, 5, "klantregisseur") for ref in CASES])
    killer = Killer()
    smtp.on_receive = hooks.on_receive = killer
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), database.url, database.search_path or "", str(tmp_path), json.dumps(env),
         str(CHUNK)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    exits = []
    try:
        now = MONDAY
        while killer.kills < KILLS and len(exits) < 30:
            exits.append(_drain(worker, killer, now))
            # The next drain comes after the killed one's claims ran out (outbox and ledger: 5 minutes).
            now += timedelta(minutes=6)
        killer.pid = None
        exits.append(_drain(worker, killer, now))  # the final drain, left alone
    finally:
        worker.stdin.close()
        worker.wait(timeout=30)

    received = [(m.headers[DELIVERY_HEADER], m.headers["Message-ID"], m.subject) for m in smtp.mails] + \
        [(p.headers[DELIVERY_HEADER], p.headers[IDEMPOTENCY_HEADER], p.payload["title"]) for p in hooks.posts]
    expected = {f"{ref}:5:notify/{who}" for ref in CASES for who in RECIPIENTS}
    repeats = len(received) - len({key for key, _, _ in received})
    assert killer.kills == KILLS and exits.count(-signal.SIGKILL) == KILLS and exits[-1] == 0
    assert {key for key, _, _ in received} == expected  # 0 lost
    assert KILLS < repeats <= KILLS * CHUNK  # the chunk in hand at each kill, at most; more than one message
    for key, carried, subject in received:  # every copy, repeat or not, carries the message's own key
        assert carried == (message_id(key) if key.endswith("/klantregie_testdorp") else key)
        assert subject == f"Bericht over zaak {key.split(':')[0]}"
    copies = Counter(key for key, _, _ in received)
    assert max(copies.values()) <= 2  # a repeat is recorded before the next kill: never a third copy
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")).scalar_one() == 0
    engine.dispose()


def _drain(worker: subprocess.Popen, killer: Killer, now) -> int:
    assert worker.stdin is not None and worker.stdout is not None
    worker.stdin.write(now.isoformat() + "\n")
    worker.stdin.flush()
    started = worker.stdout.readline().split()
    assert started[0] == "pid", started
    killer.run(int(started[1]))
    ended = worker.stdout.readline().split()
    assert ended[0] == "exit", ended
    return int(ended[1])

"""Fault injection, in figures: what was injected, what survived, and what it cost against the same work
without the fault (docs/reliability.md).

    .venv/bin/python benchmarks/reliability.py [--database sqlite --database postgres] [--due 1000]
                                               [--failing 600 --good 300] [--kills 6] [--claim-chunk 2]

Each scenario runs on a fresh store (a SQLite file in a temporary folder, or a fresh PostgreSQL schema,
dropped afterwards), with real local SMTP and HTTP receivers (tests/notifications/peers.py), through the
code paths the flows use (`CaseService.fire_due_timers`, `app.delivery.drain`):

1. poison: `--due` due cases, one of which has a state this version cannot read; one sweep. Baseline:
   the same sweep without the poison.
2. dead channel: `--failing` messages to a webhook that answers 500, queued before `--good` mails to a
   working SMTP server; one drain. Baseline: the `--good` mails alone.
3. outage: a message every 5 s for 2 minutes to a webhook that is down for the first 45 s; a drain
   after each. Counted: escalations and recovery notes to the coordinator, messages delivered once.
4. concurrent drains: 3 drains at once over 3 × `--per-kind` commands (mails, webhook posts, case events).
5. kill loop: a drain killed by SIGKILL right after a message reached the receiver, `--kills` times,
   then a final drain (tests/reliability/drain_worker.py), claiming `--claim-chunk` deliveries per
   write. Counted: lost, repeats (at most the chunk per kill), repeats with another key.

Uses the fixtures' helpers of tests/reliability (benchmarks may import anything). A tiny run is part
of the test suite (tests/reliability/test_reliability_benchmark.py), so this script does not rot.
A little over the house's ~300 lines: the five scenarios share their setup and their report, so one
command reproduces the table in docs/reliability.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from app.cases import CaseService  # noqa: E402
from app.delivery import drain  # noqa: E402
from engine.commands import EmitEvent  # noqa: E402
from engine.validator import validate_paths  # noqa: E402
from integrations.apprise_send import DELIVERY_HEADER, IDEMPOTENCY_HEADER, message_id  # noqa: E402
from store.db import make_engine, upgrade  # noqa: E402
from tests.notifications.conftest import HOOK_TOKEN  # noqa: E402
from tests.notifications.peers import JsonPeer, SmtpPeer  # noqa: E402
from tests.reliability.conftest import (  # noqa: E402
    AFTER_NUDGE,
    CATALOG,
    FIXTURES,
    RecordingChannels,
    notice,
    notifier_for,
    queue,
    seed_cases,
)
from tests.reliability.test_kill_loop import WORKER, Killer, _drain  # noqa: E402
from tests.store.conftest import MONDAY, FakeClock  # noqa: E402

CASE = "TST-2026-0001"
SCHOOL = {"case_ref": CASE, "partner_taalaanbieder": "taalschool_delta"}
BAKERY = {"case_ref": CASE, "partner_werkgever": "bakkerij_de_korenschoof"}


def to(context: dict[str, str], role: str, n: int):
    return notice(CASE, n, role).model_copy(update={"context": context})


# --- stores and peers -------------------------------------------------------------------------------


class Store:
    """A fresh database per scenario: SQLite files in a folder, or PostgreSQL schemas (dropped after)."""

    def __init__(self, kind: str, folder: Path, postgres_url: str):
        self.kind, self.folder, self.postgres_url = kind, folder, postgres_url
        self.url, self.search_path = "", ""

    @contextmanager
    def fresh(self) -> Iterator[sa.Engine]:
        if self.kind == "sqlite":
            self.url, self.search_path = f"sqlite:///{self.folder / f'{uuid.uuid4().hex}.db'}", ""
            engine = make_engine(self.url)
        else:
            self.url, self.search_path = self.postgres_url, f"regie_rel_{uuid.uuid4().hex[:12]}"
            admin = make_engine(self.url)
            with admin.begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{self.search_path}"')
            engine = make_engine(self.url, search_path=self.search_path)
        upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()
            if self.kind == "postgres":
                with admin.begin() as conn:
                    conn.exec_driver_sql(f'DROP SCHEMA "{self.search_path}" CASCADE')
                admin.dispose()

    def engine(self) -> sa.Engine:
        return make_engine(self.url, search_path=self.search_path) if self.search_path else make_engine(self.url)


@contextmanager
def peers() -> Iterator[tuple[SmtpPeer, JsonPeer, dict[str, str]]]:
    smtp, hooks = SmtpPeer().start(), JsonPeer().start()
    try:
        yield smtp, hooks, {"TEST_SMTP_PORT": str(smtp.port), "TEST_JSON_PORT": str(hooks.port),
                            "TEST_HOOK_TOKEN": HOOK_TOKEN}
    finally:
        smtp.stop()
        hooks.stop()


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    result = work()
    return result, time.perf_counter() - began


def run_drain(service: CaseService, notifier: Any, clock: FakeClock, batch: int = 100):
    return asyncio.run(drain(service, notifier, RecordingChannels(), now=clock.now, batch=batch))


# --- the scenarios ----------------------------------------------------------------------------------


def poison(store: Store, library: Any, due: int) -> dict[str, Any]:
    refs = [f"RMD-2026-{i:05d}" for i in range(1, due + 1)]
    results: dict[str, Any] = {}
    for label, poisoned in (("baseline", False), ("poison", True)):
        with store.fresh() as engine:
            seed_cases(engine, library, refs)
            if poisoned:
                with engine.begin() as conn:
                    conn.exec_driver_sql(
                        "UPDATE cases SET state = " + ("jsonb_set(state, '{tokens}', '\"kapot\"')"
                                                       if engine.dialect.name == "postgresql" else
                                                       "json_set(state, '$.tokens', 'kapot')")
                        + f" WHERE case_ref = '{refs[len(refs) // 2]}'")
            service = CaseService(engine, library, FakeClock(AFTER_NUDGE))
            report, seconds = timed(lambda: service.fire_due_timers(batch_size=100))
            again = service.fire_due_timers(batch_size=100)
            results[label] = {"advanced": report.cases_advanced, "stuck": len(report.failed), "seconds": seconds,
                              "second_sweep": again.cases_advanced + len(again.failed)}
    return results


def dead_channel(store: Store, library: Any, folder: Path, failing: int, good: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for label, dead in (("baseline", 0), ("dead channel", failing)):
        with store.fresh() as engine, peers() as (smtp, hooks, env):
            clock = FakeClock()
            service = CaseService(engine, library, clock)
            seed_cases(engine, library, [CASE])
            queue(engine, [to(SCHOOL, "taalaanbieder", n) for n in range(dead)] +
                  [to(BAKERY, "werkgever", n) for n in range(dead, dead + good)])
            notifier = notifier_for(engine, library, clock, env, folder)
            hooks.status = 500
            report, seconds = timed(lambda: run_drain(service, notifier, clock))
            results[label] = {"seconds": seconds, "mails": len(smtp.to("hr@korenschoof.example")),
                              "webhook_requests": hooks.requests, "waiting": report.waiting,
                              "escalations": len(smtp.to("coordinator@testdorp.example"))}
    return results


def outage(store: Store, library: Any, folder: Path) -> dict[str, Any]:
    with store.fresh() as engine, peers() as (smtp, hooks, env):
        clock = FakeClock()
        service = CaseService(engine, library, clock)
        seed_cases(engine, library, [CASE])
        notifier = notifier_for(engine, library, clock, env, folder, retry_base_seconds=10, retry_max_seconds=60)
        start, hooks.status = clock.now, 503
        for n, second in enumerate(range(0, 120, 5)):
            clock.now = start + timedelta(seconds=second)
            hooks.status = 503 if second < 45 else 200
            queue(engine, [to(SCHOOL, "taalaanbieder", n)])
            run_drain(service, notifier, clock)
        told = [m.subject for m in smtp.to("coordinator@testdorp.example")]
        posts = hooks.at("delta")
        return {"messages": 24, "delivered": len({p.headers[IDEMPOTENCY_HEADER] for p in posts}),
                "copies": len(posts), "escalations": sum(s.startswith("Storing") for s in told),
                "recoveries": sum(s.startswith("Hersteld") for s in told)}


def concurrent(store: Store, library: Any, folder: Path, per_kind: int, drains: int = 3) -> dict[str, Any]:
    with store.fresh() as setup, peers() as (smtp, hooks, env):
        clock = FakeClock()
        seed_cases(setup, library, [CASE])
        events = [EmitEvent(key=f"{CASE}:{n}:event", case_ref=CASE, event="timer-fired") for n in range(per_kind)]
        queue(setup, [c for n in range(per_kind) for c in (to(SCHOOL, "taalaanbieder", 2 * n),
                                                     to(BAKERY, "werkgever", 2 * n + 1), events[n])])
        gate, outcomes, published = threading.Barrier(drains, timeout=30), [], []

        def one(worker: int) -> None:
            engine = store.engine()
            try:
                service = CaseService(engine, library, clock)
                notifier = notifier_for(engine, library, clock, env, folder / str(worker))
                channels = RecordingChannels()
                gate.wait()
                report = asyncio.run(drain(service, notifier, channels, now=clock.now, batch=7))
                outcomes.append(("ok" if not report.failed else "failed", report.delivered))
                published.extend(channels.events)
            except Exception as exc:  # counted as a failed run, which is what is measured
                outcomes.append((f"error {type(exc).__name__}", 0))
            finally:
                engine.dispose()

        threads = [threading.Thread(target=one, args=(n,)) for n in range(drains)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        received = [m.headers["Message-ID"] for m in smtp.mails] + [p.headers[IDEMPOTENCY_HEADER] for p in hooks.posts]
        return {"runs": drains, "succeeded": sum(o == "ok" for o, _ in outcomes), "commands": 3 * per_kind,
                "delivered": sum(n for _, n in outcomes), "copies": len(received) + len(published),
                "distinct": len(set(received)) + len(set(published)), "per_run": [n for _, n in outcomes]}


def kill_loop(store: Store, library: Any, folder: Path, kills: int, chunk: int) -> dict[str, Any]:
    refs = [f"TST-2026-{n:04d}" for n in range(1, 13)]
    with store.fresh() as engine, peers() as (smtp, hooks, env):
        seed_cases(engine, library, refs)
        queue(engine, [notice(ref, 5, "klantregisseur") for ref in refs])
        killer = Killer(kills)
        smtp.on_receive = hooks.on_receive = killer
        worker = subprocess.Popen([sys.executable, str(WORKER), store.url, store.search_path, str(folder),
                                   json.dumps(env), str(chunk)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        exits, now = [], MONDAY
        try:
            while killer.kills < kills and len(exits) < 40:
                exits.append(_drain(worker, killer, now))
                now += timedelta(minutes=6)
            killer.pid = None
            exits.append(_drain(worker, killer, now))
        finally:
            assert worker.stdin is not None
            worker.stdin.close()
            worker.wait(timeout=30)
        received = [(m.headers[DELIVERY_HEADER], m.headers["Message-ID"]) for m in smtp.mails] + \
            [(p.headers[DELIVERY_HEADER], p.headers[IDEMPOTENCY_HEADER]) for p in hooks.posts]
        expected = {f"{ref}:5:notify/{who}" for ref in refs for who in ("klantregie_testdorp", "klantregie_backoffice")}
        keys = {key for key, _ in received}
        wrong = sum(carried != (message_id(key) if key.endswith("testdorp") else key) for key, carried in received)
        return {"deliveries": len(expected), "kills": exits.count(-signal.SIGKILL), "runs": len(exits), "chunk": chunk,
                "lost": len(expected - keys), "repeats": len(received) - len(keys), "other_key": wrong}


# --- the report -------------------------------------------------------------------------------------


def report(kind: str, r: dict[str, Any], args: argparse.Namespace) -> str:
    p, d, o, c, k = r["poison"], r["dead"], r["outage"], r["concurrent"], r["kills"]
    rate = lambda x: f"{x['advanced'] / x['seconds']:,.0f}"  # noqa: E731
    lines = [
        f"#### {kind}", "",
        "| injected | survived | cost against the same work without the fault |", "|---|---|---|",
        f"| 1 unreadable case among {args.due:,} due, one sweep | {p['poison']['advanced']:,} advanced, "
        f"{p['poison']['stuck']} set aside; next sweep touches {p['poison']['second_sweep']} | "
        f"{p['poison']['seconds']:.2f} s ({rate(p['poison'])} cases/s) vs {p['baseline']['seconds']:.2f} s "
        f"({rate(p['baseline'])} cases/s) |",
        f"| {args.failing} messages to a webhook answering 500, queued before {args.good} mails; one drain | "
        f"{d['dead channel']['mails']} of {args.good} mails out; the webhook got "
        f"{d['dead channel']['webhook_requests']} requests, {d['dead channel']['waiting']} messages wait; "
        f"{d['dead channel']['escalations']} escalation | {d['dead channel']['seconds']:.1f} s vs "
        f"{d['baseline']['seconds']:.1f} s for the {args.good} mails alone |",
        f"| webhook down for 45 s, a message every 5 s for 2 minutes | {o['delivered']} of {o['messages']} "
        f"delivered ({o['copies']} copies); {o['escalations']} escalation, {o['recoveries']} recovery note | – |",
        f"| {c['runs']} drains at once over {c['commands']} commands | {c['succeeded']} of {c['runs']} runs "
        f"succeeded; {c['delivered']} delivered ({' + '.join(map(str, c['per_run']))}), {c['copies']} copies of "
        f"{c['distinct']} distinct | – |",
        f"| SIGKILL of the drain right after a send, {k['kills']} times, then a final drain | {k['lost']} of "
        f"{k['deliveries']} lost; {k['repeats']} repeats (≤ {k['kills']} kills × chunk of {k['chunk']}), "
        f"{k['other_key']} with another key; {k['runs']} drain runs | – |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", action="append", choices=["sqlite", "postgres"])
    parser.add_argument("--postgres-url", default=os.environ.get("REGIE_TEST_DATABASE_URL",
                                                                 "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--failing", type=int, default=600)
    parser.add_argument("--good", type=int, default=300)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--claim-chunk", type=int, default=2,
                        help="deliveries the killed drains claim per write (what one kill may repeat)")
    parser.add_argument("--per-kind", type=int, default=60)
    args = parser.parse_args(argv)
    library, problems = validate_paths([CATALOG, ROOT / "tests" / "fixtures" / "definitions",
                                        FIXTURES / "testgemeente.yaml"])
    if problems:
        raise SystemExit("\n".join(map(str, problems)))
    print(f"Run on {datetime.now(UTC):%Y-%m-%d} with `.venv/bin/python benchmarks/reliability.py --due {args.due} "
          f"--failing {args.failing} --good {args.good} --kills {args.kills} --claim-chunk {args.claim_chunk} "
          f"--per-kind {args.per_kind}`.\n")
    with tempfile.TemporaryDirectory(prefix="regie-rel-") as name:
        folder = Path(name)
        for kind in args.database or ["sqlite"]:
            store = Store(kind, folder, args.postgres_url)
            results = {"poison": poison(store, library, args.due),
                       "dead": dead_channel(store, library, folder, args.failing, args.good),
                       "outage": outage(store, library, folder),
                       "concurrent": concurrent(store, library, folder, args.per_kind),
                       "kills": kill_loop(store, library, folder, args.kills, args.claim_chunk)}
            print(report("SQLite" if kind == "sqlite" else "PostgreSQL", results, args), flush=True)
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

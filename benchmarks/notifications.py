"""Notification delivery benchmark: messages per second to a local JSON receiver and a local SMTP server.

    .venv/bin/python benchmarks/notifications.py [--messages 1000] [--smtp-messages 300] [--threads 8]
                                                 [--repeat 3] [--drain 10000] [--append docs/benchmarks.md]
                                                 [--drain-only] [--claim-chunk 25]

Every message goes the whole way through `AppriseNotifier.deliver`: route the role through the partner
directory, render the Dutch template (with the privacy guard), claim the delivery in the ledger, send
it through a fresh apprise plugin, record the outcome. The receivers run in a separate process (so
they do not share this process's interpreter lock) and count what they accept; the benchmark checks
that count against what was sent, so every number is of messages that really arrived.

1. JSON (`json://`) and SMTP (`mailto://`, aiosmtpd) with the in-memory ledger: sequential, and
   spread over `--threads` threads; plus plain apprise alone (no routing, rendering or ledger) as the
   baseline the notifier's overhead is measured against. Each is run `--repeat` times, interleaved
   (so a busy moment of the machine does not hit one row only); the median and the range are shown.
2. The outbox drain: `--drain` NotifyRole commands queued in the case store's outbox (a SQLite file and
   a PostgreSQL schema, migrated by alembic, 100 commands per case, cases in the `cases` table), drained
   by `app.delivery.drain`, the code the deliver-notifications flow runs: claim 500 outbox rows, hand
   them to the notifier in its batch mode (case facts and channel health read once per batch, the SQL
   delivery ledger's claims `--claim-chunk` deliveries per light commit, with the previous chunk's
   successes), record the batch's outcomes in one transaction. Compare with "json: apprise alone,
   sequential". `--drain-only` measures only that baseline and the drains, a round of each in turn.

Longer than the house's ~300 lines on purpose: the measured path, its same-run baseline and the report
that compares them stay in one file, so one command reproduces a row of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import apprise  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from app import delivery  # noqa: E402
from benchmarks.scratch import scratch_schema  # noqa: E402
from app.bootstrap import StoreRouting  # noqa: E402
from app.cases import CaseService  # noqa: E402
from engine.commands import NotifyRole  # noqa: E402
from engine.definitions import Profile  # noqa: E402
from engine.loader import load_library  # noqa: E402
from integrations.apprise_notifier import AppriseNotifier, StaticCases  # noqa: E402
from integrations.apprise_send import send_with_apprise  # noqa: E402
from integrations.directory import load_directory  # noqa: E402
from integrations.ledger import MemoryLedger  # noqa: E402
from integrations.messages import MessageRenderer  # noqa: E402
from integrations.policy import DeliveryPolicy  # noqa: E402
from store.db import make_engine, upgrade, write_transaction  # noqa: E402
from store.deliveries import SqlDeliveryLedger  # noqa: E402
from store.writes import cases, outbox  # noqa: E402

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
CONTEXT = {"case_ref": "", "step": "klantprofiel", "step_name": "Klantprofiel ontvangen", "task_id": "t1",
           "role": "klantregisseur", "instructions": "Bevestig dat het klantprofiel van het COA binnen is.",
           "due_on": "2026-03-16"}


# --- receivers (in a child process) --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _json_receiver(port: int, count: Any, ready: Any) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            with count.get_lock():
                count.value += 1
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    ready.set()
    server.serve_forever()


def _smtp_receiver(port: int, count: Any, ready: Any) -> None:
    from aiosmtpd.controller import Controller

    class Counter:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            with count.get_lock():
                count.value += 1
            return "250 OK"

    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    asyncio.new_event_loop().run_forever()


class Receiver:
    """A receiver in its own process, with a shared count of messages it accepted."""

    def __init__(self, target: Callable[..., None]):
        self.port = _free_port()
        self.count = multiprocessing.Value("i", 0)
        ready = multiprocessing.Event()
        self.process = multiprocessing.Process(target=target, args=(self.port, self.count, ready), daemon=True)
        self.process.start()
        if not ready.wait(timeout=30):
            raise RuntimeError(f"{target.__name__} did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(timeout=10)


# --- the notifier under test ----------------------------------------------------------------------


def profile(json_port: int, smtp_port: int) -> Profile:
    return Profile(kind="profile", id="bench", name="Benchmark", partners={
        "coordinator": [{"id": "team", "organisation": "Team", "urls": [f"json://127.0.0.1:{json_port}/team"]}],
        "klantregisseur": [{"id": "klantregie_json", "organisation": "Klantregie",
                            "urls": [f"json://127.0.0.1:{json_port}/klantregie"]}],
        "inkomen": [{"id": "inkomen_mail", "organisation": "Werk en Inkomen",
                     "urls": [f"mailto://127.0.0.1:{smtp_port}?mode=insecure&from=regie@bench.example"
                              f"&to=inkomen@bench.example"]}],
    })


def notifier(catalog: Any, bench_profile: Profile, ledger: Any, cases_lookup: Any,
             policy: DeliveryPolicy | None = None) -> AppriseNotifier:
    return AppriseNotifier(directories={"bench": load_directory(bench_profile, catalog, {})},
                           renderer=MessageRenderer(catalog), ledger=ledger, cases=cases_lookup,
                           default_profile="bench", clock=lambda: NOW, policy=policy,
                           env={})


def command(n: int, role: str, run: str) -> NotifyRole:
    case_ref = f"BEN-{n // 100:05d}"
    return NotifyRole(key=f"{run}:{case_ref}:{n}:notify", case_ref=case_ref, role=role, template="taak_geopend",
                      context={**CONTEXT, "case_ref": case_ref, "role": role})


def timed(receiver: Receiver, expected: int, work: Callable[[], None]) -> float:
    before = receiver.count.value
    start = time.perf_counter()
    work()
    elapsed = time.perf_counter() - start
    got = receiver.count.value - before
    if got != expected:
        raise RuntimeError(f"receiver accepted {got} messages, expected {expected}")
    return expected / elapsed


def deliver_all(target: AppriseNotifier, commands: list[NotifyRole], threads: int) -> None:
    if threads <= 1:
        for c in commands:
            target.deliver(c)
        return
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(target.deliver, commands))


def apprise_alone(url: str, n: int, threads: int) -> None:
    from integrations.messages import RenderedMessage

    asset = apprise.AppriseAsset(app_id="Regie")
    message = RenderedMessage("taak_geopend", "nl", "Nieuwe taak voor zaak BEN-1", "Tekst\n" * 6)

    def one(i: int) -> None:
        ok, _, error = send_with_apprise(url, message, f"base/{i}", asset)
        if not ok:
            raise RuntimeError(error)

    if threads <= 1:
        for i in range(n):
            one(i)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(n)))


# --- the outbox drain -----------------------------------------------------------------------------


def fill_outbox(engine: sa.Engine, n: int, run: str) -> None:
    refs = sorted({command(i, "klantregisseur", run).case_ref for i in range(n)})
    case_rows = [{"case_ref": ref, "municipality": "bench", "definition": "bench@1", "profile": "bench",
                  "status": "active", "phase": None, "state": {"data": {}}, "version": 1, "next_due_at": None,
                  "created_at": NOW, "updated_at": NOW} for ref in refs]
    rows = []
    for i in range(n):
        c = command(i, "klantregisseur", run)
        rows.append({"case_ref": c.case_ref, "key": c.key, "type": c.type, "payload": c.model_dump(mode="json"),
                     "created_at": NOW, "attempts": 0})
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(cases), case_rows)
        conn.execute(sa.insert(outbox), rows)


class NoChannels:
    """The drain's Prefect channels; the benchmark's outbox holds notices only, so none is ever used."""

    async def open_tasks(self, entries: Any) -> None:
        raise AssertionError("no inbox entries in this benchmark")

    async def close_task(self, case_ref: str, task_id: str, reason: str) -> Any:
        raise AssertionError("no inbox entries in this benchmark")

    async def publish_events(self, events: Any, occurred: datetime) -> None:
        raise AssertionError("no events in this benchmark")


def drain(engine: sa.Engine, library: Any, target: AppriseNotifier) -> int:
    """The outbox drained as the deliver-notifications flow drains it (`app.delivery.drain`)."""
    service = CaseService(engine, library, clock=lambda: NOW)
    report = asyncio.run(delivery.drain(service, target, NoChannels(), now=NOW, batch=500, max_batches=10_000))
    report.raise_for_failures()
    return report.delivered


@contextmanager
def store(kind: str, postgres_url: str) -> Iterator[sa.Engine]:
    """A fresh case store: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            engine = make_engine(f"sqlite:///{Path(folder) / 'regie.db'}")
            try:
                yield engine
            finally:
                engine.dispose()
        return
    with scratch_schema(postgres_url) as (schema, _):
        engine = make_engine(postgres_url, search_path=schema)
        try:
            yield engine
        finally:
            engine.dispose()


# --- main -----------------------------------------------------------------------------------------


DATABASES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def run(messages: int, smtp_messages: int, threads: int, repeat: int, drain_n: int, databases: list[str],
        postgres_url: str, drain_only: bool = False, policy: DeliveryPolicy | None = None) -> dict[str, list[float]]:
    library, problems = load_library([ROOT / "process_definitions" / "catalog.yaml"])
    if problems or library.catalog is None:
        raise SystemExit(f"catalogue problems: {problems}")
    catalog = library.catalog
    json_rx, smtp_rx = Receiver(_json_receiver), Receiver(_smtp_receiver)
    results: dict[str, list[float]] = {}
    try:
        bench_profile = profile(json_rx.port, smtp_rx.port)
        json_url = f"json://127.0.0.1:{json_rx.port}/base"
        smtp_url = f"mailto://127.0.0.1:{smtp_rx.port}?mode=insecure&from=regie@bench.example&to=x@bench.example"
        apprise_alone(json_url, 5, 1)  # load apprise's plugins and warm the receivers before timing
        apprise_alone(smtp_url, 5, 1)
        assert (json_rx.count.value, smtp_rx.count.value) == (5, 5)
        channels = (("json", json_url, "klantregisseur", json_rx, messages),
                    ("smtp", smtp_url, "inkomen", smtp_rx, smtp_messages))
        for round_ in range(0 if drain_only else repeat):
            for name, url, role, rx, n in channels:
                for label, n_threads in (("sequential", 1), (f"{threads} threads", threads)):
                    print(f"round {round_ + 1}: {name}, {label} ...", file=sys.stderr)
                    results.setdefault(f"{name}: apprise alone, {label}", []).append(
                        timed(rx, n, lambda: apprise_alone(url, n, n_threads)))
                    target = notifier(catalog, bench_profile, MemoryLedger(), StaticCases())
                    commands = [command(i, role, f"{name}-{n_threads}-{round_}") for i in range(n)]
                    results.setdefault(f"{name}: notifier, {label}", []).append(
                        timed(rx, n, lambda: deliver_all(target, commands, n_threads)))
        for round_ in range(repeat):  # interleaved with nothing else: the drain's rounds follow each other
            if drain_only:  # the baseline of the same moment, since no other measurement gives one
                print(f"round {round_ + 1}: json, apprise alone, sequential ...", file=sys.stderr)
                results.setdefault("json: apprise alone, sequential", []).append(
                    timed(json_rx, messages, lambda: apprise_alone(json_url, messages, 1)))
            for kind in databases:
                with store(kind, postgres_url) as engine:
                    upgrade(engine)
                    fill_outbox(engine, drain_n, f"drain-{kind}-{round_}")
                    target = notifier(catalog, bench_profile, SqlDeliveryLedger(engine), StoreRouting(engine),
                                      policy)
                    print(f"round {round_ + 1}: drain {drain_n} on {kind} ...", file=sys.stderr)
                    results.setdefault(f"outbox drain of {drain_n:,} (app.delivery.drain), {DATABASES[kind]}",
                                       []).append(timed(json_rx, drain_n, lambda: _check_drain(
                                           engine, library, target, drain_n)))
    finally:
        json_rx.stop()
        smtp_rx.stop()
    return results


def _check_drain(engine: sa.Engine, library: Any, target: AppriseNotifier, n: int) -> None:
    delivered = drain(engine, library, target)
    if delivered != n:
        raise RuntimeError(f"drained {delivered} of {n}")


def report(results: dict[str, list[float]], args: argparse.Namespace) -> str:
    machine = f"{platform.python_implementation()} {platform.python_version()}, {multiprocessing.cpu_count()} CPUs"
    lines = [
        "## Notifications",
        "",
        f"`benchmarks/notifications.py --messages {args.messages} --smtp-messages {args.smtp_messages} "
        f"--threads {args.threads} --repeat {args.repeat} --drain {args.drain}"
        f"{' --drain-only' if args.drain_only else ''}"
        f"{f' --claim-chunk {args.claim_chunk}' if args.claim_chunk else ''}"
        f"` ({machine}, apprise "
        f"{apprise.__version__}, SQLite {sqlite3.sqlite_version}). The receivers run in a separate process on"
        " 127.0.0.1 and count what they accept; every rate is of messages that arrived (checked).",
        "",
        "| what | messages/s (median) | range | runs |",
        "|---|---:|---:|---:|",
    ]
    for name, rates in results.items():
        spread = f"{min(rates):,.0f}–{max(rates):,.0f}" if len(rates) > 1 else "–"
        lines.append(f"| {name} | {statistics.median(rates):,.0f} | {spread} | {len(rates)} |")
    lines += [
        "",
        "- *apprise alone*: `send_with_apprise` with a fixed text: a fresh apprise plugin per message, nothing"
        " else. *notifier*: `AppriseNotifier.deliver` per NotifyRole command (route, render with the privacy"
        " guard, claim in the ledger, send, record) with the in-memory ledger; one recipient per command.",
        f"- *outbox drain*: {args.drain:,} NotifyRole commands in the outbox (100 per case), drained by"
        " `app.delivery.drain` to the JSON receiver: 500 outbox rows claimed and recorded per transaction,"
        f" {args.claim_chunk or DeliveryPolicy().claim_chunk} deliveries per light ledger commit (their claims, with"
        " the previous chunk's successes).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000, help="JSON messages per measurement")
    parser.add_argument("--smtp-messages", type=int, default=300, help="mails per measurement")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--drain", type=int, default=10_000)
    parser.add_argument("--database", action="append", choices=["sqlite", "postgres"],
                        help="where the drained outbox lives (default: both)")
    parser.add_argument("--postgres-url", default=os.environ.get("REGIE_TEST_DATABASE_URL",
                                                                 "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--append", type=Path, help="append the markdown section to this file")
    parser.add_argument("--drain-only", action="store_true",
                        help="measure only the drains and, in the same rounds, json: apprise alone, sequential")
    parser.add_argument("--claim-chunk", type=int, help="the drain's deliveries per ledger write (default: the "
                                                        "delivery policy's)")
    args = parser.parse_args(argv)
    policy = DeliveryPolicy(claim_chunk=args.claim_chunk) if args.claim_chunk else None
    text = report(run(args.messages, args.smtp_messages, args.threads, args.repeat, args.drain,
                      args.database or ["sqlite", "postgres"], args.postgres_url, args.drain_only, policy), args)
    print(text)
    if args.append:
        with args.append.open("a", encoding="utf-8") as out:
            out.write(("\n" if args.append.exists() and args.append.stat().st_size else "") + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

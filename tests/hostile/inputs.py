"""A table of hostile inputs, and a way to run the `regie` command in this process on a fresh store.

Each value is something a tester (or a tired operator, or a broken export) types where Regie expects
a case reference, a name from the definitions, a number, a date or a file: lengths, NUL and control
characters, broken and exotic unicode, SQL and Jinja text, format strings, negative and huge numbers,
JSON of the wrong type, personal data (a BSN, a V-number, a name, an e-mail address) and paths out.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from cli.main import main

HOSTILE: list[str] = [
    # length
    "", " ", "A" * 65, "RMD-2026-" + "0" * 56, "x" * 101, "é" * 300, "Z" * 100_000,
    # NUL and control characters
    "\x00", "RMD-2026-0042\x00", "rotterdam\x00", "\x1b[31mrood\x1b[0m", "\n", "RMD-2026-0042\n", "\r\n", "\t", "\x7f",
    # unicode: exotic, invisible, broken
    "rötterdam", "日本語", "😀" * 20, "\u202egnirts", "\ufeffRMD-2026-0042", "\u200b", "\ud800", "\udcff",
    "ＲＭＤ-２０２６-００４２", "RMD-٢٠٢٦-٠٠٤٢",
    # SQL
    "' OR 1=1 --", "'; DROP TABLE cases; --", "\" OR \"\"=\"", "RMD-2026-0042' --", "%' OR case_ref LIKE '%",
    # templates and format strings
    "{{ 7*7 }}", "{% for x in range(9) %}x{% endfor %}", "${REGIE_PSEUDONYM_KEY}", "%s%s%s%n", "{0.__class__}",
    # numbers
    "-1", "0", "-0", "99999999999999999999999", "-99999999999999999999", "1e400", "NaN", "-Infinity", "3.5",
    "0x10", "1" * 5000,
    # JSON of the wrong kind
    "true", "null", "[]", "{}", "[" * 5000 + "]" * 5000, '{"a": {"b": [1, {"c": null}]}}',
    # personal data
    "999993653", "RMD-2026-999993653", "1234567890", "Fenna de Vries", "FENNA", "fenna@example.org",
    # paths
    "../../etc/passwd", "/proc/self/environ", "/dev/zero", "C:\\Windows\\win.ini", "~", ".", "..",
]
"""At least a hundred inputs per command come from placing these in each command's arguments."""


def spread(slots: int) -> Iterator[tuple[int, str]]:
    """(slot, value): every value in slot 0, and again in a further slot, round robin."""
    for i, value in enumerate(HOSTILE):
        yield 0, value
        if slots > 1:
            yield 1 + i % (slots - 1), value


@dataclass
class Outcome:
    code: int
    out: str
    err: str


@dataclass
class Regie:
    """The `regie` command run in this process with REGIE_* settings for one fresh store; `read` gives
    what it printed (pytest's capsys.readouterr)."""

    database_url: str
    engine: sa.Engine
    read: Callable[[], Any]
    seen: dict[str, list[int]] = field(default_factory=dict)

    def __call__(self, *argv: str) -> Outcome:
        self.read()
        code = main(list(argv))
        printed = self.read()
        return Outcome(code, printed.out, printed.err)

    def snapshot(self) -> tuple:
        """Everything a command could have written, in a form cheap to compare."""
        with self.engine.connect() as conn:
            counts = tuple(conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                           for t in ("cases", "case_history", "outbox", "open_tasks", "case_personal"))
            versions = tuple(conn.execute(sa.text("SELECT case_ref, version FROM cases ORDER BY case_ref")).all())
        return counts, versions

    def refuses_or_does(self, command: str, *argv: str, allowed: frozenset[int] = frozenset({0, 2})) -> Outcome:
        """Run one input; a refusal must be one line with exit code 2 and must change nothing.

        (An import refused for bad rows names each bad row on a line of its own, each a refusal line.)"""
        before = self.snapshot()
        result = self(*argv)
        assert result.code in allowed, (argv, result)
        assert "Traceback" not in result.err + result.out, (argv, result.err)
        if result.code == 2:
            lines = result.err.splitlines()
            one = len(lines) == 1 or (argv[0] == "import" and all(line.startswith("regie import koppelingen: regel ")
                                                                  for line in lines))
            assert one and result.err.endswith("\n") and lines[0].startswith("regie"), (argv, result.err)
            assert self.snapshot() == before, (argv, "changed the store while refusing")
        self.seen.setdefault(command, []).append(result.code)
        if os.environ.get("REGIE_FUZZ_SHOW"):  # to read what each input got: REGIE_FUZZ_SHOW=1 pytest -s ...
            print(f"{result.code} {argv!r:.150} -> {(result.err or result.out).splitlines()[:1]!r:.250}",
                  file=sys.__stderr__)
        return result


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    path.write_bytes(data)
    return path


class _Broken(BaseHTTPRequestHandler):
    def _unavailable(self) -> None:
        body = b'{"detail": "broken"}'
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _unavailable

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def prefect_broken() -> Iterator[str]:
    """A real local HTTP server where Prefect should be, answering every call with 500 at once: the
    commands' changes are saved and their delivery fails fast (Prefect's client backs off for seconds
    on a refused connection or a 503, even when told not to retry)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def prefect_pointed_at(url: str) -> Iterator[None]:
    """Prefect's client, in this process, talking to `url` without retries.

    Through a settings context rather than the environment: Prefect reads its environment once, when
    it is first imported, and a test must not fix the rest of the session's Prefect to its own server
    (nor, imported earlier, leave Prefect to start a server of its own for the commands)."""
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url, PREFECT_CLIENT_MAX_RETRIES: 0}):
        yield


def environment(data_dir: Path, database_url: str, definitions: Path, prefect_url: str) -> dict[str, str]:
    """REGIE_* for the fuzzed commands: a fresh store, the small definitions, a Prefect that says 500."""
    return {
        "REGIE_DATA_DIR": str(data_dir), "REGIE_DATABASE_URL": database_url,
        "REGIE_DEFINITIONS_DIR": str(definitions), "REGIE_NOTIFIER": "log", "REGIE_MUNICIPALITIES": "rotterdam",
        "REGIE_PSEUDONYM_KEY": "fuzz-key", "PREFECT_API_URL": prefect_url, "PREFECT_CLIENT_MAX_RETRIES": "0",
    }


def python() -> str:
    return sys.executable


def clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("REGIE_", "PREFECT_"))}

"""Helpers for tests that talk to a real server (`regie up`, a Prefect test server): a free port, the
process's output read on a thread, and the one bounded poll every such test waits with."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]


def poll(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 20.0,
         interval: float = 0.2) -> Any:
    """Read until `done(value)` holds or `timeout` seconds pass; returns the last value read.

    Servers store runs and events a moment after they answer, so tests look again instead of sleeping
    a fixed time; the bound keeps a broken server from hanging the suite."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Output:
    """The process's output, read by a thread so the test can wait for a line with a bound."""

    def __init__(self, process: subprocess.Popen):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float) -> str:
        found = poll(lambda: "".join(self.lines), lambda out: text in out, timeout)
        if text not in found:
            raise AssertionError(f"no '{text}' within {timeout} s; output so far:\n{found}")
        return found


@contextmanager
def regie_up_running(data_dir: Path, *args: str, timeout: float = 180) -> Iterator[str]:
    """`regie up ARGS` on free ports with only this data dir's settings (none of the caller's PREFECT_ or
    REGIE_ variables), until it says it is ready; yields the UI's address and stops it with Ctrl-C."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REGIE_"))}
    env.update(REGIE_DATA_DIR=str(data_dir), REGIE_PORT=str(port), REGIE_PORTAL_PORT=str(free_port()))
    process = subprocess.Popen([sys.executable, "-m", "cli.main", "up", *args], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output = Output(process)
    try:
        output.wait_for("Ctrl-C stops everything.", timeout=timeout)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()

"""The partner page in its own process beside `regie up` (`beside(settings)`, one line in cli/up_cmd.py).

It runs `regie portal` with the same environment, so the page builds its own runtime from the same
settings; its output goes to `<data_dir>/portal.log`. A page that cannot start stops `regie up` with
the reason, as a Prefect server that cannot start does.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from cli import pidfiles

if TYPE_CHECKING:
    from app.settings import Settings

HEALTH_TIMEOUT_S = 60.0
PID_FILE = "portal.pid"
"""In the data dir: the partner page this data dir's `regie up` started (JSON: pid, port)."""


def stop_left_behind(settings: "Settings") -> int | None:
    """Stop the partner page a killed `regie up` of this data dir left running; its pid, or None."""
    def is_ours(pid: int, port: int) -> bool:
        words = pidfiles.command_line(pid)
        return "cli.main" in words and "portal" in words and str(port) in words
    return pidfiles.stop_left_behind(settings.data_dir / PID_FILE, is_ours)


@contextmanager
def beside(settings: "Settings") -> Iterator[None]:
    """Run `regie portal` in its own process while the block runs (regie up); RuntimeError if it cannot
    start (its output is in <data_dir>/portal.log)."""
    if _taken(settings.portal_port):
        raise RuntimeError(f"poort {settings.portal_port} is bezet; kies met REGIE_PORTAL_PORT een vrije poort voor "
                           "de partnerpagina")
    log_path = settings.data_dir / "portal.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "cli.main", "portal", "--port", str(settings.portal_port)],
                                   env={**os.environ}, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    pidfiles.write(settings.data_dir / PID_FILE, process.pid, settings.portal_port)
    try:
        _wait_healthy(settings.portal_port, process, log_path)
        print(f"  partner page: {settings.portal_url} (log: {log_path})", flush=True)
        yield
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(20)
        (settings.data_dir / PID_FILE).unlink(missing_ok=True)


def _taken(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait_healthy(port: int, process: subprocess.Popen, log_path: Path) -> None:
    import httpx

    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/gezond", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"de partnerpagina stopte met code {process.returncode} (zie {log_path})")
        time.sleep(0.25)
    raise RuntimeError(f"de partnerpagina antwoordde niet op poort {port} binnen {HEALTH_TIMEOUT_S:.0f} s")

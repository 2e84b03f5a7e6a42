"""Helpers for tests that start a real server process (`regie up`): a free port, and its output read
on a thread so waiting for a line always has a bound."""

from __future__ import annotations

import socket
import subprocess
import threading
import time


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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return "".join(self.lines)
            time.sleep(0.2)
        raise AssertionError(f"no '{text}' within {timeout} s; output so far:\n{''.join(self.lines)}")

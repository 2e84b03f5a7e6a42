"""The processes `regie up` starts (the Prefect server, the partner page), found again after a crash.

`regie up` writes each child's pid (and port) to a file in the data dir and removes it when it stops
the child. When `regie up` itself is killed (SIGKILL, a closed terminal) its children keep running; the
next `regie up` for the same data dir reads the files and stops those children first, but only a process
that is still alive and still the same program (its command line is checked, so a reused pid is left
alone).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

STOP_TIMEOUT_S = 20.0


def write(path: Path, pid: int, port: int) -> None:
    """Remember a child process (its pid and the port it serves)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": pid, "port": port}))


def alive(pid: int) -> bool:
    """Whether the process runs (a zombie, waiting for a parent that is gone to reap it, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive, and certainly not ours
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def command_line(pid: int) -> list[str]:
    """The process's command line words ([] when it cannot be read)."""
    try:
        return [w.decode(errors="replace") for w in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if w]
    except OSError:
        return []


def stop_left_behind(path: Path, is_ours: Callable[[int, int], bool],
                     timeout: float = STOP_TIMEOUT_S) -> int | None:
    """Stop the process a pid file names if it still runs and `is_ours(pid, port)`; its pid, or None."""
    try:
        recorded = json.loads(path.read_text())
        pid, port = int(recorded["pid"]), int(recorded.get("port", 0))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    path.unlink(missing_ok=True)
    if not alive(pid) or not is_ours(pid, port):
        return None
    # Started in its own session: its process group is its pid.
    group = os.getpgid(pid) == pid
    for sig in (signal.SIGINT, signal.SIGKILL):
        (os.killpg if group else os.kill)(pid, sig)
        deadline = time.monotonic() + timeout
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not alive(pid):
            break
    return pid

"""`regie up` recovers from its own crash: killed with SIGKILL, it leaves its Prefect server and its partner
page running; the next `regie up` for the same data dir finds them by their pid files, stops them and
starts normally.
A port taken by anything else gets one line, no traceback. Real processes; about 30 seconds (two
Prefect servers start), which is what the fault costs to inject for real."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.prefect.test_regie_up import RUN_UP
from tests.serverproc import Output, free_port, poll


def up(data: Path, port: int, *args: str, portal: int | None = None) -> tuple[subprocess.Popen, Output]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REGIE_"))}
    env.update(REGIE_DATA_DIR=str(data), REGIE_PORT=str(port), REGIE_PORTAL_PORT=str(portal or free_port()))
    process = subprocess.Popen([sys.executable, "-c", RUN_UP, "up", "--no-sweep", *args], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=data.parent)
    return process, Output(process)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def healthy(port: int, path: str = "/api/health") -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.prefect
def test_after_regie_up_is_killed_the_next_regie_up_stops_its_server_and_starts(tmp_path: Path):
    data, port, portal_port = tmp_path / "data", free_port(), free_port()
    first, output = up(data, port, portal=portal_port)
    try:
        output.wait_for("Ctrl-C stops everything.", timeout=120)
        server = json.loads((data / "prefect-server.pid").read_text())
        portal = json.loads((data / "portal.pid").read_text())
        first.send_signal(signal.SIGKILL)  # regie up dies at once; its server and partner page live on
        first.wait(timeout=10)
        assert server["port"] == port and alive(server["pid"]) and healthy(port)
        assert portal["port"] == portal_port and alive(portal["pid"]) and healthy(portal_port, "/gezond")

        second, output = up(data, port, portal=portal_port)
        try:
            text = output.wait_for("Ctrl-C stops everything.", timeout=120)
            assert f"de Prefect-server van een eerdere regie up (pid {server['pid']}) draaide nog; die is gestopt" \
                in text
            assert f"de partnerpagina van een eerdere regie up (pid {portal['pid']}) draaide nog; die is gestopt" \
                in text
            assert not alive(server["pid"]) and not alive(portal["pid"])
            assert healthy(portal_port, "/gezond")  # the new regie up's own partner page
            assert json.loads((data / "prefect-server.pid").read_text())["pid"] != server["pid"]
            assert healthy(port)
        finally:
            second.send_signal(signal.SIGINT)
            second.wait(timeout=60)
        assert second.returncode in (0, 130) and "stopped" in "".join(output.lines)  # 130: Ctrl-C while serving
        # A clean stop leaves nothing behind.
        assert not (data / "prefect-server.pid").exists() and not (data / "portal.pid").exists()
    finally:
        if first.poll() is None:
            first.kill()
        for name in ("prefect-server.pid", "portal.pid"):
            leftover = data / name
            if leftover.exists():  # never leave a server running after a failed test
                pid = json.loads(leftover.read_text())["pid"]
                if alive(pid):
                    os.killpg(pid, signal.SIGKILL)
    assert poll(lambda: healthy(port), lambda ok: not ok, timeout=10) is False


def test_a_port_taken_by_another_process_gets_one_line_and_no_traceback(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process, output = up(tmp_path / "data", port)
        process.wait(timeout=60)

    text = "".join(output.lines)
    assert process.returncode == 2  # refused: nothing started
    assert text.strip().splitlines() == [
        f"regie up: poort {port} is bezet door een ander proces dat niet door regie up voor {tmp_path / 'data'} "
        "is gestart; kies een vrije poort met REGIE_PORT of --port"]
    assert "Traceback" not in text

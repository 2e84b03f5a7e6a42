"""`regie up --demo` for real: its own Prefect server, closed to callers without its API secret, the demo
cases in the inbox, a resumed task completed by the served runner, a sweep run by it, and everything
stopped by Ctrl-C. About 30 seconds."""

from __future__ import annotations

import base64
import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.serverproc import Output, free_port, poll

# `regie up` without going through cli/main.py, so the test does not depend on its command list.
RUN_UP = ("import argparse, sys; from cli import up_cmd; p = argparse.ArgumentParser(); "
          "up_cmd.register(p.add_subparsers()); a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))")


AUTH: dict[str, str] = {}
"""The Authorization header for the server under test (Prefect's API authentication: Basic, the secret)."""


def call(method: str, url: str, **kwargs) -> httpx.Response:
    """An API call that, like Prefect's own client, sends the API secret and tries again on 503 (Prefect's
    SQLite database was busy with another writer, a known upstream limit of the embedded default) and,
    for a read, on a read timeout (Prefect's client retries those too; CI saw one read wait over 10 s)."""
    reading = method == "GET" or url.endswith("/filter")

    def once() -> httpx.Response | None:
        try:
            return httpx.request(method, url, timeout=10, headers=AUTH, **kwargs)
        except httpx.ReadTimeout:
            if not reading:
                raise
            return None

    answer = poll(once, lambda r: r is not None and r.status_code != 503, timeout=30, interval=0.5)
    if answer is None:
        raise httpx.ReadTimeout(f"no answer to {method} {url} within 30 s")
    return answer


@pytest.mark.prefect
def test_regie_up_serves_the_demo_inbox_and_stops_cleanly_on_ctrl_c(tmp_path: Path):
    AUTH.clear()
    port, portal = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REGIE_"))}
    env.update(REGIE_DATA_DIR=str(tmp_path / "data"), REGIE_PORT=str(port), REGIE_PORTAL_PORT=str(portal))
    process = subprocess.Popen([sys.executable, "-c", RUN_UP, "up", "--demo"], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path)
    output = Output(process)
    api = f"http://127.0.0.1:{port}/api"
    try:
        text = output.wait_for("Ctrl-C stops everything.", timeout=120)
        assert f"Prefect UI: http://127.0.0.1:{port}" in text
        ui = f"http://127.0.0.1:{port}"
        assert f"tilburg: caseload {ui}/artifacts/key/caseload-tilburg" in text
        assert f"radar    {ui}/artifacts/key/deadline-radar-tilburg" in text
        assert "demo: 6 zaken in tilburg" in text and "9 open taken" in text and "1 over hun termijn" in text
        assert call("GET", f"{api}/health").json() is True

        # The API is closed: without the secret nothing can be read, resumed or cancelled.
        secret_file = tmp_path / "data" / "prefect-api-auth"
        assert f"log in with: the line in {secret_file}" in text
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        secret = secret_file.read_text().strip()
        assert secret not in text and len(secret) > 40
        assert httpx.post(f"{api}/flow_runs/filter", json={}, timeout=10).status_code == 401
        wrong = {"Authorization": "Basic " + base64.b64encode(b"regie:raden").decode()}
        assert httpx.post(f"{api}/flow_runs/filter", json={}, headers=wrong, timeout=10).status_code == 401
        AUTH["Authorization"] = "Basic " + base64.b64encode(secret.encode()).decode()

        inbox = call("POST", f"{api}/flow_runs/filter", json={"flow_runs": {"tags": {"all_": ["inbox"]},
                                                                     "name": {"like_": "DEMO-2026-000"}}}).json()
        # The tour's cases (the seeded population's open tasks live in the caseload and the radar only).
        assert "populatie van 300 zaken" in text
        waiting = [r for r in inbox if r["state_type"] == "PAUSED" and r["name"].startswith("DEMO-2026-000")]
        # Each name ends in the deadline, in Amsterdam's calendar and the Dutch date format.
        assert all(re.search(r" · uiterlijk \d{2}-\d{2}-\d{4}$", r["name"]) for r in waiting), waiting
        assert any("te-laat" in r["tags"] for r in waiting)
        assert sorted(r["name"].split(" · uiterlijk")[0] for r in waiting) == [
            "DEMO-2026-0001 · driegesprek_plannen", "DEMO-2026-0001 · klantprofiel_ontvangen",
            "DEMO-2026-0002 · gesprek_azc", "DEMO-2026-0002 · klantprofiel_ontvangen", "DEMO-2026-0003 · driegesprek",
            "DEMO-2026-0004 · gesprek_azc", "DEMO-2026-0004 · klantprofiel_ontvangen",
            "DEMO-2026-0006 · gesprek_azc", "DEMO-2026-0006 · klantprofiel_ontvangen"]

        # An operator holds the driegesprek and resumes its task; the served runner completes the step.
        run = next(r for r in inbox if r["name"].startswith("DEMO-2026-0003 · driegesprek"))
        answer = call("POST", f"{api}/flow_runs/{run['id']}/resume",
                      json={"run_input": {"overdrachtsscenario": "Snelle start"}})
        assert answer.status_code in (200, 201) and answer.json()["status"] == "ACCEPT", answer.text
        state = poll(lambda: call("GET", f"{api}/flow_runs/{run['id']}").json()["state_type"],
                      lambda s: s in ("COMPLETED", "FAILED", "CRASHED"), timeout=60)
        assert state == "COMPLETED"
        # Snelle start: the brede intake begins at once with its first conversation.
        intake = poll(lambda: call("POST", f"{api}/flow_runs/filter", json={"flow_runs": {"name": {
            "like_": "DEMO-2026-0003 · intakegesprek"}}}).json(), lambda runs: runs, timeout=10)
        assert intake and intake[0]["state_name"] == "Suspended"

        # A sweep (run now rather than waiting for the schedule) notices the deadline that passed at midnight.
        sweep = call("GET", f"{api}/deployments/name/fire-due-timers/fire-due-timers").json()
        run = call("POST", f"{api}/deployments/{sweep['id']}/create_flow_run", json={}).json()
        state = poll(lambda: call("GET", f"{api}/flow_runs/{run['id']}").json()["state_type"],
                     lambda s: s in ("COMPLETED", "FAILED", "CRASHED"), timeout=60)
        assert state == "COMPLETED"
        missed = {"filter": {"event": {"name": ["regie.case.deadline-missed"]},
                             "resource": {"id": ["regie.case.DEMO-2026-0006"]}}}
        events = poll(lambda: call("POST", f"{api}/events/filter", json=missed).json()["events"], bool, timeout=20)
        assert events and events[0]["resource"]["regie.municipality"] == "tilburg"

        # The overview was published when regie up started (not 15 minutes later).
        radar = poll(lambda: call("GET", f"{api}/artifacts/deadline-radar-tilburg/latest"),
                     lambda r: r.status_code == 200, timeout=60)
        assert radar.status_code == 200 and "DEMO-2026-0006" in radar.json()["data"]

        # The partner page runs beside the UI: a step done from a link leaves the inbox as done elsewhere.
        assert f"partner page: http://127.0.0.1:{portal}" in text
        made = subprocess.run([sys.executable, "-m", "cli.main", "partner-link", "DEMO-2026-0002", "gesprek_azc"],
                              env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        link = made.stdout.strip()
        assert link.startswith(f"http://127.0.0.1:{portal}/l/"), made.stderr
        with httpx.Client(follow_redirects=False, timeout=30) as browser:
            page = browser.get(link)
            token = re.search(r'name="formtoken" value="([^"]+)"', page.text).group(1)
            done = browser.post(link, data={"formtoken": token, "actie": "stap", "gesprek_vorm": "online",
                                            "nog_een_gesprek": "false"})
        assert done.status_code == 200 and "Dank u, de stap is afgerond" in done.text
        entry = {"flow_runs": {"name": {"like_": "DEMO-2026-0002 · gesprek_azc"}}}
        closed = poll(lambda: call("POST", f"{api}/flow_runs/filter", json=entry).json(),
                      lambda runs: runs and runs[0]["state_name"] == "Completed elsewhere", timeout=30)
        assert closed[0]["state_name"] == "Completed elsewhere"
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C
        try:
            # The runner lets a started run finish before it stops: the first overview (every timeline of the
            # 300-case demo) is one task run, about ten seconds.
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    with pytest.raises(httpx.ConnectError):  # Ctrl-C stopped the partner page too
        httpx.get(f"http://127.0.0.1:{portal}/gezond", timeout=5)
    text = "".join(output.lines)
    assert process.returncode == 0, text
    assert "stopped" in text
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{api}/health", timeout=2)

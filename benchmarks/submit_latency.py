"""Submit → next task visible: how long an operator waits, with `regie up` as it runs here.

    .venv/bin/python benchmarks/submit_latency.py [--resumes 20]

Starts `regie up` (its own Prefect server on a free port, a fresh data dir in a temporary folder, the
notifier that only logs), and in this process, on the same case store, starts `--resumes` cases of the
asielstatushouder definition in Tilburg and brings each to `driegesprek_plannen` (klantprofiel and the
AZC conversation completed through the case service, the outbox delivered). Then, one case at a time,
it does what the UI's Submit does (`POST /flow_runs/<id>/resume` with the form) and polls the API every
20 ms until the next task's inbox run (`driegesprek`) is there and Suspended. Reports the median, the
90th percentile and the maximum of those waits, and who completed the step (the keeper in `regie up`,
or its runner's flow run).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.serverproc import Output, free_port, poll  # noqa: E402

RUN_UP = ("import argparse, sys; from cli import up_cmd; p = argparse.ArgumentParser(); "
          "up_cmd.register(p.add_subparsers()); a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))")
CHECKLIST = {"checklist_voorinburgering": True, "checklist_werk_azc": True, "checklist_opleiding_werkervaring": True}


def _environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REGIE_"))}
    env.update(REGIE_DATA_DIR=str(data_dir), REGIE_PORT=str(free_port()), REGIE_PORTAL_PORT=str(free_port()),
               REGIE_NOTIFIER="log")
    return env


def measure(resumes: int) -> dict[str, Any]:
    """Start `regie up`, prepare `resumes` cases, time each Submit until the next task shows; the figures."""
    with tempfile.TemporaryDirectory() as folder:
        env = _environment(Path(folder) / "data")
        up = subprocess.Popen([sys.executable, "-c", RUN_UP, "up"], env=env, text=True, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output = Output(up)
        try:
            output.wait_for("Ctrl-C stops everything.", timeout=180)
            result = _measure_against(env, resumes)
            # What the keeper said while it ran (a round that failed, and why): part of the figures.
            result["keeper_said"] = [line.strip() for line in output.lines if line.startswith("regie up:")]
            return result
        finally:
            up.send_signal(2)  # Ctrl-C
            try:
                up.wait(timeout=60)
            except subprocess.TimeoutExpired:
                up.kill()


def _measure_against(env: dict[str, str], resumes: int) -> dict[str, Any]:
    # The same settings as the running instance, set before Prefect is imported.
    os.environ.update({k: v for k, v in env.items() if k.startswith("REGIE_")})
    from app.settings import get_settings
    from cli.up_cmd import prefect_environment

    settings = get_settings()
    os.environ.update(prefect_environment(settings))

    import asyncio

    from app.bootstrap import DEMO_DEFINITION, bootstrap
    from app.delivery import deliver_pending
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    rt = bootstrap(settings)
    refs = [f"BENCH-2026-{i:04d}" for i in range(1, resumes + 1)]
    for ref in refs:
        rt.service.start_trajectory(case_ref=ref, definition=DEMO_DEFINITION, municipality="tilburg",
                                    start_message="koppeling", actor="benchmark")
        rt.service.complete_step(case_ref=ref, task="klantprofiel_ontvangen", data=CHECKLIST, actor="benchmark")
        rt.service.complete_step(case_ref=ref, task="gesprek_azc", data={"gesprek_vorm": "online",
                                                                          "nog_een_gesprek": False}, actor="benchmark")
    asyncio.run(deliver_pending(rt.service, rt.notifier))
    planned = (date.today() + timedelta(days=7)).isoformat()

    def runs(name: str) -> list[Any]:
        with get_client(sync_client=True) as client:
            return client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_=name)))

    waits: list[float] = []
    by_keeper = 0
    for ref in refs:
        [run] = poll(lambda: runs(f"{ref} · driegesprek_plannen"), lambda found: len(found) == 1, timeout=30)
        with get_client(sync_client=True) as client:
            started = time.perf_counter()
            client.resume_flow_run(run.id, run_input={"driegesprek_datum": planned})
        shown = poll(lambda: [r for r in runs(f"{ref} · driegesprek ") if r.state and r.state.is_paused()],
                     bool, timeout=60, interval=0.02)
        if not shown:
            raise RuntimeError(f"{ref}: the next task did not show within 60 s")
        waits.append(time.perf_counter() - started)
        history = rt.service.show_case(ref, history=50).history
        by_keeper += any(h.actor == "prefect-inbox" and h.event == "task_completed" for h in history)
    rt.service.engine.dispose()
    in_order = [round(w, 2) for w in waits]
    waits.sort()
    return {"resumes": resumes, "median_s": statistics.median(waits),
            "p90_s": waits[min(len(waits) - 1, int(0.9 * len(waits)))], "max_s": waits[-1],
            "completed_by_keeper": by_keeper, "waits_in_order_s": in_order}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resumes", type=int, default=20)
    args = parser.parse_args(argv)
    result = measure(args.resumes)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"Submit -> next task visible, {result['resumes']} resumes with regie up: median "
          f"{result['median_s']:.2f} s, p90 {result['p90_s']:.2f} s, max {result['max_s']:.2f} s; "
          f"{result['completed_by_keeper']} completed by the keeper, the rest by the runner")
    print(f"each, in order (s): {result['waits_in_order_s']}")
    for line in result.get("keeper_said", []):
        print(f"keeper: {line}")
    return result


if __name__ == "__main__":
    main()

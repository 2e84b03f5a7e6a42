"""Every benchmark behind docs/benchmarks.md runs at a tiny size, so none of them rots (issue 13).

Each runs as its own process, as people run it: the Prefect ones start their own Prefect server and set
Prefect's environment for it, which must not leak into this test session. The figures are not checked
(a loaded CI machine says nothing about speed); that the script ran to the end, and what it reports, is.

Covered elsewhere at a tiny size: benchmarks/reliability.py (tests/reliability/test_reliability_benchmark.py),
scale_out.py (tests/prefect/test_scale_out.py, which needs PostgreSQL), and the database-bound ones
(completions, notifications, sweep: tests/test_benchmarks_db.py). coa_import.py's functions also run in
tests/hostile/test_import_speed.py; here it is the command.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPIFF_MISSING = importlib.util.find_spec("SpiffWorkflow") is None


def run(script: str, *args: str, timeout: float = 600) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_engine_benchmark_runs():
    out = run("engine.py", "--cases", "9")
    assert "advance only: " in out and "advance + JSON round-trip: " in out and "full trajectory" in out


@pytest.mark.skipif(SPIFF_MISSING, reason="SpiffWorkflow is not installed (pip install -e '.[bench]' or '.[test]')")
def test_the_engine_against_spiffworkflow_benchmark_runs_both_to_the_end_of_every_case():
    out = run("engine_vs_spiff.py", "--cases", "3")
    # Both engines took every case through all 17 steps (the script asserts each case completed).
    assert "regie: 51 steps in " in out and "spiffworkflow: 51 steps in " in out
    assert "ratio: regie is " in out and "state JSON per case median" in out


def test_the_coa_import_benchmark_runs_on_sqlite():
    out = run("coa_import.py", "--rows", "30", "--baseline-rows", "5")
    assert "| sqlite | import | 30 |" in out and "| sqlite | again | 30 |" in out


@pytest.mark.prefect
def test_the_naive_sweep_benchmark_runs_both_ways():
    out = run("naive_sweep.py", "--cases", "3")
    assert "regie: 1 flow run, 3 cases in " in out and "naive: 3 flow runs, 3 cases in " in out
    assert "ratio: the naive way takes " in out


@pytest.mark.prefect
def test_the_inbox_benchmark_runs_both_ways():
    out = run("inbox.py", "--tasks", "4", "--naive", "1", "--naive-limit", "1")
    assert "direct: 4 inbox entries in " in out and "naive: 1 runs suspended in " in out

"""benchmarks/submit_latency.py at a tiny size, so the script behind the Submit figure never rots.

In a subprocess: the benchmark points its own process at the `regie up` it starts (environment), which
must not leak into the other tests. It asserts what happened, never how fast."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.prefect
def test_the_submit_latency_benchmark_runs_at_a_tiny_size():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "submit_latency.py"), "--resumes", "2"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Submit -> next task visible, 2 resumes with regie up: median" in done.stdout
    assert "2 completed by the keeper" in done.stdout

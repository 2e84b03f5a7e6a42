"""Running a benchmark's worker in several processes that start together (completions.py, sweep.py).

Imported as `benchmarks.spawning` in both ways a benchmark runs: as a script (`python benchmarks/sweep.py`
puts the repository's root on sys.path before its imports) and as a module of the `benchmarks` package
(the tests import `benchmarks.completions` with the root on sys.path). A bare `import spawning` would
work only in the first way.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any


def run_together(target: Callable[..., None], jobs: list[tuple], *, what: str = "a benchmark process") -> list[Any]:
    """`target(*job, gate, out)` in one spawned process per job (own interpreter, own connections); each
    waits at `gate` (a barrier) so that all start together, and puts its one result on `out`. The results,
    in the order they arrived; SystemExit when a process failed."""
    context = multiprocessing.get_context("spawn")
    gate, out = context.Barrier(len(jobs)), context.Queue()
    processes = [context.Process(target=target, args=(*job, gate, out)) for job in jobs]
    for process in processes:
        process.start()
    results = [out.get() for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"{what} failed (exit code {process.exitcode})")
    return results

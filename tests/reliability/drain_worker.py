"""A drain in a process of its own, so a test can kill it (SIGKILL) in the middle of its work.

    python tests/reliability/drain_worker.py DATABASE_URL SEARCH_PATH DATA_DIR ENV_JSON [CLAIM_CHUNK]

It loads Regie once and then, for every line `<ISO moment>` on stdin, forks a child that runs one
drain at that moment (a fresh database engine, the notifier a running Regie builds, claiming
CLAIM_CHUNK deliveries per write (default: the policy's), the Prefect side only recorded) and exits 0.
It prints `pid <n>` when the child started and `exit <code>` when it ended (-9 when it was killed).
Forking a loaded process keeps a loop of many drains within seconds; each child is a real process with
its own connections, killed like any other.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import traceback
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.cases import CaseService  # noqa: E402
from app.delivery import drain  # noqa: E402
from engine.validator import validate_paths  # noqa: E402
from store.db import make_engine  # noqa: E402
from tests.reliability.conftest import CATALOG, FIXTURES, ROOT, RecordingChannels, notifier_for  # noqa: E402


def main(url: str, search_path: str, data_dir: str, env_json: str, chunk: str = "") -> int:
    library, problems = validate_paths([CATALOG, ROOT / "tests" / "fixtures" / "definitions",
                                        FIXTURES / "testgemeente.yaml"])
    if problems:
        raise SystemExit("\n".join(map(str, problems)))
    env = json.loads(env_json)
    policy = {"claim_chunk": int(chunk)} if chunk else {}
    for line in sys.stdin:
        now = datetime.fromisoformat(line.strip())
        pid = os.fork()
        if pid == 0:
            os._exit(_drain_once(url, search_path or None, Path(data_dir), env, library, now, policy))
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {os.waitstatus_to_exitcode(status)}", flush=True)
    return 0


def _drain_once(url, search_path, data_dir, env, library, now, policy) -> int:
    try:
        engine = make_engine(url, search_path=search_path) if search_path else make_engine(url)
        clock = lambda: now  # noqa: E731 - the moment this drain runs at
        service = CaseService(engine, library, clock)
        notifier = notifier_for(engine, library, clock, env, data_dir, **policy)
        # Small batches: a killed drain leaves claimed rows behind, as a real one would.
        asyncio.run(drain(service, notifier, RecordingChannels(), now=now, batch=3))
        return 0
    except BaseException:
        traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:6]))

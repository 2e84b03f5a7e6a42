"""`import-koppelingen`: COA's list of newly linked statushouders, imported as a Prefect run.

The parameter is the *path* of the CSV on the worker, never its content: the file holds names and
V-numbers, and Prefect keeps parameters in the clear. The run's result and its log name case
references and line numbers only.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from integrations.coa_import import service_import
from tasks.runtime import runtime


@task(cache_policy=NO_CACHE)
def import_file(path: str, only_valid: bool) -> dict[str, object]:
    """Check every row, then start the new trajectories (one side effect: the case store)."""
    rt = runtime()
    key = rt.settings.pseudonym_key.get_secret_value()
    if not key:
        raise RuntimeError("REGIE_PSEUDONYM_KEY is not set on this worker: case references cannot be made")
    report = service_import(rt.service, Path(path).read_text(encoding="utf-8-sig"), key=key.encode(),
                            actor="coa-import", only_valid=only_valid)
    logger = get_run_logger()
    for problem in report.problems:
        logger.warning("%s", problem)  # line number and reason; the reasons name columns, not values of people
    if report.refused:
        raise ValueError(f"{report.summary()}: fix the rows above, or run with only_valid=true")
    return {"started": report.started, "already": len(report.already), "bad_rows": len(report.problems)}


@flow(name="import-koppelingen", flow_run_name="import koppelingen")
def import_koppelingen(path: str, only_valid: bool = False) -> dict[str, object]:
    """Import a koppeling list from a file the worker can read; nothing starts twice."""
    return import_file(path, only_valid)

"""Prefect tasks for partners: the daily digests, and COA's koppeling list."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from app.bootstrap import current
from app.imports import import_coa_koppelingen, read_import_file
from integrations.notifier import DigestReport


@task(name="send-partner-digests", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[300, 900])
def send_partner_digests() -> DigestReport:
    """Send today's digest to every partner with queued messages; raises if any could not be sent."""
    return current().notifier.send_digests()


class KoppelingenRefused(ValueError):
    """The list was not imported; the message says why in line numbers and counts, never in content."""


@task(name="import-koppelingen", cache_policy=NO_CACHE)
def import_koppelingen_file(name: str, only_valid: bool) -> dict[str, object]:
    """Check every row, then start the new trajectories (one side effect: the case store).

    Every refusal (a file outside the import folder, a file that is no koppeling list, bad rows) is
    raised with a message of line numbers and reasons; problems are logged the same way.
    """
    rt = current()
    key = rt.settings.pseudonym_key.get_secret_value()
    if not key:
        raise RuntimeError("REGIE_PSEUDONYM_KEY is niet gezet op deze worker: zaakreferenties kunnen niet worden "
                           "gemaakt")
    report = import_coa_koppelingen(rt.service, read_import_file(rt.settings.import_dir, name), key=key.encode(),
                                    actor="coa-import", only_valid=only_valid, file_name=name)
    logger = get_run_logger()
    for problem in report.problems:
        logger.warning("%s", problem)  # line number and reason: the reasons name columns, never values
    if report.refused:
        raise KoppelingenRefused(f"{report.summary()}: verbeter de regels hierboven, of importeer met only_valid=true")
    return {"started": report.started, "already": len(report.already), "bad_rows": len(report.problems)}

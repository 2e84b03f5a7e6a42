"""The AVG tasks: write a person's export to a file on the worker, and erase what has expired.

Neither ever hands personal data to Prefect: the export stays inside the task (the file is in the data
folder, readable by the worker's user only) and the task returns its paths; the retention task returns
and publishes counts only. Results are not cached.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from app.bootstrap import current
from app.privacy.document import render_document
from app.privacy.person import erase_expired, export_person
from engine.calendar import NL

EXPORT_REASON = "inzageverzoek (art. 15 AVG), via de deployment export-person"
"""The reason the access log records for an export made in Prefect (a run carries no free text)."""
RETENTION_ARTIFACT = "bewaartermijn"


def _write_private(path: Path, text: str) -> None:
    # Created with mode 0600: only the worker's user may read the person's data.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)


@task(name="write-person-export", cache_policy=NO_CACHE, persist_result=False)
def write_person_export(case_ref: str, operator: str) -> dict[str, str]:
    """Write the export of a case (JSON and the Dutch document) to <data_dir>/inzage; their paths."""
    rt = current()
    export = export_person(rt.service, case_ref, operator=operator, reason=EXPORT_REASON)
    folder = rt.settings.data_dir / "inzage"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    stem = f"{case_ref}-{datetime.now(NL):%Y%m%d-%H%M%S}"
    paths = {"json": folder / f"{stem}.json", "tekst": folder / f"{stem}.md"}
    _write_private(paths["json"], json.dumps(export, indent=2, ensure_ascii=False) + "\n")
    _write_private(paths["tekst"], render_document(export))
    get_run_logger().info("inzage van zaak %s geschreven naar %s", case_ref, folder)
    return {kind: str(path) for kind, path in paths.items()}


@task(name="erase-expired-personal-data", cache_policy=NO_CACHE, persist_result=False)
def erase_expired_personal_data() -> dict[str, int]:
    """Erase the personal data of every closed case past its retention period; publish the counts."""
    counts = erase_expired(current().service)
    create_table_artifact(
        key=RETENTION_ARTIFACT, table=[{"wat": key, "aantal": value} for key, value in counts.items()],
        description=f"Bewaartermijn: {counts['gewist']} zaak/zaken gewist (alleen aantallen)")
    get_run_logger().info("bewaartermijn: %s verlopen, %s gewist, %s overgeslagen",
                          counts["verlopen"], counts["gewist"], counts["overgeslagen"])
    return counts

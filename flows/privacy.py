"""`export-person` and `erase-expired`: the AVG deployments (docs/privacy.md).

`export-person` takes a case reference and the operator, nothing else: the export is written to a file in
the worker's data folder (`<REGIE_DATA_DIR>/inzage`), never into Prefect; the run's result is the files'
paths. `erase-expired` runs every night and erases the personal data of closed cases past their retention
period; its artifact holds counts only.
"""

from __future__ import annotations

from prefect import flow

from app.inputs import Actor, CaseRef
from tasks.privacy import erase_expired_personal_data, write_person_export


@flow(name="export-person", flow_run_name="inzage {case_ref}")
def export_person(case_ref: CaseRef, operator: Actor) -> dict[str, str]:
    """Write everything Regie holds about the person of a case to a file on the worker (art. 15 AVG)."""
    return write_person_export(case_ref, operator)


@flow(name="erase-expired", flow_run_name="bewaartermijn")
def erase_expired() -> dict[str, int]:
    """Erase the personal data of closed cases whose retention period has ended; counts only."""
    return erase_expired_personal_data()

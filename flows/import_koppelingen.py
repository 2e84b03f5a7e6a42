"""`import-koppelingen`: COA's list of newly linked statushouders, imported as a Prefect run.

The parameter is the *name* of a CSV file in the worker's import folder (`REGIE_IMPORT_DIR`), never its
content and never a path elsewhere: the file holds names and V-numbers, Prefect keeps parameters in the
clear, and whoever may start this deployment may not read the worker's other files. The name's form
is checked by the Prefect server before a run exists. The run's result, state and log carry case
references, counts, line numbers and reasons only.
"""

from __future__ import annotations

from prefect import flow

from app.inputs import FileName
from tasks.partners import import_koppelingen_file


@flow(name="import-koppelingen", flow_run_name="import koppelingen")
def import_koppelingen(path: FileName, only_valid: bool = False) -> dict[str, object]:
    """Import a koppeling list from the worker's import folder (REGIE_IMPORT_DIR); nothing starts twice."""
    return import_koppelingen_file(path, only_valid)

"""`import-koppelingen`: COA's list of newly linked statushouders, imported as a Prefect run.

The parameter is the *path* of the CSV on the worker, never its content: the file holds names and
V-numbers, and Prefect keeps parameters in the clear. The run's result and its log name case
references and line numbers only.
"""

from __future__ import annotations

from prefect import flow

from tasks.partners import import_koppelingen_file


@flow(name="import-koppelingen", flow_run_name="import koppelingen")
def import_koppelingen(path: str, only_valid: bool = False) -> dict[str, object]:
    """Import a koppeling list from a file the worker can read; nothing starts twice."""
    return import_koppelingen_file(path, only_valid)

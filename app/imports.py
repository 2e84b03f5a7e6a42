"""Imports from partners into the case service: COA's list of newly linked statushouders.

`integrations.coa_import` reads and checks the file; this starts a trajectory per new row through the
one case service, so the COA import changes cases the same way an operator does.
"""

from __future__ import annotations

from app.cases import CaseService
from integrations.coa_import import (
    DEFINITION,
    START_MESSAGE,
    ImportReport,
    Koppeling,
    KoppelingFileError,
    import_koppelingen,
)
from store import queries

__all__ = ["ImportReport", "KoppelingFileError", "import_coa_koppelingen"]


def import_coa_koppelingen(service: CaseService, text: str, *, key: bytes, actor: str, only_valid: bool = False,
                           dry_run: bool = False) -> ImportReport:
    """Check every row of COA's list, then start a trajectory per new person (see `import_koppelingen`)."""

    def start(row: Koppeling) -> None:
        service.start_trajectory(case_ref=row.case_ref, definition=DEFINITION, municipality=row.municipality,
                                 actor=actor, start_message=START_MESSAGE, occurred_on=row.koppelingsdatum,
                                 personal=row.personal)

    return import_koppelingen(text, key=key, municipalities=set(service.library.profiles),
                              exists=lambda ref: queries.case_exists(service.engine, ref), start=start,
                              only_valid=only_valid, dry_run=dry_run)

"""Imports from partners into the case service: COA's list of newly linked statushouders.

The file is read only from the import folder (`REGIE_IMPORT_DIR`): a name inside it, resolved, with no
way out through `..` or links, and only a regular file. That is what the `import-koppelingen`
deployment and `regie import koppelingen` give: whoever can start an import cannot make Regie read
anything else on the worker (its environment, its keys).

`integrations.coa_import` reads and checks the file; this finds who was imported before (also under a
32-bit reference of an older import), refuses collisions, and starts the new trajectories through the
one case service, a batch of cases per transaction (group commit). Each batch is written whole or not
at all; a later batch that fails leaves the earlier ones, and importing the file again starts only the
rest, since nothing starts twice.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from app.cases import CaseService, NewCase
from app.errors import InputRefused
from app.inputs import check_actor
from integrations.coa_import import (
    DEFINITION,
    MAX_BYTES,
    START_MESSAGE,
    ImportReport,
    Koppeling,
    KoppelingFileError,
    RowProblem,
    parse,
)
from store import queries
from store.privacy import CaseSource

__all__ = ["BATCH", "ImportReport", "KoppelingFileError", "import_coa_koppelingen", "read_import_file"]

BATCH = 1000
"""Cases started per transaction."""
SOURCE = "coa-import"
"""How `case_sources` names this import."""
COLLISION = ("de zaakreferentie hoort al bij een zaak van een andere persoon (botsing van de sleutel); "
             "niets gestart voor deze regel: meld dit aan de beheerder")


def read_import_file(import_dir: Path, name: str) -> bytes:
    """The bytes of the file `name` in the import folder; `InputRefused` (without content) otherwise.

    `name` is a file name or a path inside the folder; an absolute path is taken only if it lies inside.
    """
    if not isinstance(name, str) or not name or "\x00" in name or len(name) > 1000:
        raise InputRefused("geef de naam van een bestand in de importmap (REGIE_IMPORT_DIR)")
    folder = import_dir.resolve()
    try:
        path = (folder / name).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a loop of links
        raise InputRefused("geen bestand met die naam in de importmap (REGIE_IMPORT_DIR)") from None
    if not path.is_relative_to(folder):
        raise InputRefused("alleen bestanden in de importmap (REGIE_IMPORT_DIR) worden gelezen; "
                           "deze naam wijst daarbuiten")
    try:
        # The path is resolved: O_NOFOLLOW refuses a link put in its place since.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputRefused(f"het bestand in de importmap is niet te lezen ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputRefused("dat is geen gewoon bestand in de importmap")
        if info.st_size > MAX_BYTES:
            raise InputRefused(f"het bestand is groter dan {MAX_BYTES // (1024 * 1024)} MB")
        with os.fdopen(fd, "rb", closefd=False) as file:
            return file.read(MAX_BYTES + 1)
    finally:
        os.close(fd)


def import_coa_koppelingen(service: CaseService, data: bytes | str, *, key: bytes, actor: str,
                           only_valid: bool = False, dry_run: bool = False, batch: int = BATCH,
                           file_name: str | None = None) -> ImportReport:
    """Check every row of COA's list, then start a trajectory per new person.

    A file with any bad row starts nothing unless `only_valid`. A person imported before (under the
    reference or under an older 32-bit one) is counted as already imported; a reference that belongs to
    another person's case is a bad row (a collision), never a silent skip. Each case started is noted with
    where its data came from: the file (`file_name`), the batch and the time (the person's right of access).
    """
    check_actor(actor)
    served = service.municipalities if service.municipalities is not None else frozenset(service.library.profiles)
    rows, problems = parse(data, key=key, municipalities=set(served))
    people = queries.people_of(service.engine, [r.case_ref for r in rows] + [r.legacy_ref for r in rows],
                               "v_nummer")
    report = ImportReport()
    new: list[Koppeling] = []
    for row in rows:
        if row.case_ref in people:
            if people[row.case_ref] == row.v_nummer:
                report.already.append(row.case_ref)
            else:
                problems.append(RowProblem(row.line, COLLISION))
        elif row.legacy_ref in people and people[row.legacy_ref] == row.v_nummer:
            report.already.append(row.legacy_ref)  # imported before 64-bit references: it keeps its own
        else:
            new.append(row)
    report.problems = sorted(problems, key=lambda p: p.line)
    if report.problems and not only_valid:
        report.refused = True
        return report
    if dry_run:
        report.started = [row.case_ref for row in new]
        return report
    # Alike starts (same municipality and date) side by side: a batch then needs the engine once or twice
    # (app.stamping); the report keeps the file's order.
    new.sort(key=lambda row: (row.municipality, row.koppelingsdatum, row.line))
    started: set[str] = set()
    for start in range(0, len(new), batch):
        chunk = new[start:start + batch]
        source = CaseSource(SOURCE, file=file_name, batch=start // batch + 1)
        done = set(service.start_many([_new_case(row) for row in chunk], actor=actor, source=source))
        started |= done
        _count_concurrent(service, [row for row in chunk if row.case_ref not in done], report)
    report.started = [row.case_ref for row in sorted(new, key=lambda row: row.line) if row.case_ref in started]
    report.problems.sort(key=lambda p: p.line)
    return report


def _new_case(row: Koppeling) -> NewCase:
    return NewCase(case_ref=row.case_ref, definition=DEFINITION, municipality=row.municipality,
                   start_message=START_MESSAGE, occurred_on=row.koppelingsdatum, personal=row.personal)


def _count_concurrent(service: CaseService, skipped: list[Koppeling], report: ImportReport) -> None:
    # Started by another import between our look and our insert: the same person, or (1 in 2^64) not.
    if not skipped:
        return
    people = queries.people_of(service.engine, [row.case_ref for row in skipped], "v_nummer")
    for row in skipped:
        if people.get(row.case_ref) == row.v_nummer:
            report.already.append(row.case_ref)
        else:
            report.problems.append(RowProblem(row.line, COLLISION))

"""Import newly linked statushouders from COA's koppeling list (CSV) and start their trajectories.

Columns (header row required; `;` or `,` as separator, UTF-8 with or without BOM, as Excel saves it):

| column            | required | meaning                                                      | kept where          |
|-------------------|----------|--------------------------------------------------------------|---------------------|
| `v_nummer`        | yes      | COA/IND V-number, 10 digits                                  | case store (personal) |
| `koppelingsdatum` | yes      | date of the koppeling, YYYY-MM-DD (or DD-MM-YYYY)            | case (anchor)       |
| `gemeente`        | yes      | the municipality profile id, e.g. `tilburg`                  | case                |
| `naam`            | no       | full name                                                    | case store (personal) |
| `geboortedatum`   | no       | date of birth                                                | case store (personal) |
| `azc`             | no       | the asylum centre the person lives in                        | case store (personal) |

Every row is checked before anything is started; a file with bad rows starts nothing, unless the
caller asks for the good rows only. The case reference is a keyed hash of the V-number (HMAC with the
municipality's secret `REGIE_PSEUDONYM_KEY`): the same person always gets the same reference, so
importing a file twice starts nothing twice, and nobody without the key can turn a reference back
into a V-number.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

REQUIRED = ("v_nummer", "koppelingsdatum", "gemeente")
OPTIONAL = ("naam", "geboortedatum", "azc")
PERSONAL = ("v_nummer", "naam", "geboortedatum", "azc")
DEFINITION = "asielstatushouder"
START_MESSAGE = "koppeling"
_V_NUMMER = re.compile(r"^\d{10}$")


@dataclass(frozen=True)
class RowProblem:
    """One bad row: its line number in the file (the header is line 1) and what is wrong."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class Koppeling:
    """One valid row, ready to start a trajectory."""

    line: int
    case_ref: str
    municipality: str
    koppelingsdatum: date
    personal: dict[str, str]


@dataclass
class ImportReport:
    """What an import did (or, for a dry run or a refused file, would do)."""

    started: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    refused: bool = False

    def summary(self) -> str:
        """One line for people; case references only."""
        text = f"{len(self.started)} started, {len(self.already)} already imported, {len(self.problems)} bad row(s)"
        return text + (" — nothing imported because of bad rows" if self.refused else "")


class KoppelingFileError(Exception):
    """The file cannot be read as a koppeling list at all (no header, missing columns)."""


def case_ref_for(v_nummer: str, municipality: str, koppelingsdatum: date, key: bytes) -> str:
    """The pseudonymous case reference of a person: stable, and meaningless without the key."""
    digest = hmac.new(key, v_nummer.encode("ascii"), hashlib.sha256).hexdigest()[:8].upper()
    return f"{municipality[:3].upper()}-{koppelingsdatum.year}-{digest}"


def parse(text: str, *, key: bytes, municipalities: set[str]) -> tuple[list[Koppeling], list[RowProblem]]:
    """Check every row; return the valid ones and every problem (with its line number)."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise KoppelingFileError("the file is empty")
    dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=";,")
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise KoppelingFileError(f"line 1: missing column(s) {', '.join(missing)} (columns: {', '.join(header)})")
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise KoppelingFileError(f"line 1: unknown column(s) {', '.join(unknown)}")
    reader.fieldnames = header
    rows: list[Koppeling] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        row = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        reasons = _check_row(row, municipalities)
        if row.get("v_nummer") in seen:
            reasons.append(f"same v_nummer as line {seen[row['v_nummer']]}")
        if reasons:
            problems.append(RowProblem(line, "; ".join(reasons)))
            continue
        seen[row["v_nummer"]] = line
        when = _date(row["koppelingsdatum"])
        personal = {k: row[k] for k in PERSONAL if row.get(k)}
        rows.append(Koppeling(line, case_ref_for(row["v_nummer"], row["gemeente"], when, key), row["gemeente"],
                              when, personal))
    return rows, problems


def _check_row(row: dict[str, str], municipalities: set[str]) -> list[str]:
    reasons = [f"{c} is empty" for c in REQUIRED if not row.get(c)]
    if row.get("v_nummer") and not _V_NUMMER.match(row["v_nummer"]):
        reasons.append("v_nummer must be 10 digits")
    for column in ("koppelingsdatum", "geboortedatum"):
        if row.get(column):
            try:
                _date(row[column])
            except ValueError:
                # Echo the value only for process data: a date of birth is personal, even a malformed one.
                shown = f" '{row[column]}'" if column not in PERSONAL else ""
                reasons.append(f"{column}{shown} is not a date (YYYY-MM-DD or DD-MM-YYYY)")
    if row.get("gemeente") and row["gemeente"] not in municipalities:
        reasons.append(f"unknown gemeente '{row['gemeente']}' (known: {', '.join(sorted(municipalities))})")
    return reasons


def _date(text: str) -> date:
    for pattern in ("%Y-%m-%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(text)


def import_koppelingen(text: str, *, key: bytes, municipalities: set[str], exists: Callable[[str], bool],
                       start: Callable[[Koppeling], Any], only_valid: bool = False,
                       dry_run: bool = False) -> ImportReport:
    """Validate the whole file, then start a trajectory per new row through `start`.

    A file with any bad row starts nothing unless `only_valid`. Rows whose case already exists are
    skipped, so the same file can be imported again safely.
    """
    rows, problems = parse(text, key=key, municipalities=municipalities)
    report = ImportReport(problems=problems)
    if problems and not only_valid:
        report.refused = True
        return report
    for row in rows:
        if exists(row.case_ref):
            report.already.append(row.case_ref)
            continue
        if not dry_run:
            start(row)
        report.started.append(row.case_ref)
    return report

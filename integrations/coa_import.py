"""COA's list of newly linked statushouders (CSV): read as offices send it, every row checked, each
person's pseudonymous case reference made. Starting the trajectories is `app.imports`.

Columns (a header row is required; names in any order and case):

| column            | required | meaning                                                      | kept where          |
|-------------------|----------|--------------------------------------------------------------|---------------------|
| `v_nummer`        | yes      | COA/IND V-number, 10 digits                                  | case store (personal) |
| `koppelingsdatum` | yes      | date of the koppeling, YYYY-MM-DD (or DD-MM-YYYY)            | case (anchor)       |
| `gemeente`        | yes      | the municipality, e.g. `tilburg`                             | case                |
| `naam`            | no       | full name                                                    | case store (personal) |
| `geboortedatum`   | no       | date of birth                                                | case store (personal) |
| `azc`             | no       | the asylum centre the person lives in                        | case store (personal) |

The file as offices send it: UTF-8 with or without BOM, UTF-16 (with BOM, or recognised by its zero
bytes) or Windows-1252 (what Excel saves as "CSV" on a Dutch Windows); `;`, `,` or tab between columns
(read from the header); Windows, Unix or old Mac line ends. A file that is none of these, or whose
structure is broken (a quote that is not closed, so rows run into each other), is refused as a whole
with the line where it goes wrong: a person must never silently disappear into another row. A row
with the wrong number of columns or a bad value is a bad row, named by its line.

Problems name the line, the column and the rule, never a value from the file: the file holds names,
V-numbers and dates of birth, and these messages end up in terminals, Prefect run states and logs.

Case references: `XXX-YYYY-<16 hex digits>`, the municipality's first three letters, the year of the
koppeling and 64 bits of an HMAC-SHA512 of the V-number with the municipality's secret
(`REGIE_PSEUDONYM_KEY`): the same person always gets the same reference, nobody without the key can
turn it back into a V-number, and two people share one only by a 1 in 2^64 chance, which the import
still checks (`app.imports`). The 64 bits are the first 16 hex digits that make a valid reference
(`integrations.safe_text`: at least one digit, never nine digits in a row); almost always the first.
Before this, references kept 32 bits (`legacy_case_ref`): those cases keep their reference, and a new
import of the same V-number finds them.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import hmac
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from integrations.safe_text import is_case_ref, text_problem

REQUIRED = ("v_nummer", "koppelingsdatum", "gemeente")
OPTIONAL = ("naam", "geboortedatum", "azc")
PERSONAL = ("v_nummer", "naam", "geboortedatum", "azc")
DEFINITION = "asielstatushouder"
START_MESSAGE = "koppeling"
DELIMITERS = (";", ",", "\t")
MAX_BYTES = 100 * 1024 * 1024
"""Largest file read (about a million rows)."""
MAX_VALUE = 500
"""Longest value in a column (a name, an AZC)."""
FIRST_YEAR, LAST_YEAR = 2000, 2199
_V_NUMMER = re.compile(r"[0-9]{10}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class RowProblem:
    """One bad row: its line number in the file (the header is line 1) and what is wrong."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"regel {self.line}: {self.reason}"


@dataclass(frozen=True)
class Koppeling:
    """One valid row, ready to start a trajectory."""

    line: int
    case_ref: str
    legacy_ref: str
    v_nummer: str
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
        """One line for people; counts only."""
        text = (f"{len(self.started)} gestart, {len(self.already)} al geïmporteerd, "
                f"{len(self.problems)} foute regel(s)")
        return text + (" — niets geïmporteerd vanwege foute regels" if self.refused else "")


class KoppelingFileError(ValueError):
    """The file cannot be read as a koppeling list at all; the message names the line, never content."""


# --- case references -----------------------------------------------------------------------------

def case_ref_for(v_nummer: str, municipality: str, koppelingsdatum: date, key: bytes) -> str:
    """The pseudonymous case reference of a person: 64 bits of a keyed hash, meaningless without the key."""
    letters = re.sub(r"[^A-Z]", "", municipality.upper())
    prefix = f"{letters[:3] if len(letters) >= 2 else 'COA'}-{koppelingsdatum.year:04d}-"
    digest = hmac.new(key, v_nummer.encode("ascii"), hashlib.sha512).hexdigest().upper()
    for start in range(0, len(digest), 16):
        ref = prefix + digest[start:start + 16]
        if is_case_ref(ref):
            return ref
    raise KoppelingFileError("geen geldige zaakreferentie te maken")  # every window failed: 1 in 10^13


def legacy_case_ref(v_nummer: str, municipality: str, koppelingsdatum: date, key: bytes) -> str:
    """The reference imports made before 64-bit references (32 bits of HMAC-SHA256); kept for lookups."""
    digest = hmac.new(key, v_nummer.encode("ascii"), hashlib.sha256).hexdigest()[:8].upper()
    return f"{municipality[:3].upper()}-{koppelingsdatum.year}-{digest}"


# --- reading the file ----------------------------------------------------------------------------

def decode(data: bytes) -> str:
    """The file's text: UTF-8 (BOM or not), UTF-16 (BOM, or its zero bytes) or Windows-1252."""
    if len(data) > MAX_BYTES:
        raise KoppelingFileError(f"het bestand is groter dan {MAX_BYTES // (1024 * 1024)} MB")
    if data.startswith(codecs.BOM_UTF8):
        text = _decode(data[len(codecs.BOM_UTF8):], "utf-8")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _decode(data, "utf-16")
    elif (utf16 := _utf16_without_bom(data)) is not None:
        text = _decode(data, utf16)
    elif b"\x00" in data:
        raise KoppelingFileError("geen tekstbestand: het bevat nulbytes")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _decode(data, "cp1252")
    if (found := _CONTROL.search(text)) is not None:
        line = text.count("\n", 0, found.start()) + 1
        raise KoppelingFileError(f"regel {line}: geen tekstbestand: het bevat stuurtekens")
    return text


def _decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise KoppelingFileError("geen tekst in UTF-8, UTF-16 of Windows-1252") from None


def _utf16_without_bom(data: bytes) -> str | None:
    # Text in UTF-16 has a zero byte in every other position (for the Latin letters a CSV is made of).
    sample = data[:4000]
    if len(sample) < 4 or len(sample) % 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd > 0.7 * half and even < 0.1 * half:
        return "utf-16-le"
    if even > 0.7 * half and odd < 0.1 * half:
        return "utf-16-be"
    return None


def _header(text: str) -> tuple[str, list[str]]:
    """The delimiter and the column names, read from the first line."""
    first = text.split("\n", 1)[0].split("\r", 1)[0]
    best: tuple[int, str, list[str]] | None = None
    for delimiter in DELIMITERS:
        try:
            names = [n.strip().lower() for n in next(csv.reader([first], delimiter=delimiter, strict=True))]
        except (csv.Error, StopIteration):
            continue
        score = sum(n in REQUIRED + OPTIONAL for n in names)
        if best is None or score > best[0]:
            best = (score, delimiter, names)
    if best is None or not set(REQUIRED) <= set(best[2]):
        missing = [c for c in REQUIRED if best is None or c not in best[2]]
        raise KoppelingFileError(f"regel 1: geen kopregel met de kolommen {', '.join(REQUIRED)} "
                                 f"(gescheiden door ; , of tab); ontbreekt: {', '.join(missing)}")
    _, delimiter, names = best
    for position, name in enumerate(names, start=1):
        if name not in REQUIRED + OPTIONAL:
            raise KoppelingFileError(f"regel 1: kolom {position} is geen bekende kolom "
                                     f"(bekend: {', '.join(REQUIRED + OPTIONAL)})")
        if names.index(name) != position - 1:
            raise KoppelingFileError(f"regel 1: kolom {name} staat er twee keer in")
    return delimiter, names


def parse(data: bytes | str, *, key: bytes, municipalities: set[str] | frozenset[str]
          ) -> tuple[list[Koppeling], list[RowProblem]]:
    """Check every row; return the valid ones and every problem (with its line number).

    Raises `KoppelingFileError` for a file that cannot be read as a koppeling list at all.
    """
    text = decode(data) if isinstance(data, bytes) else data.removeprefix("\ufeff")
    if not text.strip():
        raise KoppelingFileError("het bestand is leeg")
    delimiter, header = _header(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[Koppeling] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    refs: dict[str, tuple[int, str]] = {}
    line = 0
    try:
        next(reader)
        line = reader.line_num
        for cells in reader:
            start, line = line + 1, reader.line_num
            if line > start:
                raise KoppelingFileError(f"regel {start}: een aanhalingsteken wordt niet gesloten "
                                         f"(de rij loopt door tot regel {line})")
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header) and not (len(cells) > len(header) and not any(cells[len(header):])):
                problems.append(RowProblem(start, f"{len(cells)} kolommen, verwacht {len(header)}"))
                continue
            row = dict(zip(header, (cell.strip() for cell in cells)))
            koppeling, reasons = _row(start, row, key, municipalities)
            if koppeling is not None:
                if koppeling.v_nummer in seen:
                    reasons.append(f"zelfde v_nummer als regel {seen[koppeling.v_nummer]}")
                elif koppeling.case_ref in refs:
                    reasons.append(f"zelfde zaakreferentie als regel {refs[koppeling.case_ref][0]} bij een ander "
                                   "v_nummer (botsing van de sleutel); meld dit aan de beheerder")
            if reasons:
                problems.append(RowProblem(start, "; ".join(reasons)))
                continue
            assert koppeling is not None
            seen[koppeling.v_nummer] = start
            refs[koppeling.case_ref] = (start, koppeling.v_nummer)
            rows.append(koppeling)
    except csv.Error as exc:
        # The row that broke starts on the line after the last good one; csv's messages name characters
        # of its grammar, never content.
        if "unexpected end of data" in str(exc):
            reason = "een aanhalingsteken wordt niet gesloten (de rij loopt door tot het einde van het bestand)"
        else:
            reason = f"geen geldige CSV ({exc})"
        raise KoppelingFileError(f"regel {line + 1}: {reason}") from None
    return rows, problems


def _row(line: int, row: dict[str, str], key: bytes, municipalities: set[str] | frozenset[str]
         ) -> tuple[Koppeling | None, list[str]]:
    reasons = [f"{c} is leeg" for c in REQUIRED if not row.get(c)]
    v_nummer = row.get("v_nummer", "")
    if v_nummer and not _V_NUMMER.fullmatch(v_nummer):
        reasons.append("v_nummer is geen 10 cijfers")
    dates: dict[str, date] = {}
    for column in ("koppelingsdatum", "geboortedatum"):
        if row.get(column):
            try:
                dates[column] = _date(row[column])
            except ValueError:
                reasons.append(f"{column} is geen datum (JJJJ-MM-DD of DD-MM-JJJJ)")
    when = dates.get("koppelingsdatum")
    if when is not None and not FIRST_YEAR <= when.year <= LAST_YEAR:
        reasons.append(f"koppelingsdatum ligt niet tussen {FIRST_YEAR} en {LAST_YEAR}")
    municipality = row.get("gemeente", "")
    if municipality and municipality not in municipalities:
        reasons.append(f"gemeente is geen bekende gemeente (bekend: {', '.join(sorted(municipalities))})")
    for column in ("naam", "azc"):
        if row.get(column) and (problem := text_problem(row[column], MAX_VALUE)):
            reasons.append(f"{column}: {problem}")
    if reasons or when is None:
        return None, reasons
    personal = {k: row[k] for k in PERSONAL if row.get(k)}
    if "geboortedatum" in dates:
        personal["geboortedatum"] = dates["geboortedatum"].isoformat()
    return Koppeling(line, case_ref_for(v_nummer, municipality, when, key),
                     legacy_case_ref(v_nummer, municipality, when, key), v_nummer, municipality, when,
                     personal), []


def _date(text: str) -> date:
    for pattern in ("%Y-%m-%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError("not a date")

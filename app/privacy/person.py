"""Inzage, erasure and retention of one person's data: everything goes through the case service's store.

- `export_person`: everything Regie holds about the person of a case (art. 15 AVG), as JSON-ready data;
  the read is logged in the same transaction.
- `erase_person`: removes the personal data (the personal-data row, the case data fields that are not
  process data, the free words of the history, the stored texts of sent messages) and keeps the
  pseudonymous process: every fact, date, verdict and delivery, so every figure stays what it was.
- `expired` / `erase_expired`: closed cases past their retention period (a parameter per definition or
  profile, `bewaartermijn_persoonsgegevens`; Regie's default below) and their erasure by the scheduled flow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.cases import CaseService
from app.errors import InputRefused
from app.inputs import check_case_ref
from app.privacy.access import check_operator, check_reason
from engine.calendar import NL, local_date
from engine.durations import parse_duration
from engine.process import Process
from store import privacy as store
from store.db import write_transaction
from store.errors import CaseConflict, CaseNotFound, UnknownDefinition

RETENTION_PARAMETER = "bewaartermijn_persoonsgegevens"
RUNNING = ("new", "active", "stuck")
RETENTION_OPERATOR = "bewaartermijn"
"""The operator name the retention flow records: it is no person but the rule."""
RETENTION_REASON = "bewaartermijn verstreken"


@dataclass(frozen=True)
class Retention:
    """How long a closed case keeps its personal data, and where that period comes from."""

    period: str
    source: str
    uncertain: bool = False

    def ends_on(self, closed_on: date) -> date:
        """The last day the personal data may be kept."""
        return parse_duration(self.period).after(closed_on)


DEFAULT_RETENTION = Retention(
    period="P7Y",
    source="Regie's standaard, naar de Selectielijst gemeenten en intergemeentelijke organen 2020 (VNG) voor "
           "dossiers van de uitvoering van de Wet inburgering; ONZEKER: het juiste resultaattype en de termijn "
           "moeten door de gemeentelijke archivaris (DIV) worden bevestigd",
    uncertain=True)
"""The period when neither the case's definition nor its profile names one (docs/privacy.md)."""


@dataclass(frozen=True)
class Expired:
    """A closed case whose personal data is past its retention period."""

    case_ref: str
    status: str
    closed_on: date
    kept_until: date
    retention: Retention


@dataclass(frozen=True)
class Erasure:
    """What an erasure removed (counts and field names; never the values)."""

    case_ref: str
    personal_fields: list[str]
    case_data_fields: list[str]
    version: int


def personal_field_names(process: Process | None, data: dict[str, Any]) -> list[str]:
    """The case data fields that are personal: not declared as process data (or a case reference).
    Without the process (a definition that cannot be read), every field counts as personal."""
    if process is None:
        return sorted(data)
    fields = process.data_fields
    return sorted(name for name in data if name not in fields or not fields[name].privacy.may_leave_case_store)


def _process(service: CaseService, definition: str, profile: str | None) -> Process | None:
    try:
        return service.process_for(definition, profile)
    except UnknownDefinition:
        return None


def show_personal(service: CaseService, case_ref: str, *, operator: str, reason: str) -> dict[str, Any]:
    """The personal data of a case (the personal-data row and the personal case data fields), for an
    operator's screen; the read is logged."""
    check_case_ref(case_ref)
    operator, reason = check_operator(operator), check_reason(reason)
    with write_transaction(service.engine) as conn:
        found = store.person_file(conn, case_ref)
        if found is None:
            raise CaseNotFound(case_ref)
        store.record_access(conn, case_ref, at=service.now(), operator=operator, action="show", reason=reason)
    case = found.case
    data = case["state"].get("data", {})
    names = personal_field_names(_process(service, case["definition"], case["profile"]), data)
    return {**found.personal, **{name: data[name] for name in names}}


def export_person(service: CaseService, case_ref: str, *, operator: str, reason: str) -> dict[str, Any]:
    """Everything Regie holds about the person of a case, as JSON-ready data (Dutch keys, Dutch time).
    The export is logged first, in the same transaction, so it lists itself."""
    check_case_ref(case_ref)
    operator, reason = check_operator(operator), check_reason(reason)
    now = service.now()
    with write_transaction(service.engine) as conn:
        if not store.case_exists(conn, case_ref):
            raise CaseNotFound(case_ref)
        store.record_access(conn, case_ref, at=now, operator=operator, action="export", reason=reason)
        found = store.person_file(conn, case_ref)
    assert found is not None  # it existed a moment ago in this transaction
    case = found.case
    process = _process(service, case["definition"], case["profile"])
    data = case["state"].get("data", {})
    fields = process.data_fields if process else {}
    retention = retention_of(service, case["definition"], case["profile"])
    return {
        "zaak": case_ref,
        "gemaakt_op": dutch_time(now),
        "gemaakt_door": operator,
        "gemeente": case["municipality"],
        "proces": case["definition"],
        "profiel": case["profile"],
        "status": case["status"],
        "fase": case["phase"],
        "gestart_op": dutch_time(case["created_at"]),
        "laatst_gewijzigd_op": dutch_time(case["updated_at"]),
        "persoonsgegevens": found.personal,
        "zaakgegevens": [{"veld": name, "waarde": value,
                          "categorie": fields[name].privacy.value if name in fields else "onbekend"}
                         for name, value in sorted(data.items())],
        "geschiedenis": [{"op": dutch_time(h["at"]), "vastgelegd_op": dutch_time(h["recorded_at"]), "door": h["actor"],
                          "wat": h["kind"], "over": h["ref"], "toelichting": h["detail"], "stap": h["element"],
                          "termijn": h["clock"], "uiterlijk": _day(h["due_on"]), "oordeel": h["verdict"]}
                         for h in found.history],
        "berichten": [{"rol": d["role"], "ontvanger": d["recipient"], "sjabloon": d["template"],
                       "soort": d["kind"], "uitkomst": d["outcome"], "aangemaakt_op": dutch_time(d["created_at"]),
                       "afgeleverd_op": dutch_time(d["delivered_at"]), "onderwerp": d["subject"], "tekst": d["body"]}
                      for d in found.deliveries],
        "partnerlinks": [{"rol": link["role"], "ontvanger": link["recipient"], "soort": link["kind"],
                          "stap": link["step"], "uitgegeven_op": dutch_time(link["issued_at"]),
                          "geldig_tot": dutch_time(link["expires_at"]), "gebruikt_op": dutch_time(link["used_at"]),
                          "ingetrokken_op": dutch_time(link["revoked_at"]), "uitkomst": link["outcome"]}
                         for link in found.links],
        "herkomst": _provenance(found),
        "bewaartermijn": {"termijn": retention.period, "bron": retention.source, "onzeker": retention.uncertain,
                          "geldt_na": "het afsluiten van de zaak (status completed of terminated)"},
        "inzagelog": [{"op": dutch_time(a.at), "medewerker": a.operator, "handeling": a.action, "reden": a.reason}
                      for a in found.access],
    }


def _provenance(found: store.PersonFile) -> list[dict[str, Any]]:
    # Where the data came from: the imports that brought it (file, batch, time), else who started the case.
    fields = sorted(found.personal)
    if found.sources:
        return [{"bron": "COA-koppelingslijst (import)" if s["source"] == "coa-import" else s["source"],
                 "bestand": s["file"], "partij": s["batch"], "op": dutch_time(s["recorded_at"]),
                 "persoonsgegevens": fields} for s in found.sources]
    started = next((h for h in found.history if h["event"] == "started"), None)
    if started is None:
        return []
    return [{"bron": f"ingevoerd door {started['actor']}", "bestand": None, "partij": None,
             "op": dutch_time(started["recorded_at"]), "persoonsgegevens": fields}]


def access_log(service: CaseService, case_ref: str) -> list[store.Access]:
    """Who read or erased the personal data of a case, when and why; oldest first."""
    check_case_ref(case_ref)
    with write_transaction(service.engine) as conn:
        if not store.case_exists(conn, case_ref):
            raise CaseNotFound(case_ref)
    return store.access_log(service.engine, case_ref)


def erase_person(service: CaseService, case_ref: str, *, operator: str, reason: str,
                 running_too: bool = False) -> Erasure:
    """Erase the personal data of a case (see the module docstring). A running case is refused unless
    `running_too`: its process may still need the data."""
    check_case_ref(case_ref)
    operator, reason = check_operator(operator), check_reason(reason)
    now = service.now()
    with write_transaction(service.engine) as conn:
        row = store.load_for_erasure(conn, case_ref)
        if row is None:
            raise CaseNotFound(case_ref)
        if row["status"] in RUNNING and not running_too:
            raise InputRefused(f"zaak {case_ref} loopt nog (status {row['status']}): het proces heeft de gegevens "
                               "mogelijk nog nodig; wis na afsluiten, of bewust nu met --ook-lopend")
        found = store.person_file(conn, case_ref)
        state = dict(row["state"])
        data = dict(state.get("data", {}))
        removed = personal_field_names(_process(service, row["definition"], row["profile"]), data)
        state["data"] = {k: v for k, v in data.items() if k not in removed}
        if not store.erase(conn, case_ref, based_on=row["version"], state=state, now=now, operator=operator,
                           reason=reason):
            raise CaseConflict(case_ref, row["version"], row["version"] + 1)
    return Erasure(case_ref=case_ref, personal_fields=sorted(found.personal) if found else [],
                   case_data_fields=removed, version=row["version"] + 1)


def retention_of(service: CaseService, definition: str, profile: str | None) -> Retention:
    """The retention period of a case's personal data: the profile's value, else its definition's, else
    Regie's default; with where it comes from."""
    process = _process(service, definition, profile)
    if process is None or RETENTION_PARAMETER not in process.params:
        return DEFAULT_RETENTION
    period = str(process.params[RETENTION_PARAMETER])
    chosen = service.library.profiles.get(profile) if profile else None
    if chosen is not None and RETENTION_PARAMETER in chosen.parameters:
        return Retention(period, f"profiel {profile} (lokaal besluit)")
    declared = next(d.parameters[RETENTION_PARAMETER] for d in process.definitions.values()
                    if RETENTION_PARAMETER in d.parameters)
    return Retention(period, declared.source, uncertain="ONZEKER" in declared.source.upper())


def expired(service: CaseService, today: date | None = None) -> list[Expired]:
    """Closed cases whose retention period has ended before `today` (Dutch date; default: now)."""
    today = today or local_date(service.now())
    found = []
    for case in store.closed_not_erased(service.engine):
        retention = retention_of(service, case.definition, case.profile)
        closed_on = local_date(case.closed_at)
        kept_until = retention.ends_on(closed_on)
        if kept_until < today:
            found.append(Expired(case.case_ref, case.status, closed_on, kept_until, retention))
    return found


def erase_expired(service: CaseService) -> dict[str, int]:
    """Erase every case past its retention period; counts only (what the flow's artifact shows)."""
    due = expired(service)
    erased = conflicts = 0
    for case in due:
        try:
            erase_person(service, case.case_ref, operator=RETENTION_OPERATOR, reason=RETENTION_REASON)
            erased += 1
        except CaseConflict:  # changed meanwhile (reopened?): the next run looks again
            conflicts += 1
    return {"verlopen": len(due), "gewist": erased, "overgeslagen": conflicts}


def dutch_time(moment: datetime | None) -> str | None:
    return moment.astimezone(NL).isoformat(timespec="seconds") if moment else None


def _day(day: date | None) -> str | None:
    return day.isoformat() if day else None

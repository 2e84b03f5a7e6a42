"""The person's rights under the AVG on the case store (SQLite and PostgreSQL): inzage (export), erasure
that keeps the pseudonymous history, retention, and the log of who looked (docs/privacy.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from app.cases import CaseService
from app.errors import InputRefused
from app.privacy.document import render_document
from app.privacy.person import (
    DEFAULT_RETENTION,
    access_log,
    erase_expired,
    erase_person,
    expired,
    export_person,
    show_personal,
)
from engine.deliveries import DeliveryMeta
from store.db import write_transaction
from store.deliveries import SqlDeliveryLedger
from store.links import LinkRecord, issue
from tests.store.conftest import FakeClock, rows, start

REF = "RMD-2026-0001"
PERSONAL = {"naam": "Amira Haddad", "bsn": "123456782", "telefoon": "06-12345678"}
SECRETS = ("Amira", "Haddad", "123456782", "06-12345678", "astma")
WHY = "inzageverzoek art. 15 AVG"


def a_case_with_everything(service: CaseService, clock: FakeClock) -> None:
    """A case started by the COA import with personal data, a personal case field, a special (health)
    field, a message sent to a partner in a digest and a partner link."""
    start(service, personal=PERSONAL, data={"naam": "Amira Haddad", "opmerking": "ochtend",
                                             "ontheffing_besluit": "volledig"})
    ledger = SqlDeliveryLedger(service.engine)
    meta = DeliveryMeta(message_key=f"{REF}:notify:1", recipient="coa_zuid", case_ref=REF, role="coa",
                        template="bericht", kind="message")
    ledger.queue(meta, at=clock.now, subject="Zaak RMD-2026-0001: klantprofiel", body="Een stap voor u (astma)")
    ledger.mark_digested(ledger.queued(), digest_key="digest-1", at=clock.now, service="mailto")
    issue(service.engine, LinkRecord(id="a" * 32, case_ref=REF, kind="step", step="klantprofiel", task_id=None,
                                     role="coa", recipient="coa_zuid", issued_at=clock.now,
                                     expires_at=clock.now + timedelta(days=14)))
    clock.advance(hours=1)


def close(service: CaseService, clock: FakeClock) -> None:
    """Take the tour to its end (status completed)."""
    service.complete_step(case_ref=REF, task="klantprofiel", data={"scenario": "snelle_start"}, actor="anna")
    service.complete_step(case_ref=REF, task="taalspoor", data={"intake_afgerond": True}, actor="anna")
    for _ in range(5):
        clock.advance(days=10)
        service.fire_due_timers()
    assert service.show_case(REF).status == "completed"


def everything_stored(engine: sa.Engine) -> str:
    """Every row of every table of the case store, as text."""
    return "\n".join(str(row) for table in SQLModel.metadata.tables for row in rows(engine, f"SELECT * FROM {table}"))


def test_the_export_holds_everything_regie_keeps_about_the_person(service: CaseService, clock: FakeClock):
    a_case_with_everything(service, clock)

    export = export_person(service, REF, operator="anna", reason=WHY)

    assert export["persoonsgegevens"] == PERSONAL
    fields = {f["veld"]: (f["waarde"], f["categorie"]) for f in export["zaakgegevens"]}
    assert fields["naam"] == ("Amira Haddad", "identifying")
    assert fields["ontheffing_besluit"] == ("volledig", "special")
    assert fields["opmerking"] == ("ochtend", "process")
    assert any(h["wat"] == "task_opened" and h["over"] == "klantprofiel" for h in export["geschiedenis"])
    [message] = export["berichten"]
    assert (message["rol"], message["ontvanger"], message["uitkomst"], message["tekst"]) == (
        "coa", "coa_zuid", "delivered", "Een stap voor u (astma)")
    assert message["afgeleverd_op"] == "2026-03-02T09:00:00+01:00"  # Dutch time
    [link] = export["partnerlinks"]
    assert (link["rol"], link["ontvanger"], link["stap"]) == ("coa", "coa_zuid", "klantprofiel")
    assert export["herkomst"] == [{"bron": "ingevoerd door coa-import", "bestand": None, "partij": None,
                                   "op": "2026-03-02T09:00:00+01:00", "persoonsgegevens": ["bsn", "naam", "telefoon"]}]
    assert export["bewaartermijn"]["termijn"] == DEFAULT_RETENTION.period and export["bewaartermijn"]["onzeker"]
    # The export lists itself: it was logged before it was read.
    assert [(a["medewerker"], a["handeling"], a["reden"]) for a in export["inzagelog"]] == [("anna", "export", WHY)]

    text = render_document(export)
    assert "# Uw gegevens in Regie (zaak RMD-2026-0001)" in text
    assert "- naam: Amira Haddad" in text
    assert "bijzonder persoonsgegeven (gezondheid)" in text
    assert "aan coa (coa_zuid): bericht, delivered, afgeleverd 2026-03-02 09:00" in text
    assert "anna: inzage: export gemaakt; reden: inzageverzoek art. 15 AVG" in text


def test_erasure_removes_the_person_and_keeps_the_pseudonymous_history(service: CaseService, clock: FakeClock,
                                                                       engine: sa.Engine):
    a_case_with_everything(service, clock)
    close(service, clock)
    facts_before = rows(engine, "SELECT id, version, at, actor, event, kind, ref, element, clock, due_on, verdict "
                                "FROM case_history ORDER BY id")
    assert any(s in everything_stored(engine) for s in SECRETS)

    done = erase_person(service, REF, operator="anna", reason="verzoek tot wissen art. 17 AVG")

    stored = everything_stored(engine)
    assert [s for s in SECRETS if s in stored] == []
    assert done.case_data_fields == ["naam", "ontheffing_besluit"]
    assert service.personal_data(REF) == {}
    view = service.show_case(REF, history=1000)
    assert view.status == "completed" and view.data["opmerking"] == "ochtend"
    # Every fact stays; only the free words are blanked, and the erasure is one more line.
    facts_after = rows(engine, "SELECT id, version, at, actor, event, kind, ref, element, clock, due_on, verdict "
                               "FROM case_history ORDER BY id")
    assert facts_after[:-1] == facts_before
    assert (facts_after[-1].kind, facts_after[-1].actor, facts_after[-1].version) == (
        "personal_data_erased", "anna", view.version)
    assert rows(engine, "SELECT COUNT(*) FROM case_history WHERE detail <> ''")[0][0] == 0
    [delivery] = rows(engine, "SELECT outcome, delivered_at, subject, body FROM deliveries")
    assert (delivery.outcome, delivery.subject, delivery.body) == ("delivered", None, None)
    assert [(a.operator, a.action) for a in access_log(service, REF)] == [("anna", "erase")]


@pytest.mark.parametrize("sql", [
    "UPDATE case_history SET detail = ''",                      # the right change, without the marker
    "DELETE FROM case_history",
    "UPDATE personal_access SET operator = 'someone else'",
    "DELETE FROM personal_access",
])
def test_history_and_access_log_refuse_every_change_outside_the_erasure(service: CaseService, clock: FakeClock,
                                                                        engine: sa.Engine, sql: str):
    a_case_with_everything(service, clock)
    erase_person(service, REF, operator="anna", reason="verzoek tot wissen", running_too=True)
    before = everything_stored(engine)

    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with write_transaction(engine) as conn:
            conn.execute(sa.text(sql))

    assert everything_stored(engine) == before


@pytest.mark.parametrize("sql", [
    "UPDATE case_history SET actor = 'someone else', detail = ''",   # more than the free words
    "UPDATE case_history SET detail = 'rewritten'",                  # not a blanking
    "DELETE FROM case_history",
])
def test_even_with_the_erasure_marker_only_blanking_the_words_passes(service: CaseService, engine: sa.Engine,
                                                                     sql: str):
    start(service)

    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with write_transaction(engine) as conn:
            conn.execute(sa.text("INSERT INTO history_redaction (case_ref) VALUES (:ref)"), {"ref": REF})
            conn.execute(sa.text(sql))

    assert rows(engine, "SELECT COUNT(*) FROM history_redaction")[0][0] == 0
    assert rows(engine, "SELECT COUNT(*) FROM case_history WHERE actor = 'someone else' OR detail = 'rewritten'"
                )[0][0] == 0


def test_a_running_case_is_erased_only_on_purpose_and_a_refusal_changes_nothing(service: CaseService,
                                                                                 clock: FakeClock, engine: sa.Engine):
    a_case_with_everything(service, clock)
    before = everything_stored(engine)

    with pytest.raises(InputRefused, match="loopt nog"):
        erase_person(service, REF, operator="anna", reason="verzoek")

    assert everything_stored(engine) == before
    erase_person(service, REF, operator="anna", reason="verzoek", running_too=True)
    assert service.personal_data(REF) == {}


@pytest.mark.parametrize(("operator", "reason", "refusal"), [
    (None, WHY, "noem wie dit doet"),
    ("", WHY, "noem wie dit doet"),
    ("anna de vries", WHY, "medewerkercode"),
    ("anna", "", "noem de reden"),
    ("anna", "verzoek van 123456782", "geen persoonsgegevens"),
    ("anna", "mail van amira@example.org", "geen persoonsgegevens"),
    ("anna", "x" * 201, "langer dan 200"),
])
def test_reading_personal_data_needs_an_operator_and_a_reason(service: CaseService, clock: FakeClock,
                                                              engine: sa.Engine, operator, reason, refusal):
    a_case_with_everything(service, clock)
    before = everything_stored(engine)

    for read in (export_person, show_personal, erase_person):
        with pytest.raises(InputRefused, match=refusal):
            read(service, REF, operator=operator, reason=reason)

    assert everything_stored(engine) == before


def test_every_read_of_personal_data_is_in_the_access_log(service: CaseService, clock: FakeClock):
    a_case_with_everything(service, clock)

    shown = show_personal(service, REF, operator="anna", reason="telefonisch contact")
    clock.advance(hours=2)
    export_person(service, REF, operator="bram", reason=WHY)

    assert shown == {**PERSONAL, "ontheffing_besluit": "volledig"}
    log = access_log(service, REF)
    assert [(a.operator, a.action, a.reason) for a in log] == [
        ("anna", "show", "telefonisch contact"), ("bram", "export", WHY)]
    assert log[1].at - log[0].at == timedelta(hours=2)
    # It names the operator and the reason, never the person.
    assert [s for s in SECRETS if s in str(log)] == []


def test_retention_erases_closed_cases_after_their_period_and_a_dry_run_only_lists_them(
        service: CaseService, clock: FakeClock):
    a_case_with_everything(service, clock)
    start(service, "RMD-2026-0002", personal={"naam": "Tesfay Gebremedhin"})  # still running: never expires
    close(service, clock)
    closed_on = service.show_case(REF).updated_at

    clock.now = closed_on + timedelta(days=7 * 365)  # P7Y after the closing day is not over yet
    assert expired(service) == []
    clock.now = closed_on + timedelta(days=7 * 365 + 3)
    [due] = expired(service)
    assert (due.case_ref, due.status, due.retention) == (REF, "completed", DEFAULT_RETENTION)
    assert service.personal_data(REF) == PERSONAL  # listing erases nothing

    assert erase_expired(service) == {"verlopen": 1, "gewist": 1, "overgeslagen": 0}
    assert service.personal_data(REF) == {}
    assert service.personal_data("RMD-2026-0002") == {"naam": "Tesfay Gebremedhin"}
    assert [(a.operator, a.action, a.reason) for a in access_log(service, REF)] == [
        ("bewaartermijn", "erase", "bewaartermijn verstreken")]
    assert erase_expired(service) == {"verlopen": 0, "gewist": 0, "overgeslagen": 0}


def test_a_case_erased_while_it_ran_expires_again_once_it_has_closed(service: CaseService, clock: FakeClock):
    a_case_with_everything(service, clock)
    erase_person(service, REF, operator="anna", reason="verzoek tot wissen", running_too=True)
    close(service, clock)  # its steps may have brought personal data again
    closed_on = service.show_case(REF).updated_at

    clock.now = closed_on + timedelta(days=7 * 365 + 3)

    assert [case.case_ref for case in expired(service)] == [REF]
    assert erase_expired(service)["gewist"] == 1
    assert expired(service) == []

"""A case from koppeling to escalation, through the real case store, outbox and notifier to real peers.

The person's name and BSN are in the case store; the peers' privacy scan (conftest) checks that none of
it, and no health word, reaches any message. Time moves by the fake clock only.
"""

from __future__ import annotations

import pytest

from app.bootstrap import build_notifier
from app.cases import CaseService
from app.settings import get_settings
from engine.validator import validate_paths
from integrations.apprise_notifier import AppriseNotifier
from integrations.notifier import CaseNote, DeliveryIncomplete
from store.deliveries import SqlDeliveryLedger
from tests.notifications.conftest import CATALOG, FIXTURES, ROOT
from tests.notifications.privacy_scan import PEOPLE

CASE = "TST-2026-0042"


@pytest.fixture
def library():
    library, problems = validate_paths([CATALOG, ROOT / "tests" / "fixtures" / "definitions",
                                        FIXTURES / "testgemeente.yaml"])
    assert problems == []
    return library


@pytest.fixture
def service(sql_engine, library, clock) -> CaseService:
    return CaseService(sql_engine, library, clock)


@pytest.fixture
def notifier(sql_engine, library, clock, env, tmp_path) -> AppriseNotifier:
    # How a running Regie builds it: the one bootstrap's wiring, default settings, the ledger in the store.
    settings = get_settings(_env_file=None, data_dir=tmp_path, notifier="apprise")
    notifier = build_notifier(settings, library, SqlDeliveryLedger(sql_engine), sql_engine, clock, env)
    assert isinstance(notifier, AppriseNotifier)
    return notifier


def drain(service: CaseService, notifier: AppriseNotifier) -> list[CaseNote]:
    """What deliver-notifications does for notices: deliver, mark delivered, keep the notes for history."""
    notes: list[CaseNote] = []
    for item in service.pending_commands(500, types=["notify"]):
        try:
            report = notifier.deliver(item.command())
        except DeliveryIncomplete as exc:
            notes.extend(exc.report.notes)
            service.mark_failed(item.key, str(exc))
            continue
        notes.extend(report.notes)
        service.mark_delivered(item.key)
    return notes


def test_a_case_notifies_the_klantregisseur_its_coa_and_the_coordinator_without_personal_data(
        service, notifier, smtp, hooks, clock):
    service.start_trajectory(case_ref=CASE, definition="rondleiding", municipality="testdorp", actor="op-1",
                             start_message="koppeling", data={"partner_coa": "coa_azc_budel"},
                             personal={"naam": PEOPLE[0], "bsn": "111222333"}, profile="testgemeente")
    notes = drain(service, notifier)

    for days in (7, 4, 3, 1, 7):  # COA weekly (3 times), the reminder (P3D before), deadline + escalations
        clock.advance(days=days)
        service.fire_due_timers()
        notes += drain(service, notifier)

    assert service.personal_data(CASE)["naam"] == PEOPLE[0]  # it is there, and stays there
    klantregie = [m.subject for m in smtp.to("klantregie@testdorp.example")]
    assert klantregie == [f"Nieuwe taak voor zaak {CASE}: Klantprofiel ontvangen",
                          f"Herinnering: Klantprofiel ontvangen voor zaak {CASE} uiterlijk 16-03-2026"]
    assert [p.payload["title"] for p in hooks.at("backoffice")] == klantregie
    assert [m.subject for m in smtp.to("budel@coa.example")] == [f"Bericht over zaak {CASE}"] * 3  # days 7, 14, 21
    assert smtp.to("terapel@coa.example") == []
    assert [m.subject for m in smtp.to("coordinator@testdorp.example")] == \
        [f"Termijn verstreken: Klantprofiel ontvangen voor zaak {CASE}"] * 2
    assert notes == []
    assert service.pending_commands(500, types=["notify"]) == []
    assert {r.outcome.value for r in notifier.ledger.for_case(CASE)} == {"delivered"}
    assert len(notifier.ledger.for_case(CASE)) == len(smtp.mails) + len(hooks.posts)


def test_a_coa_message_for_a_case_that_names_no_coa_goes_to_the_coordinator_with_a_note(
        service, notifier, smtp, clock):
    service.start_trajectory(case_ref=CASE, definition="rondleiding", municipality="testdorp", actor="op-1",
                             start_message="koppeling", profile="testgemeente")
    drain(service, notifier)

    clock.advance(days=7)
    service.fire_due_timers()
    notes = drain(service, notifier)

    assert [(n.case_ref, n.kind, n.ref) for n in notes] == [(CASE, "notification_unroutable", "coa")]
    [mail] = smtp.to("coordinator@testdorp.example")
    assert mail.subject == f"Geen ontvanger voor rol coa in zaak {CASE}"
    assert smtp.to("budel@coa.example") == [] and smtp.to("terapel@coa.example") == []

"""Delivering outbox commands without a server: notices, case events, and what a failure leaves behind."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.delivery import deliver_batch
from engine.commands import EmitEvent, NotifyRole
from integrations.case_events import case_event, event_id
from integrations.notifier import LogNotifier, NotificationFailed

NOW = datetime(2026, 3, 2, 8, tzinfo=UTC)


def notice(key: str, role: str) -> NotifyRole:
    return NotifyRole(key=key, case_ref="RMD-1", role=role, template="taak_geopend",
                      context={"case_ref": "RMD-1", "step": "klantprofiel"})


def test_the_log_notifier_sends_each_key_once_and_keeps_a_ledger(tmp_path: Path):
    ledger = tmp_path / "notices.jsonl"
    notifier = LogNotifier(ledger=ledger)
    first = notifier.deliver(notice("RMD-1:5:notify", "klantregisseur"))
    second = notifier.deliver(notice("RMD-1:5:notify", "klantregisseur"))
    assert [c.key for c in notifier.sent] == ["RMD-1:5:notify"]
    assert (first.delivered, second.already) == (("klantregisseur",), ("klantregisseur",))
    # A new process (a new notifier on the same ledger) knows it was sent.
    again = LogNotifier(ledger=ledger)
    again.deliver(notice("RMD-1:5:notify", "klantregisseur"))
    assert again.sent == [] and len(ledger.read_text().splitlines()) == 1


def test_a_notice_that_cannot_be_sent_fails_alone_and_the_rest_is_delivered():
    notifier = LogNotifier(fail_roles=frozenset({"coa"}))
    items = [("k1", notice("k1", "klantregisseur")), ("k2", notice("k2", "coa")), ("k3", notice("k3", "coordinator"))]
    # Notices only: nothing here goes to Prefect, so there are no channels.
    outcome = asyncio.run(deliver_batch(items, notifier=notifier, channels=None,  # type: ignore[arg-type]
                                        facts=lambda refs: ({"RMD-1": "rotterdam"}, set()), now=NOW))
    assert outcome.errors["k1"] is None and outcome.errors["k3"] is None
    assert list(outcome.failed) == ["k2"]
    assert "DeliveryIncomplete" in outcome.failed["k2"] and "coa" in outcome.failed["k2"]
    assert [c.key for c in notifier.sent] == ["k1", "k3"]


def test_the_log_notifier_raises_for_a_role_it_cannot_reach_and_says_what_happened():
    with pytest.raises(NotificationFailed, match="geen kanaal voor rol 'coa'") as raised:
        LogNotifier(fail_roles=frozenset({"coa"})).deliver(notice("k", "coa"))
    assert raised.value.report is not None and list(raised.value.report.failed) == ["coa"]


def test_a_case_event_names_what_happened_and_carries_municipality_and_phase():
    command = EmitEvent(key="RMD-1:9:deadline_missed", case_ref="RMD-1", event="deadline-missed",
                        payload={"ref": "klantprofiel", "detail": "klantregisseur, uiterlijk 16-03-2026",
                                 "phase": "warme_overdracht"})
    event = case_event(command, "rotterdam", NOW)
    assert event.event == "regie.case.deadline-missed"
    assert event.resource.id == "regie.case.RMD-1"
    assert event.resource["regie.municipality"] == "rotterdam"
    assert event.resource["regie.phase"] == "warme_overdracht"
    assert {(r.role, r.id) for r in event.related} == {("municipality", "regie.municipality.rotterdam"),
                                                       ("phase", "regie.phase.warme_overdracht")}
    # The same command always gives the same event id, so Prefect stores a redelivered event once.
    assert event.id == event_id(command.key) == case_event(command, "rotterdam", NOW).id

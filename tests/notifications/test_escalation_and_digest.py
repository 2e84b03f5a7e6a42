"""When a partner stays unreachable the coordinator is told by another channel; digest partners get one
message a day."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.commands import NotifyRole
from integrations.ledger import Kind, Outcome
from integrations.notifier import DeliveryIncomplete, NotificationFailed
from tests.notifications.test_delivery import CASE, task_notice


def fail_times(notifier, clock, n: int, step: timedelta = timedelta(minutes=1)) -> None:
    for _ in range(n):
        with pytest.raises(NotificationFailed):
            notifier.deliver(task_notice())
        clock.advance(seconds=step.total_seconds())


def test_after_n_failures_in_a_row_the_channel_is_down_and_the_coordinator_is_told_once_by_another_kind(
        make_notifier, smtp, hooks, clock):
    notifier = make_notifier(escalate_after_failures=3, retry_base_seconds=0)
    smtp.stop()

    fail_times(notifier, clock, 2)
    assert hooks.at("coordinator") == []
    with pytest.raises(NotificationFailed):
        notifier.deliver(task_notice())  # the third failure: the mail channel is down
    clock.advance(minutes=1)
    fail_times(notifier, clock, 2)  # probes that fail tell nobody again

    [post] = hooks.at("coordinator")
    assert post.payload["title"] == "Storing: berichten aan Gemeente Testdorp, klantregie via mailto komen niet aan"
    assert "Sinds 02-03-2026 09:00 (Amsterdam) komen berichten" in post.payload["message"]
    assert "(kanaal testgemeente/klantregie_testdorp#1) niet aan: 3 pogingen" in post.payload["message"]
    health = notifier.ledger.troubled_channels()["testgemeente/klantregie_testdorp#1"]
    assert (health.failures, health.down_since, health.service) == (5, clock.now - timedelta(minutes=5), "mailto")
    assert health.escalated_at == health.down_since + timedelta(minutes=2)
    [escalation] = [r for r in notifier.ledger.for_message(
        "kanaal:testgemeente/klantregie_testdorp#1:storing:20260302T080000")]
    assert (escalation.kind, escalation.outcome, escalation.service) == (Kind.escalation, Outcome.delivered, "json")


def test_after_h_hours_of_failures_the_channel_is_down_even_with_few_attempts(make_notifier, smtp, hooks, clock):
    notifier = make_notifier(escalate_after_failures=100, escalate_after_hours=4,
                             retry_base_seconds=3.5 * 3600, retry_max_seconds=24 * 3600)
    smtp.stop()

    fail_times(notifier, clock, 1, step=timedelta(hours=3))
    with pytest.raises(NotificationFailed, match=r"wacht op een nieuwe poging vanaf 02-03-2026 12:30 \(Amsterdam\)"):
        notifier.deliver(task_notice())  # after 3 hours the backoff still holds it: no attempt, no escalation
    assert hooks.at("coordinator") == []
    clock.advance(hours=1)
    with pytest.raises(NotificationFailed) as failure:
        notifier.deliver(task_notice())  # 4 hours after the first failure

    [post] = hooks.at("coordinator")
    assert "2 pogingen achter elkaar zijn mislukt" in post.payload["message"]
    assert "klantregie_testdorp" in str(failure.value)


def test_a_message_waiting_for_a_channel_that_is_down_gets_one_note_for_its_case(make_notifier, smtp, hooks, clock):
    notifier = make_notifier(escalate_after_failures=1, retry_base_seconds=0)
    smtp.stop()
    notes = []

    for _ in range(3):
        with pytest.raises(DeliveryIncomplete) as failure:
            notifier.deliver(task_notice())
        notes.extend(failure.value.report.notes)
    smtp.start()
    report = notifier.deliver(task_notice())

    assert [(n.kind, n.ref) for n in notes] == [("notification_waiting", "klantregisseur")]
    assert notes[0].detail == "bericht taak_geopend aan klantregie_testdorp wacht: mailto buiten gebruik sinds " \
                              "02-03-2026 09:00 (Amsterdam); de coördinator krijgt één melding over deze storing"
    assert report.delivered == ("klantregie_testdorp",) and report.notes == ()
    # One escalation (by webhook, the mail server being down) and one note that it is over (by mail again).
    assert [p.payload["title"] for p in hooks.at("coordinator")] == [
        "Storing: berichten aan Gemeente Testdorp, klantregie via mailto komen niet aan"]
    [recovered] = smtp.to("coordinator@testdorp.example")
    assert recovered.subject == "Hersteld: berichten aan Gemeente Testdorp, klantregie via mailto komen weer aan"
    assert "werkt weer sinds 02-03-2026 09:00 (Amsterdam). De storing begon 02-03-2026 09:00 (Amsterdam)." in recovered.text


# --- daily digests --------------------------------------------------------------------------------


def coaching_notice(n: int) -> NotifyRole:
    return NotifyRole(key=f"{CASE}:{n}:notify", case_ref=CASE, role="jobcoach", template="bericht",
                      context={"case_ref": CASE, "partner_jobcoach": "werkfit_jobcoaching"})


def test_a_digest_partner_gets_its_messages_once_a_day_in_one_message(make_notifier, hooks, clock):
    notifier = make_notifier()

    first = notifier.deliver(coaching_notice(1))
    notifier.deliver(coaching_notice(2))
    notifier.deliver(coaching_notice(2))  # the same command again queues nothing
    assert hooks.at("werkfit") == [] and first.queued == ("werkfit_jobcoaching",)

    clock.advance(hours=8)
    report = notifier.send_digests()
    notifier.deliver(coaching_notice(3))  # after today's digest: waits for tomorrow
    again = notifier.send_digests()
    clock.advance(days=1)
    tomorrow = notifier.send_digests()

    digests = hooks.at("werkfit")
    assert len(digests) == 2
    assert digests[0].payload["title"] == "Dagoverzicht van Regie, 02-03-2026: 2 bericht(en)"
    assert digests[0].payload["message"].count(f"Bericht over zaak {CASE}") == 2
    assert report.sent == ("digest:testgemeente:werkfit_jobcoaching:2026-03-02",)
    assert (again.sent, again.waiting) == ((), 1)
    assert tomorrow.sent == ("digest:testgemeente:werkfit_jobcoaching:2026-03-03",)
    assert "1 bericht(en)" in digests[1].payload["title"]
    rows = notifier.ledger.for_case(CASE)
    assert {(r.message_key, r.digest_key) for r in rows} == {
        (f"{CASE}:1:notify", "digest:testgemeente:werkfit_jobcoaching:2026-03-02"),
        (f"{CASE}:2:notify", "digest:testgemeente:werkfit_jobcoaching:2026-03-02"),
        (f"{CASE}:3:notify", "digest:testgemeente:werkfit_jobcoaching:2026-03-03")}


def test_a_digest_that_fails_keeps_its_messages_queued_for_the_retry(make_notifier, hooks, clock):
    notifier = make_notifier(retry_base_seconds=600)
    notifier.deliver(coaching_notice(1))
    hooks.status = 500

    with pytest.raises(NotificationFailed,
                       match=r"1 dagoverzicht\(en\) niet verstuurd \(de berichten blijven in de wachtrij\)"):
        notifier.send_digests()
    hooks.status = 200
    clock.advance(minutes=10)
    report = notifier.send_digests()

    assert len(report.sent) == 1 and len(hooks.at("werkfit")) == 1
    assert notifier.ledger.get(f"{CASE}:1:notify", "werkfit_jobcoaching").outcome is Outcome.delivered


def test_the_digest_day_is_the_dutch_calendar_day(make_notifier, hooks, clock):
    notifier = make_notifier()
    notifier.deliver(coaching_notice(1))
    clock.now = clock.now.replace(hour=23, minute=30)  # 00:30 on 3 March in Amsterdam

    report = notifier.send_digests()

    assert report.sent == ("digest:testgemeente:werkfit_jobcoaching:2026-03-03",)

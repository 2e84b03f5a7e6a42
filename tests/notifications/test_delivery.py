"""Delivering partner messages through apprise to a real local SMTP server and a real JSON receiver."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from engine.commands import NotifyRole
from integrations.apprise_send import DELIVERY_HEADER
from integrations.ledger import Claim, DeliveryMeta, Kind, MemoryLedger, Outcome
from integrations.notifier import DeliveryIncomplete, MessageRefused, NotificationFailed
from store.deliveries import SqlDeliveryLedger
from tests.notifications.conftest import HOOK_TOKEN, VWN_WEBHOOK_PATH
from tests.notifications.test_messages import TASK_CONTEXT

CASE = "TST-2026-0001"


def task_notice(role: str = "klantregisseur", key: str = f"{CASE}:4:notify", **context) -> NotifyRole:
    return NotifyRole(key=key, case_ref=CASE, role=role, template="taak_geopend",
                      context={**TASK_CONTEXT, "role": role, **context}, reason="task_opened")


def test_a_task_message_reaches_the_klantregisseur_by_mail_and_by_webhook_once_each(make_notifier, smtp, hooks):
    notifier = make_notifier()

    report = notifier.deliver(task_notice())
    again = notifier.deliver(task_notice())

    [mail] = smtp.to("klantregie@testdorp.example")
    assert mail.subject == f"Nieuwe taak voor zaak {CASE}: Klantprofiel ontvangen"
    assert "Uiterlijk: 16-03-2026" in mail.text and f"regie case show {CASE}" in mail.text
    assert mail.headers[DELIVERY_HEADER] == f"{CASE}:4:notify/klantregie_testdorp"
    [post] = hooks.at("backoffice")
    assert post.payload["title"] == mail.subject
    assert report.delivered == ("klantregie_testdorp", "klantregie_backoffice")
    assert again.already == ("klantregie_testdorp", "klantregie_backoffice") and again.delivered == ()
    rows = notifier.ledger.for_message(f"{CASE}:4:notify")
    assert [(r.recipient, r.outcome, r.attempts, r.service) for r in rows] == [
        ("klantregie_testdorp", Outcome.delivered, 1, "mailto"),
        ("klantregie_backoffice", Outcome.delivered, 1, "json")]


def test_while_the_smtp_server_is_down_the_failure_is_recorded_and_the_retry_delivers_each_once(
        make_notifier, smtp, hooks, clock):
    notifier = make_notifier(retry_base_seconds=60)
    smtp.stop()

    with pytest.raises(NotificationFailed,
                       match=r"1 van 2 ontvanger\(s\) .* klantregie_testdorp: mailto: apprise meldt: „"):
        notifier.deliver(task_notice())
    failed = notifier.ledger.get(f"{CASE}:4:notify", "klantregie_testdorp")
    smtp.start()
    with pytest.raises(DeliveryIncomplete,
                       match=r"wacht op een nieuwe poging vanaf 02-03-2026 09:01 \(Amsterdam\)") as early:
        notifier.deliver(task_notice())  # too early: the backoff holds it, nothing is sent
    assert smtp.mails == []
    assert early.value.report.waiting == ("klantregie_testdorp",) and not early.value.report.attempted
    clock.advance(minutes=1)
    report = notifier.deliver(task_notice())

    assert (failed.outcome, failed.attempts, failed.service) == (Outcome.failed, 1, "mailto")
    assert failed.error and "Connection error" in failed.error
    assert report.delivered == ("klantregie_testdorp",) and report.already == ("klantregie_backoffice",)
    assert len(smtp.to("klantregie@testdorp.example")) == 1 and len(hooks.at("backoffice")) == 1
    assert notifier.ledger.get(f"{CASE}:4:notify", "klantregie_testdorp").attempts == 2


def test_a_server_that_refuses_the_mail_mid_transaction_is_a_failure_and_is_retried(make_notifier, smtp, clock):
    notifier = make_notifier(retry_base_seconds=0)
    smtp.reject_with = "451 4.3.0 try again later"

    with pytest.raises(NotificationFailed, match="klantregie_testdorp"):
        notifier.deliver(task_notice())
    smtp.reject_with = None
    notifier.deliver(task_notice())

    assert len(smtp.to("klantregie@testdorp.example")) == 1


def test_after_a_restart_a_delivered_message_is_not_sent_again(make_notifier, smtp, hooks, sql_database,
                                                                 sql_engine):
    make_notifier(SqlDeliveryLedger(sql_engine)).deliver(task_notice())

    restarted = sql_database.engine()  # a new process: new engine, new notifier, same database
    try:
        report = make_notifier(SqlDeliveryLedger(restarted)).deliver(task_notice())
    finally:
        restarted.dispose()

    assert report.already == ("klantregie_testdorp", "klantregie_backoffice")
    assert len(smtp.mails) == 1 and len(hooks.posts) == 1


def test_a_sender_that_crashed_mid_send_holds_the_message_only_until_its_lease_runs_out(
        make_notifier, smtp, hooks, sql_ledger, clock):
    crashed = DeliveryMeta(message_key=f"{CASE}:4:notify", recipient="klantregie_testdorp", profile="testgemeente",
                           case_ref=CASE, role="klantregisseur", template="taak_geopend", kind=Kind.message)
    assert sql_ledger.claim(crashed, clock(), timedelta(minutes=5))[0] is Claim.go  # then the process died
    notifier = make_notifier(sql_ledger, lease_seconds=300)

    with pytest.raises(NotificationFailed, match="een andere bezorgrun verstuurt het bericht"):
        notifier.deliver(task_notice())
    clock.advance(minutes=5)
    notifier.deliver(task_notice())

    assert len(smtp.to("klantregie@testdorp.example")) == 1 and len(hooks.at("backoffice")) == 1


def test_two_drains_delivering_the_same_message_at_once_send_it_once(make_notifier, smtp, hooks, sql_ledger):
    notifier = make_notifier(sql_ledger)
    start = threading.Barrier(4)
    outcomes: list[str] = []

    def drain() -> None:
        start.wait(timeout=10)
        try:
            notifier.deliver(task_notice())
            outcomes.append("ok")
        except NotificationFailed:
            outcomes.append("retry later")

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    # Each drain may find a recipient held by another (it then says "retry later"); the retry finds both done.
    assert len(outcomes) == 4
    assert notifier.deliver(task_notice()).already == ("klantregie_testdorp", "klantregie_backoffice")
    assert len(smtp.to("klantregie@testdorp.example")) == 1 and len(hooks.at("backoffice")) == 1


def test_the_employer_the_case_names_gets_the_message_and_no_other_employer(make_notifier, smtp, hooks, cases):
    cases.data[CASE] = {"partner_werkgever": "bakkerij_de_korenschoof"}
    notice = NotifyRole(key=f"{CASE}:9:notify", case_ref=CASE, role="werkgever", template="lesrooster_gewijzigd",
                        context={"case_ref": CASE, "lesrooster_ingangsdatum": "2026-04-06"})

    report = make_notifier().deliver(notice)

    [mail] = smtp.to("hr@korenschoof.example")
    assert mail.subject == f"Zaak {CASE}: nieuw lesrooster vanaf 06-04-2026"
    assert report.delivered == ("bakkerij_de_korenschoof",)
    assert hooks.at("vandam") == [] and len(smtp.mails) == 1


def test_an_english_speaking_school_gets_the_english_text(make_notifier, hooks, cases):
    cases.data[CASE] = {"partner_taalaanbieder": "language_centre_int"}

    make_notifier().deliver(task_notice("taalaanbieder"))

    [post] = hooks.at("ilc")
    assert post.payload["title"] == f"New task for case {CASE}: Klantprofiel ontvangen"
    assert post.payload["message"].endswith(f"Where: in Regie, with the command: regie case show {CASE}")


def test_a_token_from_the_environment_reaches_the_webhook_but_never_the_ledger(make_notifier, hooks, cases, clock):
    cases.data[CASE] = {"partner_taalaanbieder": "taalschool_delta"}
    notifier = make_notifier(retry_base_seconds=0)
    hooks.status = 503

    with pytest.raises(NotificationFailed) as failure:
        notifier.deliver(task_notice("taalaanbieder"))
    hooks.status = 200
    notifier.deliver(task_notice("taalaanbieder"))

    [post] = hooks.at("delta")
    assert post.headers["X-Token"] == HOOK_TOKEN
    row = notifier.ledger.get(f"{CASE}:4:notify", "taalschool_delta")
    assert HOOK_TOKEN not in repr(row) and HOOK_TOKEN not in str(failure.value)
    assert row.service == "json" and row.attempts == 2


def test_a_webhook_url_kept_whole_in_a_prefect_secret_block_is_read_when_sending(make_notifier, hooks, cases):
    cases.data[CASE] = {"partner_maatschappelijk_begeleider": "vluchtelingenwerk_testdorp"}

    make_notifier().deliver(task_notice("maatschappelijk_begeleider"))

    assert len(hooks.at(VWN_WEBHOOK_PATH)) == 1


def test_a_missing_secret_is_a_failure_that_names_the_secret_not_its_value(make_notifier, cases, blocks):
    cases.data[CASE] = {"partner_maatschappelijk_begeleider": "vluchtelingenwerk_testdorp"}
    blocks.clear()
    notifier = make_notifier()

    with pytest.raises(NotificationFailed, match="Prefect Secret-blok 'test-vwn-webhook' is niet te lezen"):
        notifier.deliver(task_notice("maatschappelijk_begeleider"))

    assert notifier.ledger.get(f"{CASE}:4:notify", "vluchtelingenwerk_testdorp").outcome is Outcome.failed


def test_a_role_without_a_recipient_goes_to_the_coordinator_and_leaves_a_note_for_the_case(
        make_notifier, smtp, hooks):
    notifier = make_notifier()

    report = notifier.deliver(task_notice("inkomen"))

    [mail] = smtp.to("coordinator@testdorp.example")
    assert mail.subject == f"Geen ontvanger voor rol inkomen in zaak {CASE}"
    assert "de partnerlijst van testgemeente heeft niemand voor deze rol" in mail.text
    assert "Uiterlijk: 16-03-2026" in mail.text
    assert [(n.kind, n.ref) for n in report.notes] == [("notification_unroutable", "inkomen")]
    assert report.delivered == ("team_inburgering",)
    [row] = notifier.ledger.for_case(CASE)
    assert (row.kind, row.role, row.message_key) == (Kind.unroutable, "inkomen", f"{CASE}:4:notify~unroutable")
    assert hooks.at("coordinator") == []  # the first URL worked: the coordinator is told once


def test_a_case_specific_role_the_case_names_no_partner_for_is_not_guessed(make_notifier, smtp):
    notifier = make_notifier()

    report = notifier.deliver(task_notice("werkgever"))

    [mail] = smtp.to("coordinator@testdorp.example")
    assert "partner_werkgever" in mail.text
    assert smtp.to("hr@korenschoof.example") == []
    assert [(r.recipient, r.kind, r.role) for r in notifier.ledger.for_case(CASE)] == \
        [("team_inburgering", Kind.unroutable, "werkgever")]
    assert report.notes[0].detail.startswith("geen ontvanger voor rol werkgever (taak_geopend)")


def test_an_operator_reads_in_dutch_why_nobody_could_be_sent_the_message(make_notifier, directory, cases, smtp):
    # Issue 14: the reason reaches the CLI ("berichten mislukt"), the outbox and regie storingen; it names
    # the case, the role and the profile, and the routing problem in Dutch (its English variant is only for
    # an English-speaking coordinator).
    cases.profiles[CASE] = "elders"
    with pytest.raises(NotificationFailed, match=f"^zaak {CASE}: geen partnerlijst voor profiel 'elders' "
                                                 r"\(bekend: testgemeente\)$"):
        make_notifier().deliver(task_notice())

    cases.profiles[CASE] = "testgemeente"
    alone = make_notifier()
    alone.directories = {"testgemeente": replace(directory, roles={
        role: partners for role, partners in directory.roles.items() if role != "coordinator"})}
    with pytest.raises(NotificationFailed, match=f"^zaak {CASE}: geen ontvanger voor rol werkgever \\(de zaak noemt "
                                                 "nog geen partner voor deze rol \\(veld partner_werkgever\\)\\), en "
                                                 "geen coördinator in testgemeente$"):
        alone.deliver(task_notice("werkgever"))
    assert smtp.mails == []


def test_a_message_the_privacy_guard_refuses_is_sent_to_no_one(make_notifier, smtp, hooks):
    notice = task_notice(opmerking="BSN 111222333")

    with pytest.raises(MessageRefused, match="nummer dat op een BSN lijkt"):
        make_notifier().deliver(notice)

    assert smtp.mails == [] and hooks.posts == []


class CountingLedger(MemoryLedger):
    """The in-memory ledger, counting the writes that claim deliveries and the successes each one records."""

    def __init__(self) -> None:
        super().__init__()
        self.claims: list[tuple[int, int]] = []

    def claim_many(self, metas, now, lease, succeeded=()):
        self.claims.append((len(metas), len(succeeded)))
        return super().claim_many(metas, now, lease, succeeded)


def test_several_commands_are_claimed_a_chunk_at_a_time_and_each_chunk_recorded_with_the_next_claim(
        make_notifier, smtp, hooks):
    ledger = CountingLedger()
    notifier = make_notifier(ledger, claim_chunk=3)
    notices = [task_notice(key=f"{CASE}:{n}:notify") for n in range(1, 4)]  # 2 recipients each: 6 deliveries

    reports = notifier.deliver_many(notices)

    assert [r.delivered for r in reports] == [("klantregie_testdorp", "klantregie_backoffice")] * 3
    assert ledger.claims == [(3, 0), (3, 3)]  # the last chunk's successes are written when the call ends
    assert all(r.outcome is Outcome.delivered for n in range(1, 4) for r in ledger.for_message(f"{CASE}:{n}:notify"))
    assert len(smtp.to("klantregie@testdorp.example")) == 3 and len(hooks.at("backoffice")) == 3


def test_a_refused_command_among_several_is_sent_to_no_one_and_stops_none_of_the_others(make_notifier, smtp, hooks):
    refused = task_notice(key=f"{CASE}:2:notify", opmerking="BSN 111222333")

    first, second, third = make_notifier().deliver_many(
        [task_notice(key=f"{CASE}:1:notify"), refused, task_notice(key=f"{CASE}:3:notify")])

    assert isinstance(second, MessageRefused) and "nummer dat op een BSN lijkt" in str(second)
    assert first.delivered == third.delivered == ("klantregie_testdorp", "klantregie_backoffice")
    assert {m.headers[DELIVERY_HEADER] for m in smtp.mails} == {f"{CASE}:1:notify/klantregie_testdorp",
                                                               f"{CASE}:3:notify/klantregie_testdorp"}


def test_a_chunk_slowed_down_by_its_partners_gives_back_what_it_could_not_send_while_its_claims_held(
        make_notifier, smtp, hooks, clock):
    # Each message takes its receiver two minutes (the clock moves on as it arrives): half the five-minute
    # lease is gone after two sends, so the other two are given back rather than sent on a running-out claim.
    smtp.on_receive = hooks.on_receive = lambda _message: clock.advance(minutes=2)
    ledger = MemoryLedger()
    notifier = make_notifier(ledger, claim_chunk=4, lease_seconds=300)

    first, second = notifier.deliver_many([task_notice(key=f"{CASE}:1:notify"), task_notice(key=f"{CASE}:2:notify")])

    assert first.delivered == ("klantregie_testdorp", "klantregie_backoffice")
    assert isinstance(second, DeliveryIncomplete) and "niet verstuurd zolang de claim gold" in str(second)
    assert second.report.waiting == ("klantregie_testdorp", "klantregie_backoffice")
    assert [r.outcome for r in ledger.for_message(f"{CASE}:2:notify")] == [Outcome.new, Outcome.new]
    assert notifier.deliver(task_notice(key=f"{CASE}:2:notify")).delivered == second.report.waiting
    assert len(smtp.mails) == len(hooks.posts) == 2

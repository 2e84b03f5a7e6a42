"""A message that asks a partner to do a step ends with that partner's own link, made once per message and
recipient just before it goes out: a retry for another recipient never replaces a link already delivered,
and Regie's own messages to the coordinator carry none."""

from __future__ import annotations

from datetime import date

import pytest

from engine.commands import NotifyRole
from integrations.messages import ActLink
from integrations.notifier import NotificationFailed
from tests.notifications.test_delivery import CASE, task_notice


class Links:
    """A link maker that hands out numbered links and remembers for whom (the app's real one is tested in
    tests/portal/; here only when the notifier asks matters)."""

    def __init__(self, for_role: str | None = None) -> None:
        self.asked: list[tuple[str, str]] = []
        self.for_role = for_role

    def __call__(self, command: NotifyRole, recipient: str) -> ActLink | None:
        if self.for_role is not None and command.role != self.for_role:
            return None
        self.asked.append((command.key, recipient))
        return ActLink(f"https://partners.testdorp.example/l/1link{len(self.asked)}", date(2026, 3, 16))


def test_each_recipient_gets_its_own_link_in_dutch_or_english(make_notifier, smtp, hooks):
    notifier = make_notifier()
    notifier.links = Links()

    notifier.deliver(task_notice())

    [mail] = smtp.to("klantregie@testdorp.example")
    [post] = hooks.at("backoffice")
    assert notifier.links.asked == [(f"{CASE}:4:notify", "klantregie_testdorp"),
                                    (f"{CASE}:4:notify", "klantregie_backoffice")]
    assert mail.text.rstrip().endswith("https://partners.testdorp.example/l/1link1")
    assert "met uw eigen link (één keer te gebruiken, werkt tot en met 16 maart 2026)" in mail.text
    assert f"regie case show {CASE}" not in mail.text
    assert post.payload["message"].rstrip().endswith("/l/1link2")

    notifier.links = Links()
    notifier.deliver(task_notice(role="taalaanbieder", key=f"{CASE}:5:notify",
                                 partner_taalaanbieder="language_centre_int"))
    [english] = hooks.at("ilc")
    assert "Where: on Regie's partner page, with your own link (use it once; it works through 16 March 2026)" \
        in english.payload["message"]


def test_a_retry_makes_a_link_only_for_the_recipient_that_did_not_get_the_message(make_notifier, smtp, hooks, clock):
    notifier = make_notifier(retry_base_seconds=0)
    notifier.links = Links()
    hooks.status = 500

    with pytest.raises(NotificationFailed):
        notifier.deliver(task_notice())
    hooks.status = 200
    clock.advance(minutes=1)
    notifier.deliver(task_notice())

    assert notifier.links.asked == [(f"{CASE}:4:notify", "klantregie_testdorp"),
                                    (f"{CASE}:4:notify", "klantregie_backoffice"),
                                    (f"{CASE}:4:notify", "klantregie_backoffice")]
    assert len(smtp.to("klantregie@testdorp.example")) == 1
    assert hooks.at("backoffice")[0].payload["message"].rstrip().endswith("/l/1link3")


def test_a_digest_partner_gets_the_link_in_its_digest_and_a_repeat_queues_no_new_one(make_notifier, hooks, clock):
    notifier = make_notifier()
    notifier.links = Links()
    notice = task_notice(role="jobcoach", key=f"{CASE}:7:notify", partner_jobcoach="werkfit_jobcoaching")

    notifier.deliver(notice)
    notifier.deliver(notice)
    clock.advance(hours=8)
    notifier.send_digests()

    assert notifier.links.asked == [(f"{CASE}:7:notify", "werkfit_jobcoaching")]
    [digest] = hooks.at("werkfit")
    assert "/l/1link1" in digest.payload["message"]


def test_messages_to_the_coordinator_about_delivery_carry_no_link(make_notifier, smtp, hooks, clock):
    notifier = make_notifier(escalate_after_failures=1, retry_base_seconds=0)
    notifier.links = Links()
    smtp.stop()

    with pytest.raises(NotificationFailed):
        notifier.deliver(task_notice())

    [escalation] = hooks.at("coordinator")
    assert "/l/" not in escalation.payload["message"]
    assert all(recipient != "team_inburgering" for _, recipient in notifier.links.asked)


def test_a_message_for_which_the_maker_has_no_link_keeps_the_usual_line(make_notifier, smtp):
    notifier = make_notifier()
    notifier.links = Links(for_role="taalaanbieder")

    notifier.deliver(task_notice())

    [mail] = smtp.to("klantregie@testdorp.example")
    assert f"regie case show {CASE}" in mail.text and "/l/" not in mail.text

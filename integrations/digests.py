"""Daily digests: partners who chose `digest: daily` get one message a day with what was queued for them.

One digest per partner per calendar day (in `DeliveryPolicy.digest_timezone`); messages queued after
today's digest went out wait for tomorrow's. A digest that could not be sent keeps its messages
queued; the next run retries it after the backoff.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from engine.deliveries import Claim, Delivery, DeliveryMeta, Kind
from integrations.apprise_send import FAILED, Sender
from integrations.directory import PartnerDirectory
from integrations.ledger import DeliveryLedger
from integrations.messages import MessageRenderer, RenderedMessage
from integrations.notifier import DigestReport, NotificationFailed
from integrations.policy import DeliveryPolicy


def send_digests(*, ledger: DeliveryLedger, directories: Mapping[str, PartnerDirectory], renderer: MessageRenderer,
                 sender: Sender, policy: DeliveryPolicy, now: datetime) -> DigestReport:
    """Send each partner's digest of what is queued for it; raises `NotificationFailed` if any failed."""
    day = now.astimezone(ZoneInfo(policy.digest_timezone)).date()
    groups: dict[tuple[str | None, str], list[Delivery]] = {}
    for item in ledger.queued():
        groups.setdefault((item.profile, item.recipient), []).append(item)
    sent, waiting, failed = [], 0, {}
    for (profile, recipient), items in groups.items():
        directory = directories.get(profile or "")
        partner = directory.partner(recipient) if directory else None
        if directory is None or partner is None:
            failed[recipient] = f"partner {recipient} staat niet meer in de partnerlijst van {profile}"
            continue
        key = f"digest:{profile}:{recipient}:{day.isoformat()}"
        meta = DeliveryMeta(message_key=key, recipient=recipient, profile=profile, case_ref=None,
                            role=items[0].role, template="dagoverzicht", kind=Kind.digest)
        messages = [RenderedMessage(i.template, partner.language, i.subject or "", i.body or "") for i in items]
        digest = renderer.render_digest(partner.organisation, day, messages, partner.language)
        answer, row = ledger.claim(meta, now, policy.lease)
        if answer is Claim.done:
            waiting += len(items)
            continue
        if answer is not Claim.go:
            failed[recipient] = f"dagoverzicht {key}: een andere bezorgrun verstuurt het op dit moment"
            continue
        result = sender.send(directory, partner, digest, f"{key}/{recipient}")
        if result.ok:
            ledger.mark_digested(items, digest_key=key, at=now, service=result.service)
            ledger.succeeded(key, recipient, at=now, service=result.service)
            sent.append(key)
        else:
            ledger.failed(key, recipient, at=now, service=result.service, error=result.error or FAILED,
                          retry_at=now + policy.retry_after(row.attempts + 1))
            failed[recipient] = result.error or FAILED
    if failed:
        lines = "; ".join(f"{who}: {why}" for who, why in failed.items())
        raise NotificationFailed(f"{len(failed)} dagoverzicht(en) niet verstuurd (de berichten blijven in de "
                                 f"wachtrij): {lines}")
    return DigestReport(tuple(sent), waiting)

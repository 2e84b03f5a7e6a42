"""Outages, not messages: what the coordinator is told when a partner channel goes down and comes back.

A channel is one URL of a partner in a municipality profile (`engine.deliveries.channel_id`): a mail
server with its address, a webhook endpoint. Failures are counted per channel, not per message, so a
webhook that is down for an hour while 200 messages wait gives the coordinator ONE escalation
(`kanaal_storing`, by a channel of another kind when there is one) and ONE note when it works again
(`kanaal_hersteld`), and each waiting message one line in its case's history. Which channels are down
is in the case store (`channels`), shown by `regie storingen` and in the deadline radar.

This module holds the wording and the keys; `integrations.apprise_notifier` sends them through the
ledger like any message, so each is sent once per outage and recipient, also with several drains.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from engine.people_time import moment
from engine.deliveries import KEY, ChannelHealth
from integrations.directory import Partner

ESCALATION = "kanaal_storing"
"""Template: to the coordinator, a channel is down."""
RECOVERY = "kanaal_hersteld"
"""Template: to the coordinator, the channel works again."""
WAITING_NOTE = "notification_waiting"
"""Case-history note: a message of this case waits for a channel that is down."""
_TODAY = {"nl": "vandaag", "en": "today"}


def outage_key(health: ChannelHealth, what: str) -> str:
    """The ledger key of a message about one outage of a channel (one per outage, `what` and recipient)."""
    assert health.down_since is not None
    key = f"kanaal:{health.channel}:{what}:{health.down_since:%Y%m%dT%H%M%S}"
    if len(key) > KEY:  # very long partner ids: keep the key unique, and within the column
        key = f"kanaal:{hashlib.sha256(key.encode()).hexdigest()}:{what}"
    return key


def escalation_context(health: ChannelHealth, partner: Partner, language: str) -> dict[str, object]:
    """What `kanaal_storing` says: which partner and channel, since when, how many failures in a row."""
    assert health.down_since is not None
    return {"partner": partner.organisation, "kanaal": health.channel, "service": health.service or "-",
            "sinds": moment(health.down_since), "pogingen": health.failures, "uiterlijk": _TODAY[language]}


def recovery_context(before: ChannelHealth, partner: Partner, now: datetime) -> dict[str, object]:
    """What `kanaal_hersteld` says: which channel, since when it was down, since when it works."""
    assert before.down_since is not None
    return {"partner": partner.organisation, "kanaal": before.channel, "service": before.service or "-",
            "sinds": moment(before.down_since), "hersteld": moment(now)}


def waiting_detail(template: str, partner: Partner, down: list[ChannelHealth]) -> str:
    """The case-history line of a message that waits for its recipient's channels."""
    first = min(h.down_since for h in down if h.down_since is not None)
    services = ", ".join(dict.fromkeys(h.service or "?" for h in down))
    return (f"bericht {template} aan {partner.id} wacht: {services} buiten gebruik sinds {moment(first)}; "
            "de coördinator krijgt één melding over deze storing")


def waiting_error(down: list[ChannelHealth]) -> str:
    """Why a recipient was not tried now (kept on the outbox row)."""
    probes = [h.next_probe_at for h in down if h.next_probe_at is not None]
    then = f"; volgende poging {moment(min(probes))}" if probes else ""
    return f"kanaal {', '.join(h.channel for h in down)} buiten gebruik{then}"

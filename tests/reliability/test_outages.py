"""Outages, not messages: a partner channel that goes down gives the coordinator one escalation and one
note when it recovers, whatever the number of messages that waited; coordinators see which channels are
down (`regie storingen`, the deadline radar). Real SMTP and HTTP receivers; time moves by the fake clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from app.delivery import drain
from app.faults import current_faults
from app.overview.radar import deadline_radar
from app.overview.render import radar_summary, radar_table
from engine.calendar import local_date
from integrations.apprise_send import IDEMPOTENCY_HEADER
from tests.reliability.conftest import RecordingChannels, notice, notifier_for, queue, seed_cases

CASE = "TST-2026-0001"
SCHOOL = {"case_ref": CASE, "partner_taalaanbieder": "taalschool_delta"}  # json://.../delta
CHANNEL = "testgemeente/taalschool_delta#1"


def test_a_45_second_webhook_outage_gives_the_coordinator_one_escalation_and_one_recovery_note(
        service, engine, library, clock, smtp, hooks, env, tmp_path):
    seed_cases(engine, library, [CASE])
    notifier = notifier_for(engine, library, clock, env, tmp_path, escalate_after_failures=3,
                            retry_base_seconds=10, retry_max_seconds=60)
    start = clock.now
    seen_down = []
    hooks.status = 503  # the language school's webhook goes down for 45 seconds

    # A message for the school every 5 seconds, and a drain after each, for two minutes.
    for n, second in enumerate(range(0, 120, 5)):
        clock.now = start + timedelta(seconds=second)
        if second == 45:
            hooks.status = 200
        queue(engine, [notice(CASE, n, "taalaanbieder").model_copy(update={"context": SCHOOL})])
        asyncio.run(drain(service, notifier, RecordingChannels(), now=clock.now))
        seen_down.append([h.channel for h in current_faults(service).down])

    to_coordinator = [m.subject for m in smtp.to("coordinator@testdorp.example")]
    assert to_coordinator == ["Storing: berichten aan Taalschool Delta via json komen niet aan",
                              "Hersteld: berichten aan Taalschool Delta via json komen weer aan"]
    posts = hooks.at("delta")
    assert len(posts) == len({p.headers[IDEMPOTENCY_HEADER] for p in posts}) == 24  # each message once
    assert service.pending_commands(100) == []
    # Down from the third failure (10 s) until a probe worked after the 45 s; visible all that time.
    assert seen_down[:2] == [[], []] and seen_down[2] == [CHANNEL]
    assert seen_down[-1] == [] and sum(d == [CHANNEL] for d in seen_down) >= 7


def test_coordinators_see_the_channels_that_are_down_and_the_stuck_cases_on_the_radar(
        service, engine, library, clock, smtp, hooks, env, tmp_path):
    seed_cases(engine, library, [CASE, "TST-2026-0002"])
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE cases SET definition = 'opgeheven@1' WHERE case_ref = 'TST-2026-0002'")
    hooks.status = 500
    queue(engine, [notice(CASE, n, "taalaanbieder").model_copy(update={"context": SCHOOL}) for n in range(3)])
    notifier = notifier_for(engine, library, clock, env, tmp_path, escalate_after_failures=3)
    asyncio.run(drain(service, notifier, RecordingChannels(), now=clock.now))
    waiting = current_faults(service).outbox
    clock.advance(days=7, hours=1)
    service.fire_due_timers()
    today = local_date(clock.now)

    rows = radar_table(deadline_radar(service, "testdorp", today), today)

    problems = [r for r in rows if r["status"] in ("vastgelopen", "storing")]
    assert [(r["status"], r["soort"], r["zaak"], r["stap"], r["datum"]) for r in problems] == [
        ("storing", "kanaal", "", CHANNEL, "2026-03-02"),
        ("vastgelopen", "zaak", "TST-2026-0002", "-", "2026-03-09")]
    assert problems[0]["omschrijving"].startswith("berichten aan taalschool_delta via json komen niet aan")
    assert "regie case retry TST-2026-0002" in problems[1]["omschrijving"]
    assert radar_summary(deadline_radar(service, "testdorp", today), "testdorp", today, 14).endswith(
        ", 1 vastgelopen, 1 kanaal in storing (taken en termijnen, vroegste eerst)")
    faults = current_faults(service)
    assert [c.case_ref for c in faults.stuck] == ["TST-2026-0002"]
    assert [(h.channel, h.failures, h.escalated_at is not None) for h in faults.down] == [(CHANNEL, 3, True)]
    assert waiting is not None and (waiting.ready, waiting.waiting) == (0, 3)
    assert waiting.next_attempt_at == faults.down[0].next_probe_at  # they wait for the channel's next probe

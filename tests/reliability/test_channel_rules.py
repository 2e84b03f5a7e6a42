"""The pure rules of a channel's health (engine/deliveries.py): when failures make an outage, when a down
channel may be tried again, and that one success ends it. Every ledger applies these same rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engine.deliveries import OutageRule, after_failure, after_success, channel_id, may_try

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
RULE = OutageRule(failures=3, window=timedelta(hours=4), probe_base=timedelta(minutes=1),
                  probe_max=timedelta(minutes=5))
CHANNEL = channel_id("tilburg", "taalschool_delta", 1)


def failures(times: list[timedelta]):
    health = None
    for offset in times:
        health = after_failure(health, channel=CHANNEL, profile="tilburg", recipient="taalschool_delta",
                               service="json", error="500", now=T0 + offset, rule=RULE)
    return health


def test_a_channel_is_named_by_profile_partner_and_the_position_of_its_url():
    assert CHANNEL == "tilburg/taalschool_delta#1"
    assert channel_id(None, "x", 2) == "-/x#2"


def test_two_failures_are_a_blip_and_the_third_in_a_row_makes_the_channel_down_since_the_first():
    blip = failures([timedelta(0), timedelta(seconds=10)])
    down = failures([timedelta(0), timedelta(seconds=10), timedelta(seconds=20)])

    assert (blip.failures, blip.down, may_try(blip, T0)) == (2, False, True)
    assert (down.down_since, down.next_probe_at) == (T0, T0 + timedelta(seconds=20 + 60))
    assert not may_try(down, T0 + timedelta(seconds=79)) and may_try(down, T0 + timedelta(seconds=80))


def test_failures_spread_over_the_window_make_a_channel_down_too():
    slow = failures([timedelta(0), timedelta(hours=4)])

    assert slow.failures == 2 and slow.down_since == T0


def test_a_down_channel_is_probed_less_and_less_often_up_to_the_cap():
    steps = [timedelta(minutes=m) for m in range(8)]
    waits = []
    for n in range(3, 9):
        health = failures(steps[:n])
        waits.append(health.next_probe_at - health.last_failure_at)

    assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 5, 5, 5)]


def test_one_success_ends_the_outage_and_remembers_when():
    down = failures([timedelta(0), timedelta(seconds=10), timedelta(seconds=20)])

    back = after_success(down, T0 + timedelta(minutes=3))

    assert (back.failures, back.down, back.next_probe_at, back.escalated_at) == (0, False, None, None)
    assert back.recovered_at == T0 + timedelta(minutes=3) and may_try(back, T0)

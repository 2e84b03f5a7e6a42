"""The `send-digests` flow: the daily digest run as Prefect runs it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from app.bootstrap import Runtime, use
from app.cases import CaseService
from app.settings import get_settings
from engine.commands import NotifyRole
from flows.digest import send_digests
from integrations.notifier import LogNotifier
from store.deliveries import SqlDeliveryLedger
from tasks.partners import send_partner_digests

CASE = "TST-2026-0001"


def coaching_notice() -> NotifyRole:
    return NotifyRole(key=f"{CASE}:1:notify", case_ref=CASE, role="jobcoach", template="bericht",
                      context={"case_ref": CASE, "partner_jobcoach": "werkfit_jobcoaching"})


@pytest.fixture
def runtime_with(tmp_path, sql_engine, clock):
    def make(notifier) -> Runtime:
        from engine.loader import Library

        settings = get_settings(data_dir=tmp_path / "data", database_url=str(sql_engine.url))
        return Runtime(settings=settings, service=CaseService(sql_engine, Library(), clock),
                       ledger=SqlDeliveryLedger(sql_engine), notifier=notifier, clock=clock)
    return make


def test_the_digest_task_sends_what_the_runtime_notifier_queued(make_notifier, runtime_with, hooks):
    notifier = make_notifier()
    notifier.deliver(coaching_notice())

    with use(runtime_with(notifier)):
        report = send_partner_digests.fn()

    assert len(report.sent) == 1 and len(hooks.at("werkfit")) == 1


def test_a_notifier_without_digest_partners_sends_no_digest(runtime_with, hooks):
    with use(runtime_with(LogNotifier())):
        report = send_partner_digests.fn()

    assert (report.sent, report.waiting) == ((), 0) and hooks.posts == []


@pytest.fixture(scope="module")
def prefect_harness() -> Iterator[None]:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness():
        yield


@pytest.mark.prefect
def test_the_send_digests_flow_runs_on_prefect_and_a_second_run_that_day_sends_nothing(
        prefect_harness, make_notifier, runtime_with, hooks):
    notifier = make_notifier()
    notifier.deliver(coaching_notice())

    with use(runtime_with(notifier)):
        first = send_digests()
        second = send_digests()

    assert first == {"digests_sent": 1, "messages_waiting": 0}
    assert second == {"digests_sent": 0, "messages_waiting": 0}
    assert len(hooks.at("werkfit")) == 1

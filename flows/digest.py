"""The daily digest: partners who chose `digest: daily` get one message a day with what was queued for them.

`send-digests` runs once a day (07:00 Europe/Amsterdam in prefect.yaml / flows/serve.py). Running it
twice on one day sends nothing new: each partner gets at most one digest per calendar day, and messages
queued after it wait for the next day's. A digest that could not be sent keeps its messages queued and
fails the run, so Prefect retries it.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from app.clock import utc_now
from app.people_time import day
from tasks.partners import send_partner_digests


def _run_name() -> str:
    return f"digests {day(utc_now())}"


@flow(name="send-digests", flow_run_name=_run_name)
def send_digests() -> dict[str, int]:
    """Send the partners' daily digests."""
    report = send_partner_digests()
    # Counts only: partner ids and case references stay out of the run's logs.
    get_run_logger().info("sent %s digest(s); %s message(s) wait for a later digest",
                          len(report.sent), report.waiting)
    return {"digests_sent": len(report.sent), "messages_waiting": report.waiting}

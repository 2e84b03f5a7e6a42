"""The delivery policy: retries, escalation and where partners act. Set through `REGIE_NOTIFY_*`
(the `notify` part of `app.settings.Settings`); a plain model here, so the notifier reads no environment."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from engine.deliveries import OutageRule, backoff


class DeliveryPolicy(BaseModel):
    """How hard the notifier tries, when the coordinator hears of it, and what messages link to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    escalate_after_failures: int = Field(3, ge=1, description="failed attempts in a row on one partner channel "
                                                             "before it counts as down and the coordinator is told")
    escalate_after_hours: float = Field(4.0, gt=0, description="or hours since the first of those failures")
    retry_base_seconds: float = Field(60, ge=0, description="wait after the first failure (of a message, or "
                                                            "before probing a channel that is down); doubles each time")
    retry_max_seconds: float = Field(3600, ge=0, description="longest wait between attempts (and probes)")
    lease_seconds: float = Field(300, gt=0, description="how long a sender holds a delivery it is sending")
    claim_chunk: int = Field(
        25, ge=1, le=1000,
        description="deliveries (message x recipient) a drain claims in one write, then sends, then records in "
                    "one write: fewer commits per message, but a drain killed mid-chunk sends up to this many "
                    "again (each with its own idempotency key, so receivers can drop them); 1 = at most one")
    ui_url: str | None = Field(None, description="Prefect UI address partners can reach; else the CLI line")
    inbox_path: str = Field("/runs?flowRuns.tags.name={tag}",
                            description="the UI's runs list filtered on a tag; {tag} becomes case:<case_ref>")
    digest_timezone: str = Field("Europe/Amsterdam", description="whose calendar day a daily digest covers")
    app_id: str = Field("Regie", description="sender name apprise puts in mail headers")

    @property
    def lease(self) -> timedelta:
        """How long a claimed delivery is held."""
        return timedelta(seconds=self.lease_seconds)

    @property
    def outage(self) -> OutageRule:
        """When a partner channel counts as down, and how often it is probed while it is."""
        return OutageRule(failures=self.escalate_after_failures, window=timedelta(hours=self.escalate_after_hours),
                          probe_base=timedelta(seconds=self.retry_base_seconds),
                          probe_max=timedelta(seconds=self.retry_max_seconds))

    def retry_after(self, attempts: int) -> timedelta:
        """How long to wait after the `attempts`-th failed attempt."""
        return backoff(attempts, timedelta(seconds=self.retry_base_seconds),
                       timedelta(seconds=self.retry_max_seconds))

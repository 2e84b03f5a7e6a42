"""Regie's one `Settings`: read from `REGIE_*` variables and a `.env` file, used the same way by the CLI,
the flows, the tests and the benchmarks (through `app.bootstrap`).

Built when asked (`get_settings()`), never at import, so tests and several instances side by side can
each pass their own environment. Two instances need only a different `REGIE_DATA_DIR`, `REGIE_PORT` and
`REGIE_PORTAL_PORT`.
The delivery policy is the `notify` part: `REGIE_NOTIFY_ESCALATE_AFTER_FAILURES` sets
`notify.escalate_after_failures`, and so on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from engine.durations import parse_duration
from engine.loader import DEFAULT_DIR
from engine.model_errors import rule
from integrations.policy import DeliveryPolicy


class Settings(BaseSettings):
    """Where Regie keeps its data, which database it uses, and how the local Prefect server runs."""

    # `notify` is nested: REGIE_NOTIFY_<FIELD> (one split on "_" after the prefix, so REGIE_DATA_DIR stays
    # the top-level data_dir).
    model_config = SettingsConfigDict(env_prefix="REGIE_", env_file=".env", env_file_encoding="utf-8",
                                      extra="ignore", env_nested_delimiter="_", env_nested_max_split=1)

    data_dir: Path = Field(default_factory=lambda: Path.cwd() / ".regie",
                           description="the SQLite database and the local Prefect home live here")
    database_url: str = Field("", description="SQLAlchemy URL; empty means the SQLite file <data_dir>/regie.db")
    port: int = Field(4200, ge=1, le=65535, description="port of the local Prefect server")
    definitions_dir: Path = Field(DEFAULT_DIR, description="process definitions, catalogue and profiles")
    default_profile: str | None = Field(None, description="municipality profile for cases that name none")
    municipalities: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="municipalities served without a profile of their own (they run with the default profile); "
                    "every profile's municipality is served anyway. Comma-separated in REGIE_MUNICIPALITIES",
    )
    import_dir: Path | None = Field(None, description="the only folder imports read from (default <data_dir>/import)")
    sweep_batch_size: int = Field(100, ge=1, description="due cases claimed per transaction by the sweep")
    notifier: Literal["apprise", "log"] = Field(
        "apprise",
        description="apprise: send to the partners in the profiles; log: only log and record each notice "
                    "(regie up --demo, whose partners are fictional)",
    )
    pseudonym_key: SecretStr = Field(
        SecretStr(""),
        description="the municipality's secret for case references made from V-numbers (COA import); "
                    "keep it stable and out of the repository",
    )

    operator: str = Field("", description="who reads or erases personal data from this terminal (regie case show "
                                          "--personal, regie person ...), when --operator is not given; logged")

    notify: DeliveryPolicy = Field(default_factory=DeliveryPolicy,
                                   description="retries, escalation and inbox links of partner messages")

    # The partner page (portal/, app/links): partners act from a link, without an account.
    portal_port: int = Field(4300, ge=1, le=65535, description="port of the partner page (regie up, regie portal)")
    portal_url: str = Field("", description="the partner page's address as partners reach it (behind a reverse "
                                            "proxy: its public https address); empty: http://127.0.0.1:<portal_port>")
    link_key: SecretStr = Field(
        SecretStr(""),
        description="secret that signs partner links (at least 32 characters), or secret:<block> for a Prefect "
                    "Secret block; empty: a random key kept in <data_dir>/link.key",
    )
    link_lifetime: str = Field("P14D", description="how long a partner link works unless the municipality profile "
                                                   "says otherwise (partner_links.lifetime)")

    @field_validator("link_lifetime")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)  # a bad value is an error at start, not at the first partner message
        return value

    @field_validator("municipalities", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @model_validator(mode="after")
    def _resolve(self) -> "Settings":
        # Resolve relative paths once, so a later change of working directory moves nothing.
        self.data_dir = self.data_dir.expanduser().resolve()
        self.definitions_dir = self.definitions_dir.expanduser().resolve()
        self.import_dir = (self.import_dir or self.data_dir / "import").expanduser().resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'regie.db'}"
        self.portal_url = (self.portal_url or f"http://127.0.0.1:{self.portal_port}").rstrip("/")
        return self

    @property
    def prefect_home(self) -> Path:
        """The local Prefect home (PREFECT_HOME), inside the ignored data folder."""
        return self.data_dir / "prefect"


class SettingsRefused(ValueError):
    """A setting that cannot be used; the message names the variable and the rule, never the value."""


def get_settings(**overrides: Any) -> Settings:
    """Read the settings now (environment, `.env`, then `overrides`); nothing is cached.

    Raises `SettingsRefused` (one line) for a value that does not fit, e.g. `REGIE_PORT=abc`.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"REGIE_{'_'.join(str(p) for p in e['loc']).upper()}: {rule(e)}" for e in exc.errors())
        raise SettingsRefused(f"instelling niet bruikbaar: {problems}") from None
    except SettingsError as exc:
        raise SettingsRefused(f"instelling niet bruikbaar: {str(exc).splitlines()[0]}") from None

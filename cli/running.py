"""What a running `regie up` tells the other commands: its effective settings, in the data dir.

`regie up` writes `<data_dir>/regie-up.json` (its pid, port and notifier; never a secret) and removes it
when it stops. `regie case ...` and `regie automations install` in a second terminal read it, so they talk
to the same Prefect server and deliver notices the way the running instance does (`regie up --demo`
logs them instead of sending them to fictional partners). A file whose `regie up` is gone (killed) is
ignored. A setting given explicitly in the environment (REGIE_NOTIFIER, REGIE_PORT) still wins.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli import pidfiles

if TYPE_CHECKING:
    from app.settings import Settings

FILE = "regie-up.json"
SHARED = ("port", "notifier")
"""The settings a second terminal takes over from the running instance."""


def path(data_dir: Path) -> Path:
    return data_dir / FILE


def write(settings: "Settings") -> Path:
    """Record this `regie up`'s effective settings for the other commands."""
    target = path(settings.data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"pid": os.getpid(), **{k: getattr(settings, k) for k in SHARED}}))
    return target


def remove(settings: "Settings") -> None:
    path(settings.data_dir).unlink(missing_ok=True)


def read(data_dir: Path) -> dict[str, Any] | None:
    """The running instance's settings, or None when no `regie up` runs for this data dir."""
    try:
        found = json.loads(path(data_dir).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(found, dict) or not isinstance(found.get("pid"), int) or not pidfiles.alive(found["pid"]):
        return None
    return {k: found[k] for k in SHARED if k in found}


def settings_like_running(environ: dict[str, str] | None = None) -> "Settings":
    """The settings for a command in a second terminal: the environment's, with the running instance's
    port and notifier where the environment does not name them."""
    from app.settings import get_settings

    environ = os.environ if environ is None else environ  # type: ignore[assignment]
    settings = get_settings()
    running = read(settings.data_dir)
    if not running:
        return settings
    taken = {k: v for k, v in running.items() if f"REGIE_{k.upper()}" not in environ}
    return get_settings(**taken) if taken else settings

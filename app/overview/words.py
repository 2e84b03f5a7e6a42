"""How the overview writes numbers and counts for Dutch readers (read models and renderers alike)."""

from __future__ import annotations


def number(value: float | None) -> str:
    """A number as Dutch readers write it (`13,5`); `–` when there is none."""
    return "–" if value is None else f"{value:.1f}".replace(".", ",")


def zaken(n: int) -> str:
    """A number of cases: `1 zaak`, `3 zaken`."""
    return f"{n} {'zaak' if n == 1 else 'zaken'}"

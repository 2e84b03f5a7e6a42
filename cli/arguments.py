"""Argument types for the `regie` parser: each refuses a wrong value with a message that names the rule.

argparse turns an `ArgumentTypeError` into a one-line usage error with exit code 2 (see
`cli.main.RegieParser`), before any setting is read or any database is opened.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import date


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """A whole number from `low` to `high` (both included)."""
    def parse(text: str) -> int:
        if not re.fullmatch(r"[+-]?[0-9]{1,18}", text) or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"verwacht een heel getal van {low} tot en met {high}")
        return int(text)
    parse.__name__ = "heel getal"
    return parse


def iso_date(text: str) -> date:
    """A date as YYYY-MM-DD, between 1900 and 2199."""
    try:
        value = date.fromisoformat(text) if len(text) == 10 and text.isascii() else None
    except ValueError:
        value = None
    if value is None or not 1900 <= value.year <= 2199:
        raise argparse.ArgumentTypeError("verwacht een datum als JJJJ-MM-DD (tussen 1900 en 2199)")
    return value


def port(text: str) -> int:
    """A TCP port for the local server."""
    return whole_number(1, 65535)(text)

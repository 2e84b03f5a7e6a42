"""The scan every delivered message goes through: no names, no BSN-shaped numbers, no health words.

It is written apart from the render-time guard (integrations.messages) on purpose, so a bug in the
guard does not hide itself; only the list of health words is shared (one list to maintain).
"""

from __future__ import annotations

import re

from integrations.messages import health_words

PEOPLE = ("Amina Yusuf", "Tesfay Gebremedhin")
"""Names of the (fictional) people whose cases the tests run; they must never appear in a message."""
_NINE_DIGITS = re.compile(r"(?<!\d)\d(?:[ .]?\d){8}(?!\d)")


def _passes_elfproef(digits: str) -> bool:
    total = sum(int(d) * w for d, w in zip(digits, (9, 8, 7, 6, 5, 4, 3, 2, -1)))
    return len(digits) == 9 and total % 11 == 0 and digits != "0" * 9


def personal_data_in(text: str) -> list[str]:
    """What in `text` looks like personal or health data (empty when the text is clean)."""
    found = [part for name in PEOPLE for part in name.split() if part.lower() in text.lower()]
    found += [m.group(0) for m in _NINE_DIGITS.finditer(text) if _passes_elfproef(re.sub(r"\D", "", m.group(0)))]
    found += health_words(text)
    return found


def assert_clean(texts: list[str]) -> None:
    """Fail with the offending messages when any text holds personal or health data."""
    dirty = {text.splitlines()[0] if text else "": personal_data_in(text) for text in texts if personal_data_in(text)}
    assert dirty == {}, f"personal or health data in delivered messages: {dirty}"

"""Who looked: every read of personal data names the operator and the reason, and is logged.

The access log holds the operator's name and the reason only, never the person's data: a reason that
looks like it quotes personal data (a BSN- or V-number-shaped run of digits, an e-mail address) is
refused, as is one without words or too long.
"""

from __future__ import annotations

import re
from typing import Any

from app.errors import InputRefused
from app.inputs import check_actor
from integrations import safe_text
from store.privacy import REASON

_DIGITS = re.compile(r"\d{7,}")
"""Seven digits or more in a row: a BSN (9), a V-number (10) or a phone number; never needed in a reason."""

ACTIONS = {"show": "bekeken (regie case show --personal)", "export": "inzage: export gemaakt",
           "erase": "persoonsgegevens gewist"}
"""What each action in the access log means, in words for people."""


def check_operator(operator: Any) -> str:
    """The operator reading or erasing: required, one word (an operator id, as in the history)."""
    if operator is None or operator == "":
        raise InputRefused("noem wie dit doet: --operator NAAM (of de instelling REGIE_OPERATOR)")
    try:
        return check_actor(operator)
    except InputRefused:
        raise InputRefused("--operator is een medewerkercode: één woord van letters, cijfers, - _ . of :, "
                           "hoogstens 100 tekens") from None


def check_reason(reason: Any) -> str:
    """Why the data is read or erased: a short text without personal data (it is kept in the access log)."""
    if not isinstance(reason, str) or not reason.strip():
        raise InputRefused("noem de reden: --reden TEKST (bijvoorbeeld 'inzageverzoek art. 15 AVG')")
    reason = reason.strip()
    problem = safe_text.text_problem(reason, REASON)
    if problem:
        raise InputRefused(f"de reden is niet bruikbaar: {problem}")
    if _DIGITS.search(reason) or "@" in reason:
        raise InputRefused("de reden komt in het inzagelog: noem er geen persoonsgegevens in (geen BSN, "
                           "V-nummer, telefoonnummer of e-mailadres)")
    return reason

"""Typed errors of the case store. The engine's own errors (`engine.errors.EngineError`) pass through.

Whatever the error, nothing of the failed change was written.
"""

from __future__ import annotations


class StoreError(Exception):
    """A request the case store cannot carry out; nothing was changed."""


class CaseNotFound(StoreError, LookupError):
    """No case with this reference."""

    def __init__(self, case_ref: str):
        self.case_ref = case_ref
        super().__init__(f"er is geen zaak {case_ref}")


class CaseConflict(StoreError):
    """Someone else changed the case first; this change was not saved."""

    def __init__(self, case_ref: str, based_on: int, current: int):
        self.case_ref = case_ref
        self.based_on = based_on
        self.current = current
        super().__init__(
            f"zaak {case_ref} is intussen door iemand anders gewijzigd: de zaak is nu bij versie {current}, en deze "
            f"wijziging ging uit van versie {based_on}. Er is niets opgeslagen; laad de zaak opnieuw en probeer het "
            f"nog eens."
        )


class CaseExists(StoreError):
    """A start for a case reference that already runs a different trajectory."""


class UnknownDefinition(StoreError, LookupError):
    """The definition or municipality profile a case needs is not in the loaded library."""


class ValueRefused(StoreError, ValueError):
    """The database refused a value (too long for its column, a NUL byte, a number out of range).

    The case service checks what it takes before the database sees it; this is the last line, so a
    value that slipped through is still one line and nothing is written. The message names the
    database's reason, never the value."""


class CommandNotFound(StoreError, LookupError):
    """No outbox command with this key."""


class CaseStuck(StoreError):
    """The case is set aside (status stuck) and cannot be changed or shown in full until a retry works."""

    def __init__(self, case_ref: str, why: str):
        self.case_ref = case_ref
        self.why = why
        super().__init__(f"zaak {case_ref} is vastgelopen: {why}. Herstel de oorzaak en probeer de zaak opnieuw "
                         f"met: regie case retry {case_ref}")


class NotStuck(StoreError):
    """A retry of a case that is not stuck."""

    def __init__(self, case_ref: str):
        self.case_ref = case_ref
        super().__init__(f"zaak {case_ref} is niet vastgelopen: er is niets opnieuw te proberen")

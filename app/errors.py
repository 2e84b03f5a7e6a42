"""The refusals a caller of the service layer can expect, as one tuple for the CLI and other entry points.

Each names what is wrong in one line and leaves every case as it was; anything else is a bug.
"""

from __future__ import annotations

from engine.errors import DefinitionError, EngineError
from integrations.directory import DirectoryError
from store.errors import StoreError


class InputRefused(ValueError):
    """A value the case service does not take (see `app.inputs`); nothing was changed."""


__all__ = ["REFUSALS", "DefinitionError", "InputRefused"]

REFUSALS: tuple[type[Exception], ...] = (DefinitionError, EngineError, StoreError, DirectoryError, ValueError)
"""Bad definitions, an event that does not fit the case, a store refusal (unknown case, conflict),
a bad partner directory, bad input (`InputRefused` and other ValueErrors)."""

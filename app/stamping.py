"""Starting many alike cases at once (the COA import): the engine runs once per kind of start, and each
case gets that outcome with its own reference stamped in.

`advance` is a pure function of (definition, state, event, now), and a new case's state differs from
another's only in its reference, which the engine copies into what it returns (the state, command
keys, commands, notification context) and never looks at. So starts of the same definition, profile,
message, date and data by the same actor at the same moment have the same outcome up to the
reference. The outcome is computed once for a template reference and serialised once; each case's
rows are that JSON with the template replaced by its reference, which is exactly what the store would
write for the case's own `advance` (`tests/hostile/test_import_speed.py` compares the two for every
kind of start the COA import makes).

With a koppeling list of 100,000 people on a few dozen dates, the engine runs a few dozen times
instead of 100,000, and nothing is serialised 100,000 times.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from engine.interpreter import Transition
from store.writes import CaseChange


def template_ref() -> str:
    """A reference no input contains: the placeholder the engine sees for a kind of start."""
    return f"TEMPLATE-{uuid.uuid4().hex.upper()}"


@dataclass(frozen=True)
class Outcome:
    """The engine's outcome for one kind of start, for the template reference, serialised once."""

    template: str
    transition: Transition
    state_json: str
    commands: list[tuple[str, str, str]]

    @classmethod
    def of(cls, template: str, transition: Transition) -> "Outcome":
        return cls(template, transition, transition.state.model_dump_json(),
                   [(c.key, c.type, c.model_dump_json()) for c in transition.commands])


@dataclass(frozen=True)
class StampedChange(CaseChange):
    """A new case's start whose rows are its kind's outcome with the case's own reference."""

    outcome: Outcome | None = None

    def state_json(self) -> str:
        assert self.outcome is not None
        return self.stamp(self.outcome.state_json)

    def command_rows(self) -> list[tuple[str, str, str]]:
        assert self.outcome is not None
        return [(self.stamp(key), kind, self.stamp(payload)) for key, kind, payload in self.outcome.commands]

    def stamp(self, text: str) -> str:
        assert self.outcome is not None
        return text.replace(self.outcome.template, self.case_ref)

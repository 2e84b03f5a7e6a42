"""Regie's pure core: the definition language, its validator and the interpreter with legal clocks.

Nothing here talks to Prefect, a database, a mail server or the network, and nothing reads the clock:
time is always a parameter. See README.md and ../shared/design/ARCHITECTURE.md.
"""

from engine.errors import DefinitionError, EngineError
from engine.events import MessageReceived, Started, TaskCompleted, TimerFired
from engine.interpreter import Transition, advance, fire_due_timers
from engine.loader import Library, Problem, load_library
from engine.process import Process
from engine.state import CaseState, new_case
from engine.validator import validate_paths

__all__ = [
    "CaseState", "DefinitionError", "EngineError", "Library", "MessageReceived", "Problem", "Process",
    "Started", "TaskCompleted", "TimerFired", "Transition", "advance", "fire_due_timers", "load_library",
    "new_case", "validate_paths",
]

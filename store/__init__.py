"""The case store: durable case records, their history and outbox, and the one service layer over them.

Importing this package connects to nothing; engines and settings are built when asked for.
"""

from store.db import make_engine, upgrade, write_transaction
from store.errors import (
    CaseConflict,
    CaseExists,
    CaseNotFound,
    CommandNotFound,
    StoreError,
    SweepFailed,
    UnknownDefinition,
)
from store.outbox import OutboxItem
from store.service import CaseService, utc_now
from store.settings import Settings, get_settings
from store.sweep import SweepFailure, SweepReport
from store.views import CaseSummary, CaseView, ClockView, DueView, HistoryView, TaskView

__all__ = [
    "CaseConflict", "CaseExists", "CaseNotFound", "CaseService", "CaseSummary", "CaseView", "ClockView",
    "CommandNotFound", "DueView", "HistoryView", "OutboxItem", "Settings", "StoreError", "SweepFailed",
    "SweepFailure", "SweepReport", "TaskView", "UnknownDefinition", "get_settings", "make_engine", "upgrade",
    "utc_now", "write_transaction",
]

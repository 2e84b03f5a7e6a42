"""The case service: every entry point (Prefect flows, the inbox, the CLI) changes cases through here.

An operator's or partner's change (`complete_step`, `deliver_message`: `change_case`) is ONE short
transaction with the case row locked (FOR UPDATE on PostgreSQL; SQLite's write transaction holds the
database): read the case and its recent history, check the version the caller saw (if given), run the
pure engine, write the new state, version + 1, next due time, history, outbox and open tasks, and build
the returned view from the new state (nothing is read again after the commit). A second Submit on the
same case waits for the first and then finds the newer version: `CaseConflict`, nothing written. An
engine error (bad form data, a step that is not open) is raised before anything is written.
`prepare_change` and `commit_change` do the same in two steps without the lock (optimistic: the commit
is refused when the case changed in between), for callers that must see the engine's outcome before
deciding to save it.

A case the sweep set aside (status `stuck`, `app.sweep`) stays stuck until `retry` advances it; its
view says why it is stuck, even when its state or definition cannot be read any more.

Every entry point's input is checked here as well, before the store is touched (the rules are in
`app.inputs`), and `start_many` starts a batch of new cases in one transaction for the COA import:
being the one door for all of that is why this module is longer than most.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from datetime import date, datetime, timedelta
from typing import Any, get_args

from pydantic import ValidationError
from sqlalchemy import Engine

from app import inputs
from app.clock import Clock, utc_now
from app.stamping import Outcome, StampedChange, template_ref
from app.sweep import Stuck, SweepReport, advance_due, detail, sweep
from app.views import CaseSummary, CaseView, TaskView, case_view, stuck_case_view, task_view
from engine.calendar import require_aware
from engine.events import Event, MessageReceived, Started, TaskCompleted
from engine.interpreter import advance
from engine.loader import Library
from engine.process import Process
from engine.state import CaseState, CaseStatus, new_case
from integrations import safe_text
from store import outbox as outbox_store
from store import queries
from store.db import run_write, write_transaction
from store.due import stuck_case
from store.errors import CaseConflict, CaseExists, CaseNotFound, CaseStuck, NotStuck, UnknownDefinition
from store.models import CaseRecord
from store.outbox import Finished, OutboxItem, OutboxSummary
from store.privacy import CaseSource, record_sources
from store.queries import StuckCase
from store.writes import (
    CaseChange,
    append_note,
    current_version,
    insert_case,
    STUCK,
    insert_cases,
    history_rows,
    lock_case,
    release,
    save_changes,
)


def _columns(record: Any) -> dict[str, Any]:
    # A row of SQLAlchemy's or one made from the driver's (store.writes.lock_case): its columns by name.
    return dict(record._mapping) if hasattr(record, "_mapping") else vars(record)


@dataclass(frozen=True)
class NewCase:
    """One case to start with `CaseService.start_many`."""

    case_ref: str
    definition: str
    municipality: str
    start_message: str | None = None
    occurred_on: date | None = None
    data: dict[str, Any] = field(default_factory=dict)
    personal: dict[str, Any] | None = None
    profile: str | None = None


STATUSES = frozenset(get_args(CaseStatus)) | {"stuck"}
"""The statuses a case can have (`stuck`: set aside by the sweep)."""


class CaseService:
    """Start, advance, show and list cases; fire due timers; hand out the outbox."""

    def __init__(self, engine: Engine, library: Library, clock: Clock = utc_now, *,
                 default_profile: str | None = None, sweep_batch_size: int = 100,
                 municipalities: Collection[str] | None = None):
        self.engine = engine
        self.library = library
        self.clock = clock
        self.default_profile = default_profile
        self.sweep_batch_size = sweep_batch_size
        served = None if municipalities is None else frozenset(library.profiles) | frozenset(municipalities)
        self.municipalities = served
        """The municipalities Regie serves: each profile's, and those that run with the default profile
        (`Settings.municipalities`); a case for any other is refused. None: not checked (a service built
        by hand, as unit tests do; `app.bootstrap` always passes the list)."""
        self._processes: dict[tuple[str, str | None], Process] = {}

    def now(self) -> datetime:
        """Read the clock once (aware UTC)."""
        return require_aware(self.clock())

    def process_for(self, definition: str, profile: str | None) -> Process:
        """The process for a definition ref and profile, built once and then shared."""
        key = (definition, profile)
        process = self._processes.get(key)
        if process is None:
            try:
                process = self.library.process(definition, profile)
            except KeyError as exc:
                raise UnknownDefinition(exc.args[0] if exc.args else str(exc)) from None
            self._processes[key] = process
        return process

    # --- changes ---------------------------------------------------------------------------------

    def start_trajectory(self, *, case_ref: str, definition: str, municipality: str, actor: str,
                         start_message: str | None = None, data: dict[str, Any] | None = None,
                         personal: dict[str, Any] | None = None, occurred_on: date | None = None,
                         profile: str | None = None) -> CaseView:
        """Start a case; starting it again with the same definition returns it unchanged (the repeat's
        data and personal data are ignored), with another definition or municipality is `CaseExists`.

        `definition` is `id` (newest version) or `id@version`. The municipality profile is `profile`,
        else the profile named after the municipality if there is one, else the default profile.
        `personal` (name, BSN, contact data) is kept apart from everything that is shown or sent.
        """
        inputs.check_case_ref(case_ref)
        existing = queries.load_case(self.engine, case_ref)
        if existing is not None:
            return self._started_before(case_ref, existing, definition, municipality)
        new = NewCase(case_ref=case_ref, definition=definition, municipality=municipality, profile=profile,
                      start_message=start_message, occurred_on=occurred_on, data=data or {}, personal=personal)
        change, personal = self._prepare_start(new, actor, self.now())
        with write_transaction(self.engine) as conn:
            inserted = insert_case(conn, change, personal)
        if not inserted:
            # Someone started it between our look and our insert.
            existing = queries.load_case(self.engine, case_ref)
            return self._started_before(case_ref, existing, definition, municipality)
        return self.show_case(case_ref)

    def start_many(self, starts: Sequence[NewCase], *, actor: str, source: CaseSource | None = None) -> list[str]:
        """Start many new cases in ONE transaction (the COA import's group commit); the references started,
        in the order given. A reference that exists already, or is started meanwhile by someone else, is
        left as it is: it is not in the result, and nothing of its start is written.

        Every start is checked as `start_trajectory` checks it before anything is written. With `source`,
        where the cases' data came from is noted in the same transaction (`store.privacy.case_sources`).
        """
        now = self.now()
        changes: list[CaseChange] = []
        people: dict[str, dict[str, Any]] = {}
        outcomes: dict[tuple, Outcome] = {}
        for new in starts:
            change, personal = self._prepare_start(new, actor, now, outcomes)
            changes.append(change)
            if personal:
                people[new.case_ref] = personal
        if not changes:
            return []
        with write_transaction(self.engine) as conn:
            inserted = insert_cases(conn, changes, people)
            if source is not None:
                record_sources(conn, sorted(inserted), source, at=now)
        return [c.case_ref for c in changes if c.case_ref in inserted]

    def complete_step(self, *, case_ref: str, task: str, data: dict[str, Any] | None = None, actor: str,
                      expected_version: int | None = None) -> CaseView:
        """Complete an open user task (by step id, or task id when several are open) with its form data.

        Pass the version the operator saw as `expected_version`: if the case changed since, the step is
        not completed and `CaseConflict` says so.
        """
        self._check_change(case_ref, actor, data, expected_version=expected_version)
        if not isinstance(task, str) or not task:
            raise inputs.InputRefused("noem de stap (of het taak-id) die u afrondt")
        event = TaskCompleted(task=task, data=data or {}, actor=actor)
        return self.change_case(case_ref, event, expected_version=expected_version)

    def deliver_message(self, *, case_ref: str, message: str, data: dict[str, Any] | None = None,
                        occurred_on: date | None = None, actor: str,
                        expected_version: int | None = None) -> CaseView:
        """Deliver a life event or signal (e.g. `huisvesting`) to a case."""
        self._check_change(case_ref, actor, data, expected_version=expected_version)
        inputs.check_date(occurred_on, "de datum van de gebeurtenis")
        inputs.check_known(message, self.message_names, "gebeurtenis")
        event = MessageReceived(message=message, data=data or {}, occurred_on=occurred_on, actor=actor)
        return self.change_case(case_ref, event, expected_version=expected_version)

    def change_case(self, case_ref: str, event: Event, *, expected_version: int | None = None,
                    history: int = 20) -> CaseView:
        """Apply an engine event to a case in ONE transaction with the case row locked: read it, run the
        engine, write the new state and its effects, and build the view from the new state (nothing is read
        again after the commit). An engine error or a conflict leaves the case as it was."""
        def work(conn: Any) -> CaseView:
            record, lines = lock_case(conn, case_ref, history)
            if record is None:
                raise CaseNotFound(case_ref)
            if expected_version is not None and record.version != expected_version:
                raise CaseConflict(case_ref, expected_version, record.version)
            change = self._change_of(record, event)
            # The COMMIT goes with the writes (one round trip less); nothing is written after them.
            if save_changes(conn, [change], commit=True) != 1:  # cannot happen while the row is held
                raise CaseConflict(case_ref, change.based_on, current_version(conn, case_ref) or 0)
            after, stuck = change.after, record.stuck_at is not None  # save_changes keeps a stuck case stuck
            row = SimpleNamespace(**{**_columns(record),  # the row as save_changes has just written it
                                     "version": change.version, "phase": after.phase, "updated_at": change.now,
                                     "status": STUCK if stuck else after.status,
                                     "next_due_at": None if stuck else after.next_due_at()})
            written = [SimpleNamespace(**line) for line in history_rows(change)]
            process = self.process_for(record.definition, record.profile)
            return case_view(row, (lines + written)[-history:], process, after)
        return run_write(self.engine, work)

    def prepare_change(self, case_ref: str, event: Event, *, expected_version: int | None = None) -> CaseChange:
        """Apply an engine event to the case as it is now, without saving (the first half of a change)."""
        record = queries.load_case(self.engine, case_ref)
        if record is None:
            raise CaseNotFound(case_ref)
        if expected_version is not None and record.version != expected_version:
            raise CaseConflict(case_ref, expected_version, record.version)
        return self._change_of(record, event)

    def _change_of(self, record: Any, event: Event) -> CaseChange:
        # The engine's half of a change to the case as `record` has it (a row or a CaseRecord).
        case_ref = record.case_ref
        try:
            process = self.process_for(record.definition, record.profile)
            state = record.state  # JSON text from lock_case, a dict from a CaseRecord
            before = CaseState.model_validate_json(state) if isinstance(state, str) else CaseState.model_validate(state)
        except (UnknownDefinition, ValidationError) as exc:
            if record.stuck_at is not None:  # what made it stuck: say so, not the raw error
                raise CaseStuck(case_ref, record.stuck_reason or "") from exc
            raise
        if isinstance(event, (TaskCompleted, MessageReceived)):
            inputs.check_data(event.data, process.data_fields, f"zaak {case_ref}")
        now = self.now()
        transition = advance(process, before, event, now)
        return CaseChange(case_ref=case_ref, municipality=record.municipality, definition=record.definition,
                          profile=record.profile, based_on=record.version, before=before,
                          transition=transition, event=event.type, actor=event.actor, now=now)

    def commit_change(self, change: CaseChange) -> CaseView:
        """Save a prepared change in one transaction, if the case is still at the version it was based on."""
        with write_transaction(self.engine) as conn:
            if save_changes(conn, [change]) != 1:  # then nothing of it was written
                current = current_version(conn, change.case_ref)
                if current is None:
                    raise CaseNotFound(change.case_ref)
                raise CaseConflict(change.case_ref, change.based_on, current)
        return self.show_case(change.case_ref)

    def fire_due_timers(self, *, batch_size: int | None = None, limit: int | None = None) -> SweepReport:
        """Fire every due timer of every case at one `now`, a batch of cases per transaction; a case that
        cannot be advanced is set aside (status `stuck`) and the others go on."""
        return sweep(self, batch_size or self.sweep_batch_size, limit)

    def retry(self, case_ref: str, *, actor: str) -> CaseView:
        """Try a stuck case again (after its cause was fixed): fire its due timers and, when that works,
        take it back into the sweep. When it fails again it stays stuck, unchanged, and `CaseStuck` says
        in full what went wrong (on the caller's terminal only: it may quote case data)."""
        now = self.now()
        with write_transaction(self.engine) as conn:
            row = stuck_case(conn, case_ref)
            if row is None:
                if current_version(conn, case_ref) is None:
                    raise CaseNotFound(case_ref)
                raise NotStuck(case_ref)
            try:
                change = advance_due(self, row, now, event="retried", actor=actor)
            except Stuck as stuck:
                raise CaseStuck(case_ref, detail(stuck.stage, stuck.cause)) from stuck.cause
            if not release(conn, change):  # cannot happen while the row is held
                raise CaseConflict(case_ref, change.based_on, current_version(conn, case_ref) or 0)
        return self.show_case(case_ref)

    def stuck_cases(self, municipality: str | None = None) -> list[StuckCase]:
        """The cases set aside by the sweep, longest stuck first."""
        return queries.stuck_cases(self.engine, municipality)

    # --- reading ---------------------------------------------------------------------------------

    def show_case(self, case_ref: str, *, history: int = 20) -> CaseView:
        """One case: status, phase, open tasks, clocks, what is due next, shareable data, recent history."""
        inputs.check_case_ref(case_ref)
        record, lines = queries.case_with_history(self.engine, case_ref, history)
        if record.stuck_at is not None:
            try:
                return case_view(record, lines, self.process_for(record.definition, record.profile))
            except Exception:
                # Whatever made the case stuck may also stop its full view; show what the store knows.
                return stuck_case_view(record, lines)
        return case_view(record, lines, self.process_for(record.definition, record.profile))

    def list_cases(self, *, municipality: str | None = None, phase: str | None = None,
                   status: str | None = None, limit: int | None = None, offset: int = 0) -> list[CaseSummary]:
        """Cases by reference, filtered; without reading their states."""
        if municipality is not None:
            self._check_municipality(municipality)
        if phase is not None:
            inputs.check_known(phase, self.phase_names, "fase")
        if status is not None:
            inputs.check_known(status, STATUSES, "status")
        limit = inputs.check_limit(limit)
        if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= 2**31 - 1:
            raise inputs.InputRefused("offset is een heel getal vanaf 0")
        rows = queries.list_cases(self.engine, municipality=municipality, phase=phase, status=status,
                                  limit=limit, offset=offset)
        return [CaseSummary.model_validate(row) for row in rows]

    def open_tasks(self, *, municipality: str | None = None, role: str | None = None,
                   case_ref: str | None = None, missed: bool | None = None,
                   limit: int | None = None) -> list[TaskView]:
        """Open user tasks across cases, soonest due first (the inbox)."""
        rows = queries.open_tasks(self.engine, municipality=municipality, role=role, case_ref=case_ref,
                                  missed=missed, limit=limit)
        return [task_view(self.process_for(r.case_definition, r.profile), case_ref=r.case_ref,
                          case_version=r.version, definition=r.definition, task_id=r.task_id, step=r.step,
                          role=r.role, opened_at=r.opened_at, due_on=r.due_on, missed=r.missed,
                          municipality=r.municipality, phase=r.phase) for r in rows]

    def personal_data(self, case_ref: str) -> dict[str, Any]:
        """The identifying data kept for a case. For code that must reach the person; never to display."""
        inputs.check_case_ref(case_ref)
        return queries.personal_data(self.engine, case_ref)

    def record_note(self, case_ref: str, *, kind: str, ref: str = "", detail: str = "", actor: str = "system",
                    at: datetime | None = None) -> None:
        """Add a line to a case's history without changing the case (e.g. a message nobody could
        receive, or a delivery escalated to the coordinator). Process data only."""
        now = self.now()
        with write_transaction(self.engine) as conn:
            if not append_note(conn, case_ref, kind=kind, ref=ref, detail=detail, actor=actor, at=at or now, now=now):
                raise CaseNotFound(case_ref)

    # --- outbox ----------------------------------------------------------------------------------

    def pending_commands(self, limit: int = 100, *, max_attempts: int | None = None,
                         types: list[str] | None = None) -> list[OutboxItem]:
        """Commands not yet delivered, oldest first (whether ready or waiting; nothing is claimed)."""
        return outbox_store.pending(self.engine, limit, max_attempts=max_attempts, types=types)

    def settled_tasks(self, tasks: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these open tasks were opened by a settled command (no inbox run ever; the demo)."""
        return outbox_store.settled_tasks(self.engine, tasks)

    def claim_commands(self, limit: int, *, lease: timedelta, max_attempts: int,
                       types: list[str] | None = None) -> list[OutboxItem]:
        """Ready commands, oldest first, held for this drain for `lease` (other drains take others)."""
        return outbox_store.claim(self.engine, self.now(), limit=limit, lease=lease, max_attempts=max_attempts,
                                  types=types)

    def finish_commands(self, outcomes: list[Finished]) -> set[str]:
        """Record a drained batch's outcomes at once; the keys delivered now for the first time."""
        return outbox_store.finish(self.engine, outcomes, self.now())

    def outbox_summary(self, max_attempts: int) -> OutboxSummary:
        """What is ready, waiting and given up in the outbox now."""
        return outbox_store.summary(self.engine, self.now(), max_attempts)

    def mark_delivered(self, key: str, *, at: datetime | None = None) -> bool:
        """Record that a command was carried out; False if that was already recorded."""
        return outbox_store.mark_delivered(self.engine, key, require_aware(at) if at else self.now())

    def mark_failed(self, key: str, error: str) -> None:
        """Record a failed delivery attempt; the command stays pending."""
        outbox_store.mark_failed(self.engine, key, error)

    def profile_for(self, municipality: str, profile: str | None = None) -> str | None:
        """The profile a case of this municipality runs with: `profile` if given (it must exist), else the
        profile named after the municipality if there is one, else the default profile."""
        if profile is not None:
            if profile not in self.library.profiles:
                known = ", ".join(sorted(self.library.profiles)) or "geen"
                raise UnknownDefinition(f"onbekend gemeenteprofiel '{profile}' (bekend: {known})")
            return profile
        if municipality in self.library.profiles:
            return municipality
        return self.default_profile

    @property
    def message_names(self) -> frozenset[str]:
        """The life events and signals the catalogue knows."""
        return frozenset(self.library.catalog.messages) if self.library.catalog else frozenset()

    @property
    def phase_names(self) -> frozenset[str]:
        """The phases the catalogue knows."""
        return frozenset(self.library.catalog.phases) if self.library.catalog else frozenset()

    # --- internals -------------------------------------------------------------------------------

    def _prepare_start(self, new: NewCase, actor: str, now: datetime,
                       outcomes: dict[tuple, Outcome] | None = None
                       ) -> tuple[CaseChange, dict[str, Any] | None]:
        # Every check of a start, then the engine; nothing is read from or written to the store. With
        # `outcomes`, alike starts share one engine run (app.stamping).
        inputs.check_new_case_ref(new.case_ref)
        self._check_municipality(new.municipality)
        inputs.check_actor(actor)
        inputs.check_date(new.occurred_on, "de datum van de gebeurtenis")
        personal = inputs.check_personal(new.personal)
        try:
            ref = self.library.resolve(new.definition).ref
        except KeyError as exc:
            raise UnknownDefinition(exc.args[0]) from None
        profile = self.profile_for(new.municipality, new.profile)
        process = self.process_for(ref, profile)
        if new.start_message is not None:
            inputs.check_known(new.start_message, self.message_names, "gebeurtenis")
        data = inputs.check_data(new.data, process.data_fields, f"start van {new.case_ref}")
        before = new_case(new.case_ref, ref)
        event = Started(message=new.start_message, data=data, occurred_on=new.occurred_on, actor=actor)
        if outcomes is None:
            return CaseChange(case_ref=new.case_ref, municipality=new.municipality, definition=ref, profile=profile,
                              based_on=0, before=before, transition=advance(process, before, event, now),
                              event=event.type, actor=actor, now=now), personal
        kind = (ref, profile, new.start_message, new.occurred_on, json.dumps(data, sort_keys=True, default=str))
        if kind not in outcomes:
            template = template_ref()
            outcomes[kind] = Outcome.of(template, advance(process, new_case(template, ref), event, now))
        outcome = outcomes[kind]
        return StampedChange(case_ref=new.case_ref, municipality=new.municipality, definition=ref, profile=profile,
                             based_on=0, before=before, transition=outcome.transition, event=event.type,
                             actor=actor, now=now, outcome=outcome), personal

    def _check_municipality(self, municipality: Any) -> None:
        if self.municipalities is not None:
            inputs.check_known(municipality, self.municipalities, "gemeente")
        elif not safe_text.matches(safe_text.IDENTIFIER_PATTERN, municipality):
            raise inputs.InputRefused(f"{inputs.shown(municipality)} is geen gemeente (kleine letters, cijfers, _)")

    def _check_change(self, case_ref: str, actor: str, data: Any, *, expected_version: int | None) -> None:
        # What a change needs before the case is read; its data is checked against the case's fields later.
        inputs.check_case_ref(case_ref)
        inputs.check_actor(actor)
        inputs.check_version(expected_version)
        inputs.check_data(data, {}, f"zaak {case_ref}")

    def _started_before(self, case_ref: str, record: CaseRecord | None, definition: str,
                        municipality: str) -> CaseView:
        if record is None:  # started and removed again between two looks
            raise CaseNotFound(case_ref)
        same = definition == record.definition or (
            "@" not in definition and record.definition.split("@", 1)[0] == definition)
        if not same or municipality != record.municipality:
            raise CaseExists(f"zaak {record.case_ref} loopt al volgens {record.definition} voor {record.municipality};"
                             f" ze kan niet ook {definition} voor {municipality} starten")
        return self.show_case(record.case_ref)

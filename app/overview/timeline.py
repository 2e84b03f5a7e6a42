"""The timeline of one case: planned and actual dates side by side, from koppeling (or DUO's notice) to
nazorg, the way practice draws it, with missed dates marked.

Planned dates come from the due dates the engine recorded in the history (`due_on` of `task_opened` and
`deadline_changed`), the clocks' last days and the scheduled milestones; actual dates from the first
date of each message, the completions in the history and the date fields of the case. Whether a step
or a term was met is the engine's `verdict`, never the wording of a history line.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from app.overview.norms import DUO_BESLISTERMIJN
from engine.calendar import local_date
from engine.definitions import UserTask
from engine.expressions import to_date
from engine.state import CaseState
from store.errors import CaseNotFound
from store.overview_reads import FactFilter, HistoryFact, history_facts
from store.queries import load_case

if TYPE_CHECKING:
    from app.cases import CaseService
    from engine.process import Process

# Statuses of a timeline row (Dutch: the coordinators' words).
OP_TIJD, TE_LAAT, GEMIST, OPEN, NVT, GEDAAN = "op tijd", "te laat", "gemist", "open", "n.v.t.", "gedaan"

# The history lines a timeline reads.
_FACTS = FactFilter(("task_opened", "deadline_changed", "task_completed", "task_cancelled", "milestone_reached",
                     "clock_stopped"))


# What the timeline shows, in the order practice draws it. Kinds: anchor (a message's first date),
# step (a user task, each occurrence), clock (a term or norm: planned = its last day; actual = the
# first known of its `anchors`, or its field or step), data (a date field), milestones (of the
# inburgeringstermijn), term_end. `needs` names a step or clock the case's process must have, else
# the row is n.v.t.; optional rows show only when they happened. A clock row with `otherwise` shows
# that row instead while the case has no such clock (cases on an older definition, or a norm that
# has not started: the koppeling norm without a permit date, the move norm before the home).
_LINE: list[dict[str, Any]] = [
    {"what": "Koppeling", "kind": "clock", "clock": "koppelingsnorm", "anchors": ["koppeling"],
     "needs": "huisvestingsnorm", "otherwise": {"kind": "anchor", "anchor": "koppeling"}},
    {"what": "Kennisgeving DUO", "kind": "anchor", "anchor": "duo_kennisgeving"},
    {"what": "Klantprofiel COA ontvangen", "kind": "step", "step": "klantprofiel_ontvangen"},
    {"what": "Gesprek in het AZC", "kind": "step", "step": "gesprek_azc"},
    {"what": "Driegesprek", "kind": "step", "step": "driegesprek"},
    {"what": "Woning (norm huisvesting)", "kind": "clock", "clock": "huisvestingsnorm", "anchors": ["huisvesting"]},
    {"what": "Verhuizing", "kind": "clock", "clock": "verhuisnorm", "anchors": ["verhuizing", "brp_inschrijving"],
     "needs": "huisvestingsnorm", "otherwise": {"kind": "data", "field": "verhuisdatum"}},
    {"what": "Inschrijving BRP", "kind": "anchor", "anchor": "brp_inschrijving"},
    {"what": "Eerste intakegesprek", "kind": "step", "step": "intakegesprek"},
    {"what": "Leerbaarheidstoets gepland", "kind": "step", "step": "lbt_plannen"},
    {"what": "Routeadvies", "kind": "step", "step": "routeadvies"},
    {"what": "PIP vastgesteld", "kind": "clock", "clock": "pip_termijn", "field": "pip_dagtekening",
     "step": "pip_vaststellen"},
    {"what": "Kinderopvang of vervoer geregeld", "kind": "step", "step": "regelen", "optional": True},
    {"what": "Lessen gestart", "kind": "step", "step": "lessen_starten"},
    {"what": "Belastbaarheid beoordeeld", "kind": "step", "step": "belastbaarheid"},
    {"what": "Start duaal traject", "kind": "clock", "clock": "duaal_streefdatum", "field": "duaal_startdatum",
     "step": "duaal_starten"},
    {"what": "Aanmelding PVT", "kind": "step", "step": "pvt_aanmelden"},
    {"what": "PVT ondertekend", "kind": "step", "step": "pvt_afronden"},
    {"what": "Aanmelding MAP", "kind": "step", "step": "map_aanmelden", "map": True},
    {"what": "MAP eindgesprek", "kind": "step", "step": "map_eindgesprek", "map": True},
    {"what": "Medisch advies (beslistermijn DUO)", "kind": "medisch"},
    {"what": "Termijn", "kind": "milestones", "clock": "inburgeringstermijn"},
    {"what": "Einde inburgeringstermijn", "kind": "term_end", "clock": "inburgeringstermijn"},
    {"what": "Plaatsing", "kind": "data", "field": "plaatsingsdatum", "needs": "checkin"},
    {"what": "Contactmoment nazorg", "kind": "step", "step": "checkin"},
    {"what": "Extra coaching", "kind": "step", "step": "extra_coaching", "optional": True},
]

MILESTONE_NAMES = {
    "schakelen_signaal": "signaal einde schakeltermijn",
    "schakeltermijn_voorbij": "einde schakeltermijn (18 maanden)",
    "verlengingsvenster": "verlenging aanvragen mogelijk (2,5 jaar)",
    "zes_maanden_voor_einde": "nog zes maanden",
}


@dataclass(frozen=True)
class TimelineRow:
    """One point on a case's line: what, when it should happen, when it did, and how that went."""

    what: str
    planned: date | None
    actual: date | None
    status: str


@dataclass(frozen=True)
class CaseTimeline:
    """A whole case from koppeling (or DUO's notice) to nazorg, the way practice draws it."""

    case_ref: str
    municipality: str
    phase: str | None
    status: str
    today: date
    rows: list[TimelineRow]


def case_timeline(service: CaseService, case_ref: str, today: date) -> CaseTimeline:
    """The timeline of one case: planned and actual dates side by side, missed dates marked `gemist`."""
    record = load_case(service.engine, case_ref)
    if record is None:
        raise CaseNotFound(case_ref)
    state = CaseState.model_validate(record.state)
    process = service.process_for(record.definition, record.profile)
    facts = history_facts(service.engine, [_FACTS], case_ref=case_ref).get(case_ref, [])
    steps = {e.id for elements in process.elements.values() for e in elements.values() if isinstance(e, UserTask)}
    line = _Line(state, process, facts, steps, today)
    rows = [row for spec in _LINE for row in line.rows(spec)]
    return CaseTimeline(case_ref=case_ref, municipality=record.municipality, phase=record.phase,
                        status=record.status, today=today, rows=rows)


@dataclass
class _Occurrence:
    """One opening of a step: its due date (as last changed), and when and how it ended."""

    due: date | None = None
    done: date | None = None
    verdict: str | None = None  # the engine's on_time or late; None without a due date
    cancelled: bool = False


def _occurrences(facts: list[HistoryFact]) -> dict[str, list[_Occurrence]]:
    """Each opening of each step with its due date and completion, paired first-in first-out."""
    found: dict[str, list[_Occurrence]] = defaultdict(list)
    pending: dict[str, list[_Occurrence]] = defaultdict(list)
    for f in facts:
        if f.kind == "task_opened":
            occurrence = _Occurrence(due=f.due_on)
            found[f.element].append(occurrence)
            pending[f.element].append(occurrence)
        elif f.kind == "deadline_changed" and pending[f.element]:
            pending[f.element][-1].due = f.due_on
        elif f.kind in ("task_completed", "task_cancelled") and pending[f.element]:
            occurrence = pending[f.element].pop(0)
            occurrence.done = f.on
            occurrence.cancelled = f.kind == "task_cancelled"
            occurrence.verdict = None if occurrence.cancelled else f.verdict
    return found


def _judge(planned: date | None, actual: date | None, today: date) -> str:
    if actual is not None:
        if planned is None:
            return GEDAAN
        return OP_TIJD if actual <= planned else TE_LAAT
    if planned is not None and planned < today:
        return GEMIST
    return OPEN


class _Line:
    """Turns one case's state and history into timeline rows, one `_LINE` entry at a time."""

    def __init__(self, state: CaseState, process: Process, facts: list[HistoryFact], steps: set[str], today: date):
        self.state, self.process, self.today, self.steps = state, process, today, steps
        self.occurrences = _occurrences(facts)
        self.first_completed: dict[str, date] = {}
        for f in facts:
            if f.kind == "task_completed":
                self.first_completed.setdefault(f.element, f.on)
        self.milestones = {(f.clock, f.element): f.on for f in facts if f.kind == "milestone_reached"}
        self.stopped = {f.clock: f for f in facts if f.kind == "clock_stopped"}

    def applies(self, spec: dict[str, Any]) -> bool:
        if spec.get("map") and self.state.data.get("leerroute") == "onderwijsroute":
            return False  # no MAP in the onderwijsroute (wi2021.md#7)
        needs = spec.get("needs") or spec.get("clock") or spec.get("step")
        return needs is None or needs in self.steps or needs in self.process.clocks

    def rows(self, spec: dict[str, Any]) -> list[TimelineRow]:
        what, kind = spec["what"], spec["kind"]
        if kind == "medisch":
            return self._medisch(what)
        if not self.applies(spec):
            return [] if spec.get("optional") else [TimelineRow(what, None, None, NVT)]
        if kind == "clock" and "otherwise" in spec and spec["clock"] not in self.state.clocks:
            spec = {"what": what, **spec["otherwise"]}
            kind = spec["kind"]
        if kind == "anchor":
            actual = self.state.anchors.get(spec["anchor"])
            return [TimelineRow(what, None, actual, GEDAAN if actual else OPEN)]
        if kind == "data":
            actual = to_date(self.state.data.get(spec["field"]))
            return [TimelineRow(what, None, actual, GEDAAN if actual else OPEN)]
        if kind == "step":
            return self._step(what, spec["step"], optional=spec.get("optional", False))
        if kind == "clock":
            return [self._clock(what, spec)]
        if kind == "milestones":
            return self._milestones(what, spec["clock"])
        return [self._term_end(what, spec["clock"])]

    def _step(self, what: str, step: str, optional: bool) -> list[TimelineRow]:
        found = self.occurrences.get(step, [])
        if not found:
            return [] if optional else [TimelineRow(what, None, None, OPEN)]
        rows = []
        for n, o in enumerate(found, start=1):
            label = f"{what} ({n})" if len(found) > 1 else what
            if o.cancelled:
                rows.append(TimelineRow(label, o.due, None, NVT))
                continue
            if o.done is not None:
                status = TE_LAAT if o.verdict == "late" else OP_TIJD if o.verdict == "on_time" else GEDAAN
            else:
                status = _judge(o.due, None, self.today)
            rows.append(TimelineRow(label, o.due, o.done, status))
        return rows

    def _clock(self, what: str, spec: dict[str, Any]) -> TimelineRow:
        clock = self.state.clocks.get(spec["clock"])
        planned = clock.end_on if clock else None
        if "anchors" in spec:
            # The first of its anchors that happened once the norm ran (a registration long before the
            # home does not count as the move).
            since = clock.started_on - timedelta(days=1) if clock else date.min
            actual = min((d for a in spec["anchors"] if (d := self.state.anchors.get(a)) is not None and d >= since),
                         default=None)
        else:
            actual = to_date(self.state.data.get(spec["field"])) or self.first_completed.get(spec["step"])
        if actual is None and clock is not None and clock.status == "expired":
            return TimelineRow(what, planned, None, GEMIST)
        return TimelineRow(what, planned, actual, _judge(planned, actual, self.today))

    def _milestones(self, what: str, clock_id: str) -> list[TimelineRow]:
        _, clock = self.process.clocks[clock_id]
        state = self.state.clocks.get(clock_id)
        pending = {t.ref: local_date(t.due_at) for t in self.state.timers
                   if t.kind == "milestone" and t.clock == clock_id}
        rows = []
        for milestone in clock.milestones:
            label = f"{what}: {MILESTONE_NAMES.get(milestone.id, milestone.id.replace('_', ' '))}"
            reached = self.milestones.get((clock_id, milestone.id))
            if reached is not None:
                rows.append(TimelineRow(label, reached, reached, GEDAAN))
            elif milestone.id in pending:
                rows.append(TimelineRow(label, pending[milestone.id], None, OPEN))
            elif state is not None and state.status in ("stopped", "expired"):
                rows.append(TimelineRow(label, None, None, NVT))
            else:
                rows.append(TimelineRow(label, None, None, OPEN))
        return rows

    def _term_end(self, what: str, clock_id: str) -> TimelineRow:
        clock = self.state.clocks.get(clock_id)
        if clock is None:
            return TimelineRow(what, None, None, OPEN)
        stop = self.stopped.get(clock_id)
        if stop is not None and stop.verdict is not None:  # None: it stopped because the case closed
            return TimelineRow(what, clock.end_on, stop.on, OP_TIJD if stop.verdict == "on_time" else TE_LAAT)
        if clock.status == "expired":
            return TimelineRow(what, clock.end_on, None, GEMIST)
        return TimelineRow(what, clock.end_on, None, _judge(clock.end_on, None, self.today))

    def _medisch(self, what: str) -> list[TimelineRow]:
        asked = to_date(self.state.data.get("medisch_advies_aangevraagd_op"))
        if asked is None:
            return [TimelineRow(what, None, None, NVT)]
        received = to_date(self.state.data.get("medisch_advies_ontvangen_op"))
        if received is not None and received < asked:
            received = None  # an answer to an earlier request; this one is still waiting
        # DUO's decision term: the case's own clock where its definition has one (with the Algemene
        # termijnenwet), else eight weeks from the request.
        term = self.state.clocks.get("beslistermijn_ontheffing")
        planned = term.end_on if term is not None else DUO_BESLISTERMIJN.after(asked)
        return [TimelineRow(what, planned, received, _judge(planned, received, self.today))]

"""The KPIs of a municipality, each with its norm (a profile parameter or a documented constant) and the
number of cases it rests on.

Each kind of fact is read once for the whole municipality: the case documents, the history lines the
indicators need (typed: completions with their `verdict`, openings, timeouts, subprocesses) and the
overdue open check-ins. Whether a check-in was on time is the engine's verdict, never the wording.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from app.overview.norms import (
    DUAAL_BANDWIDTH,
    DUO_BESLISTERMIJN,
    PIP_NORM,
    WARME_OVERDRACHT_NORM,
    Norm,
    dutch_duration,
    municipality_profile,
    norms,
)
from app.overview import sources
from app.overview.sources import citing
from app.overview.words import number, zaken
from engine.durations import Duration
from store.overview_reads import CaseDoc, FactFilter, HistoryFact, case_docs, history_facts, overdue_tasks_per_case

if TYPE_CHECKING:
    from app.cases import CaseService

_DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class Kpi:
    """One indicator of a municipality, with its norm and how many cases it rests on.

    `value` is in `unit` (a median, or a share in %); `met_norm` is the share (%) of those cases that
    meet the norm; `trend` is (month, value, cases) by the month the measured period started.
    """

    key: str
    name: str
    value: float | None
    unit: str
    norm: str
    source: str
    cases: int
    met_norm: float | None = None
    target: float | None = None
    detail: str = ""
    trend: list[tuple[str, float, int]] = field(default_factory=list)
    trend_norm: float | None = None
    """the norm in the trend's own unit (weeks, months or %), for the chart's norm line; None: no line"""


def _in_days(duration: Duration) -> float:
    """A calendar duration in days, on average (for a line on a chart, not for deadlines)."""
    return duration.years * 365.25 + duration.months * _DAYS_PER_MONTH + duration.days + duration.werkdagen * 7 / 5


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _trend(points: list[tuple[date, float]]) -> list[tuple[str, float, int]]:
    by_month: dict[str, list[float]] = defaultdict(list)
    for start, value in points:
        by_month[f"{start:%Y-%m}"].append(value)
    return [(month, round(statistics.median(v), 1), len(v)) for month, v in sorted(by_month.items())]


# History lines the KPIs read, in one query per municipality.
_KPI_FACTS = (
    FactFilter(("task_completed",), refs=("driegesprek", "pip_vaststellen", "checkin")),
    FactFilter(("task_opened",), refs=("map_aanmelden",)),
    FactFilter(("message_timeout",), refs=("wacht_op_taalniveau",)),
    FactFilter(("subprocess_started", "subprocess_completed"), definition="map"),
)


def kpis(service: CaseService, municipality: str, today: date) -> list[Kpi]:
    """The municipality's indicators, each with its norm (profile parameter or documented constant)."""
    local = norms(service.library, municipality_profile(service, municipality))
    docs = case_docs(service.engine, municipality)
    facts = history_facts(service.engine, _KPI_FACTS, municipality=municipality)
    missed_checkins = overdue_tasks_per_case(service.engine, municipality, "checkin", today)
    return [
        _housing(docs, local, today),
        _driegesprek(docs, facts, today),
        _pip(docs, facts, local),
        _duaal(docs, local),
        _map(docs, facts, local),
        _medisch(docs, today),
        _nazorg(facts, missed_checkins, local),
    ]


def _housing(docs: list[CaseDoc], local: dict[str, Norm], today: date) -> Kpi:
    # Definitions since issue 10 split the norm (a home within 10 weeks, the move 2 weeks after it):
    # the home's norm is the one this KPI measures; each case is judged on its own clock's last day
    # (its definition version and profile), a case without one on the norm's duration.
    norm = local.get("huisvestingsnorm_woning") or local["huisvestingsnorm"]
    weeks, met, points, waiting_over = [], 0, [], 0
    for doc in docs:
        koppeling, housed = doc.anchors.get("koppeling"), doc.anchors.get("huisvesting")
        if koppeling is None:
            continue
        clock = doc.clocks.get("huisvestingsnorm")
        last_day = clock.end_on if clock is not None else norm.duration.after(koppeling)
        if housed is None:
            waiting_over += doc.status == "active" and today > last_day
            continue
        weeks.append((housed - koppeling).days / 7)
        met += housed <= last_day
        points.append((koppeling, (housed - koppeling).days / 7))
    return Kpi(key="huisvesting", name="Weken van koppeling tot woning", value=_median(weeks), unit="weken (mediaan)",
               norm=f"woning binnen {dutch_duration(norm.duration)} na koppeling ({norm.name} {norm.value})",
               source=citing(sources.HUISVESTING, norm, dutch_duration(norm.duration)), cases=len(weeks),
               met_norm=_share(met, len(weeks)), target=100.0,
               detail=f"{zaken(waiting_over)} zonder woning en al boven de norm",
               trend=_trend(points), trend_norm=_in_days(norm.duration) / 7)


def _move_date(doc: CaseDoc) -> date | None:
    return doc.date("verhuisdatum") or doc.anchors.get("huisvesting")


def _driegesprek(docs: list[CaseDoc], facts: dict[str, list[HistoryFact]], today: date) -> Kpi:
    moved, before = 0, 0
    for doc in docs:
        move = _move_date(doc)
        if move is None or move > today:
            continue
        moved += 1
        held = next((f.on for f in facts.get(doc.case_ref, []) if f.kind == "task_completed" and f.ref == "driegesprek"),
                    None)
        before += held is not None and held < move
    share = _share(before, moved)
    return Kpi(key="driegesprek", name="Driegesprek vóór de verhuizing", value=share, unit="%",
               norm=f"≥ {WARME_OVERDRACHT_NORM:.0f}% van de verhuisde statushouders", source=sources.DRIEGESPREK,
               cases=moved, met_norm=share, target=WARME_OVERDRACHT_NORM,
               detail=f"{before} van {moved} verhuisde zaken hadden het driegesprek vóór de verhuisdatum")


def _pip(docs: list[CaseDoc], facts: dict[str, list[HistoryFact]], local: dict[str, Norm]) -> Kpi:
    norm = local["pip_termijn"]
    adopted, on_time, overdue_open = 0, 0, 0
    for doc in docs:
        clock = doc.clocks.get("pip_termijn")
        if clock is None:
            continue
        completed = next((f.on for f in facts.get(doc.case_ref, [])
                          if f.kind == "task_completed" and f.ref == "pip_vaststellen"), None)
        # The PIP's dagtekening is its legal date; the completion date stands in when it is missing.
        adopted_on = doc.date("pip_dagtekening") or completed
        if adopted_on is None:
            overdue_open += doc.status == "active" and clock.status == "expired"
            continue
        adopted += 1
        on_time += adopted_on <= clock.end_on
    share = _share(on_time, adopted)
    return Kpi(key="pip", name="PIP vastgesteld binnen de pip_termijn", value=share, unit="%",
               norm=f"{PIP_NORM:.0f}% binnen {dutch_duration(norm.duration)} (pip_termijn {norm.value})",
               source=citing(sources.PIP, norm, dutch_duration(norm.duration)), cases=adopted, met_norm=share, target=PIP_NORM,
               detail=f"{zaken(overdue_open)} zonder PIP met een verstreken termijn")


def _duaal(docs: list[CaseDoc], local: dict[str, Norm]) -> Kpi:
    norm = local["duaal_streeftermijn"]
    months, met, points = [], 0, []
    for doc in docs:
        pip, start = doc.date("pip_dagtekening"), doc.date("duaal_startdatum")
        if pip is None or start is None:
            continue
        months.append((start - pip).days / _DAYS_PER_MONTH)
        met += start <= norm.duration.after(pip)
        points.append((pip, (start - pip).days / _DAYS_PER_MONTH))
    return Kpi(key="duaal", name="Maanden van PIP tot start duaal traject", value=_median(months),
               unit="maanden (mediaan)",
               norm=f"{DUAAL_BANDWIDTH}; streeftermijn gemeente {dutch_duration(norm.duration)} "
                    f"(duaal_streeftermijn {norm.value})",
               source=citing(sources.DUAAL, norm, dutch_duration(norm.duration)), cases=len(months),
               met_norm=_share(met, len(months)),
               target=100.0, trend=_trend(points), trend_norm=_in_days(norm.duration) / _DAYS_PER_MONTH)


def _map(docs: list[CaseDoc], facts: dict[str, list[HistoryFact]], local: dict[str, Norm]) -> Kpi:
    norm = local["map_minimaal_taalniveau"]
    enrolled, at_level, waiting = 0, 0, 0
    for doc in docs:
        kinds = {(f.kind, f.ref.split("@")[0]) for f in facts.get(doc.case_ref, [])}
        if ("task_opened", "map_aanmelden") in kinds:
            enrolled += 1
            # Enrolled on the latest start date that fits the term, without the level (P7).
            at_level += ("message_timeout", "wacht_op_taalniveau") not in kinds
        elif ("subprocess_started", "map") in kinds and ("subprocess_completed", "map") not in kinds \
                and doc.status == "active":
            waiting += 1
    share = _share(at_level, enrolled)
    return Kpi(key="map", name="Aanmelding MAP op het vereiste taalniveau", value=share, unit="%",
               norm=f"aanmelden vanaf taalniveau {str(norm.value).upper()} (map_minimaal_taalniveau), uiterlijk op "
                    "de laatste startdatum binnen de termijn",
               source=citing(sources.MAP, norm, f"taalniveau {str(norm.value).upper()}"), cases=enrolled,
               met_norm=share, target=100.0,
               detail=f"{enrolled - at_level} aangemeld op de uiterste startdatum zonder het niveau; "
                      f"{waiting} wachtend op startmoment of taalniveau")


def _medisch(docs: list[CaseDoc], today: date) -> Kpi:
    waits, met, open_waits = [], 0, []
    for doc in docs:
        asked, received = doc.date("medisch_advies_aangevraagd_op"), doc.date("medisch_advies_ontvangen_op")
        if asked is None:
            continue
        if received is None or received < asked:
            if doc.status == "active":
                open_waits.append((today - asked).days / 7)
            continue
        waits.append((received - asked).days / 7)
        term = doc.clocks.get("beslistermijn_ontheffing")  # DUO's term with the Atw, where the case has it
        met += received <= (term.end_on if term is not None else DUO_BESLISTERMIJN.after(asked))
    longest = f"; langste lopende wacht {number(max(open_waits))} weken" if open_waits else ""
    return Kpi(key="medisch", name="Wachttijd medisch advies", value=_median(waits), unit="weken (mediaan)",
               norm=f"uitkomst binnen {dutch_duration(DUO_BESLISTERMIJN)} (beslistermijn DUO)", source=sources.MEDISCH,
               cases=len(waits), met_norm=_share(met, len(waits)), target=100.0,
               detail=f"{len(open_waits)} lopende {'aanvraag' if len(open_waits) == 1 else 'aanvragen'}{longest}")


def _nazorg(facts: dict[str, list[HistoryFact]], missed_open: dict[str, int], local: dict[str, Norm]) -> Kpi:
    norm = local["nazorg_checkin_termijn"]
    done, on_time, involved = 0, 0, set(missed_open)
    for case_ref, lines in facts.items():
        for f in lines:
            if f.kind == "task_completed" and f.ref == "checkin":
                done += 1
                on_time += f.verdict == "on_time"
                involved.add(case_ref)
    total = done + sum(missed_open.values())
    share = _share(on_time, total)
    return Kpi(key="nazorg", name="Nazorg-contactmomenten op tijd", value=share, unit="%",
               norm=f"elk contactmoment binnen {dutch_duration(norm.duration)} (nazorg_checkin_termijn)",
               source=citing(sources.NAZORG, norm, dutch_duration(norm.duration)), cases=len(involved), met_norm=share, target=100.0,
               detail=f"{on_time} van {total} contactmomenten op tijd ({sum(missed_open.values())} open en te laat)")

"""Idempotent under concurrency, on SQLite and PostgreSQL: fifty simultaneous starts of one reference make
one case (the other 49 get it back unchanged), a start racing one with another definition gets a clear
refusal, and two identical COA imports at once both succeed with every person started once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import sqlalchemy as sa

from app.cases import CaseService
from app.imports import import_coa_koppelingen
from store.errors import CaseExists
from tests.store.conftest import MONDAY, FakeClock, count

REF = "RMD-2026-0050"
STARTS = 50


class MeetingClock(FakeClock):
    """Every start reads the clock after it saw that the case does not exist yet: they all wait for each
    other there, so all of them go on to insert at the same moment."""

    def __init__(self, parties: int):
        super().__init__(MONDAY)
        self.barrier = threading.Barrier(parties, timeout=30)
        self.met = False

    def __call__(self):
        if not self.met:
            self.barrier.wait()  # BrokenBarrierError if not all of them got here
            self.met = True
        return self.now


def test_fifty_simultaneous_starts_of_one_reference_make_one_case(engine: sa.Engine, library):
    clock = MeetingClock(STARTS)

    def start(n: int):
        service = CaseService(engine, library, clock)
        return service.start_trajectory(case_ref=REF, definition="rondleiding", municipality="rotterdam",
                                        start_message="koppeling", actor=f"op{n}",
                                        personal={"naam": f"Persoon {n}"})

    with ThreadPoolExecutor(STARTS) as pool:
        views = list(pool.map(start, range(STARTS)))

    assert {(v.case_ref, v.version, v.status) for v in views} == {(REF, 1, "active")}
    assert count(engine, "cases") == 1 and count(engine, "case_personal") == 1
    assert count(engine, "case_history", kind="case_started") == 1
    winner = CaseService(engine, library, clock)
    (name,) = winner.personal_data(REF).values()
    started_by = [h.actor for h in winner.show_case(REF).history if h.kind == "case_started"]
    assert name == f"Persoon {started_by[0].removeprefix('op')}"  # personal data only from the start that won


def test_a_start_racing_one_with_another_definition_is_refused_not_crashed(engine: sa.Engine, library):
    clock = MeetingClock(10)

    def start(n: int):
        service = CaseService(engine, library, clock)
        try:
            return service.start_trajectory(case_ref=REF, definition="rondleiding" if n % 2 else "korte_wacht",
                                            municipality="rotterdam", actor=f"op{n}",
                                            start_message="koppeling" if n % 2 else None)
        except CaseExists as refused:
            return refused

    with ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(start, range(10)))

    refused = [o for o in outcomes if isinstance(o, CaseExists)]
    started = [o for o in outcomes if not isinstance(o, CaseExists)]
    assert len(refused) == 5 and len(started) == 5
    assert len({o.definition for o in started}) == 1 and count(engine, "cases") == 1
    assert all("loopt al volgens" in str(r) for r in refused)


KEY = b"race-key"


def test_two_identical_coa_imports_at_once_both_succeed_and_start_everyone_once(engine: sa.Engine, wi2021):
    people = 240
    lines = ["v_nummer;koppelingsdatum;gemeente;naam"]
    lines += [f"{2_000_000_000 + n};{date(2026, 1, 5 + n % 20):%Y-%m-%d};{'tilburg' if n % 3 else 'nederweert'};"
              f"Persoon {n}" for n in range(people)]
    data = ("\n".join(lines) + "\n").encode()
    go = threading.Barrier(2, timeout=30)

    def run_import(_: int):
        service = CaseService(engine, wi2021, FakeClock(), municipalities=())
        go.wait()
        return import_coa_koppelingen(service, data, key=KEY, actor="coa-import", batch=40)

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(run_import, range(2))

    assert first.problems == second.problems == [] and not first.refused and not second.refused
    assert set(first.started).isdisjoint(second.started)
    assert len(first.started) + len(second.started) == people
    assert len(first.started) + len(first.already) == len(second.started) + len(second.already) == people
    assert count(engine, "cases") == people and count(engine, "case_personal") == people
    assert count(engine, "case_history", kind="case_started") == people

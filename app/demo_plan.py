"""The demo population as data: who starts when, and what happens to each case after how many days.

Pure and seeded: the same seed and the same `today` give the same population, so a demo (and its
tests) can be repeated. Nothing here runs the engine; `app.demo` plays the plan through the real case
service in virtual time.

A case's plan is a list of acts played in order. An act happens `after_days` days after the previous
one, but never before the case is ready for it: a step is completed only once it is open, a message
with `waits_at` is delivered only once the case waits for it there. A case whose next act lies after
`today` simply stops there, so recent cases wait in early phases and old ones have come far; delays
drawn past a step's deadline leave tasks late, as they are in real life.

No real-looking personal data: references are pseudonymous (DEMO-2024-TLB0001: the start year, the
municipality, a number), no names, no BSNs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

SEED = 2021
"""the seed of `regie up --demo` (the year the Wet inburgering 2021 came into force)"""
SIZE = 300
YEARS_BACK = 3
NEVER = 100 * 365
"""a delay that ends after any `today`: the act (and every act after it) does not happen"""

MUNICIPALITIES = (("tilburg", "TLB", 0.8), ("nederweert", "NWT", 0.2))
"""(municipality, its reference code, share of the population): Tilburg is the big one"""


@dataclass(frozen=True)
class Act:
    """One thing that happens to a case: a step completed or a message delivered, `after_days` after the
    previous act. `dates` are date fields filled with the act's day plus that many days."""

    after_days: int
    complete: str | None = None
    message: str | None = None
    waits_at: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    dates: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoCase:
    """A case of the demo: its start and its acts."""

    case_ref: str
    municipality: str
    definition: str
    start_message: str
    start_on: date
    acts: tuple[Act, ...]


def _days(rng: random.Random, low: int, high: int) -> int:
    return rng.randint(low, high)


def _late(rng: random.Random, usual: tuple[int, int], late: tuple[int, int], share_late: float = 0.2) -> int:
    """A handling time: mostly within `usual`, sometimes (share_late) in `late` (past the deadline)."""
    return _days(rng, *(late if rng.random() < share_late else usual))


def _warme_overdracht(rng: random.Random) -> tuple[list[Act], str]:
    """COA's handover: profile, first conversation, the driegesprek and the housing."""
    scenario = rng.choices(["snelle_start", "gecombineerde_aanpak", "start_na_verhuizing"], [5, 3, 2])[0]
    in_days = _days(rng, 5, 20)
    acts = [
        Act(_late(rng, (3, 12), (15, 30)), complete="klantprofiel_ontvangen",
            data={"checklist_voorinburgering": True, "checklist_werk_azc": True,
                  "checklist_opleiding_werkervaring": rng.random() < 0.7}),
        Act(_late(rng, (0, 6), (10, 20)), complete="gesprek_azc",
            data={"gesprek_vorm": rng.choice(["azc", "online"]), "nog_een_gesprek": False}),
        Act(_days(rng, 1, 6), complete="driegesprek_plannen", dates={"driegesprek_datum": in_days}),
    ]
    housing = Act(_late(rng, (14, 60), (70, 140), 0.3), message="huisvesting")
    if scenario == "snelle_start" and rng.random() < 0.25:
        acts.append(Act(_days(rng, 0, in_days), message="huisvesting"))  # moved before the driegesprek
        acts.append(Act(_days(rng, 1, 5), complete="driegesprek", data={"overdrachtsscenario": scenario}))
        return acts, scenario
    acts.append(Act(in_days, complete="driegesprek", data={"overdrachtsscenario": scenario}))
    if scenario == "snelle_start":
        acts.append(housing)
    return acts, scenario


def _brede_intake(rng: random.Random, level: str) -> list[Act]:
    return [
        Act(_late(rng, (2, 12), (15, 30)), complete="intakegesprek",
            data={"intake_locatie": rng.choice(["azc", "gemeente", "online"])}),
        Act(_days(rng, 1, 8), complete="lbt_plannen", dates={"lbt_datum": _days(rng, 7, 21)}),
        Act(_days(rng, 1, 9), complete="lbt_uitslag_opzoeken", data={"b1_haalbaar": level in ("a2", "b1")}),
        Act(_days(rng, 3, 25), complete="snuffelcarrousel"),
        Act(_days(rng, 1, 12), complete="vervolggesprek", data={"nog_een_intakegesprek": False}),
        Act(_late(rng, (1, 6), (8, 20)), complete="routeadvies",
            data={"leerroute_advies": "b1_route", "taalniveau": level}),
    ]


def _pip_and_route(rng: random.Random) -> list[Act]:
    """The PIP (some late), then the leerroute: lessons, the duale part, the language level, PVT, and
    for some a medical assessment (some still waiting) or a placement with an employer (nazorg)."""
    acts = [
        # The PIP term starts once DUO's notice and the BRP registration are both in.
        Act(_days(rng, 0, 20), message="brp_inschrijving"),
        Act(_late(rng, (5, 50), (75, 120), 0.15), complete="pip_vaststellen", dates={"pip_dagtekening": 0},
            data={"leerroute": "b1_route", "map_intensiteit": rng.choice(["standaard", "intensief"]),
                  "pvt_intensiteit": "standaard", "kinderopvang": rng.choice(["niet_nodig", "geregeld"]),
                  "vervoer": "niet_nodig"}),
        Act(_late(rng, (3, 20), (30, 50)), complete="lessen_starten", dates={"lesstart_datum": 0}),
        Act(_days(rng, 2, 20), complete="belastbaarheid", data={"belastbaar": rng.random() < 0.85}),
        Act(_late(rng, (20, 150), (180, 300), 0.25), complete="duaal_starten", dates={"duaal_startdatum": 0},
            data={"participatie_soort": "werkervaringsplek"}),
    ]
    roll = rng.random()
    if roll < 0.15:  # a medical assessment: the outcome comes after weeks or months, or not yet
        outcome = rng.choices(["volledig", "gedeeltelijk", "afgewezen"], [2, 1, 2])[0]
        acts += [Act(_days(rng, 10, 120), message="medische_ontheffing_aangevraagd"),
                 Act(_late(rng, (20, 70), (100, 200), 0.3), message="medisch_advies_ontvangen",
                     waits_at="aanvraag_volgen", data={"ontheffing_besluit": outcome})]
        return acts
    if roll < 0.5:  # the duale place became a job: nazorg with its check-ins, some late
        acts.append(Act(_days(rng, 10, 120), message="plaatsing"))
        acts += [Act(_late(rng, (0, 5), (9, 20), 0.25), complete="checkin") for _ in range(3)]
    # One in five does not reach the level in time: MAP enrols them on the latest start date without it.
    level_after = _days(rng, 30, 300) if rng.random() >= 0.2 else NEVER
    acts += [Act(level_after, message="taalniveau_behaald", waits_at="wacht_op_taalniveau"),
             Act(_late(rng, (2, 12), (16, 40)), complete="pvt_aanmelden", dates={"pvt_startdatum": 14}),
             Act(_days(rng, 20, 120), complete="pvt_afronden", dates={"pvt_ondertekend_op": 0}),
             Act(_days(rng, 1, 10), complete="pvt_registreren")]
    return acts


def _levels(rng: random.Random) -> str:
    return rng.choices(["a0", "a1", "a2", "b1"], [2, 3, 3, 1])[0]


def plan_case(rng: random.Random, case_ref: str, municipality: str, start_on: date) -> DemoCase:
    """One case: mostly asielstatushouders from koppeling, some gezinsmigranten from DUO's notice."""
    level = _levels(rng)
    if rng.random() < 0.75:
        handover, scenario = _warme_overdracht(rng)
        acts = handover
        if scenario == "start_na_verhuizing":
            acts.append(Act(_late(rng, (14, 60), (70, 140), 0.3), message="huisvesting", waits_at="wacht_op_woning"))
        acts += _brede_intake(rng, level)
        if scenario == "gecombineerde_aanpak":
            acts.append(Act(_late(rng, (7, 50), (70, 140), 0.3), message="huisvesting", waits_at="wacht_op_woning"))
        acts.append(Act(_days(rng, 0, 25), message="duo_kennisgeving", waits_at="wacht_op_kennisgeving"))
        definition, start_message = "asielstatushouder", "koppeling"
    else:
        acts = _brede_intake(rng, level)
        definition, start_message = "gezinsmigrant", "duo_kennisgeving"
    acts += _pip_and_route(rng)
    return DemoCase(case_ref, municipality, definition, start_message, start_on, tuple(acts))


def plan_population(today: date, *, seed: int = SEED, size: int = SIZE, years_back: int = YEARS_BACK) -> list[DemoCase]:
    """The population, oldest start first: `size` cases started over the last `years_back` years, more
    of them lately (the intake grew), each municipality numbered on its own."""
    rng = random.Random(seed)
    span = 365 * years_back
    counters = {code: 0 for _, code, _ in MUNICIPALITIES}
    starts = []
    for _ in range(size):
        municipality, code, _ = rng.choices(MUNICIPALITIES, [share for *_, share in MUNICIPALITIES])[0]
        # The power leans towards recent starts without leaving the early months empty.
        days_ago = int(span * (1 - rng.random() ** 0.7))
        starts.append((today - timedelta(days=days_ago), municipality, code))
    cases = []
    for start_on, municipality, code in sorted(starts, key=lambda s: s[0]):
        counters[code] += 1
        ref = f"DEMO-{start_on.year}-{code}{counters[code]:04d}"
        cases.append(plan_case(rng, ref, municipality, start_on))
    return cases

"""Where each KPI's norm comes from, written for the coordinator who has to answer for it.

The definitions keep their own `source` notes (for whoever maintains a definition: fact-sheet rows,
confidence marks); the overview cites the rule or agreement the way a coordinator would in a meeting, in
Dutch, and says when the municipality chose its own value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.overview.norms import Norm

HUISVESTING = ("Taakstelling huisvesting statushouders (Rijk/COA): woning binnen 10 weken na de koppeling, "
               "verhuizing binnen 2 weken daarna. In de praktijk (2024) gemiddeld zo'n 40 weken.")
DRIEGESPREK = ("Divosa-handreiking Scenario's warme overdracht: de gemeente organiseert het driegesprek "
               "(statushouder, COA, gemeente) vóór de verhuizing. Het COA beloofde 80% warme overdrachten.")
PIP = ("Besluit inburgering 2021 art. 5.3: PIP binnen 10 weken na de kennisgeving van DUO, of na de "
       "inschrijving in de BRP als die later is. Een wettelijke termijn, dus de norm is elk PIP op tijd.")
DUAAL = ("Praktijk duale trajecten (Divosa): start binnen 3 tot 6 maanden na het PIP. "
         "Geen wettelijke termijn; de gemeente kiest haar streeftermijn.")
MAP = ("Wi2021 schrijft geen minimaal taalniveau voor de MAP voor. Wordt de MAP in het Nederlands gegeven, "
       "dan is in de praktijk ongeveer A2 nodig.")
MEDISCH = ("DUO beslist binnen 8 weken op een aanvraag (beslistermijn DUO). Het wachten op het medisch "
           "advies gaat van die tijd af.")
NAZORG = ("Geen landelijke norm: nazorg valt niet onder de Wi2021. Hoe snel een contactmoment plaatsvindt "
          "is beleid van de gemeente.")


def citing(text: str, norm: Norm, shown: str) -> str:
    """The source, with the municipality's own choice (`shown` as people read it) where its profile sets it."""
    if norm.profile is None:
        return text
    return f"{text} Eigen keuze van de gemeente: {shown} (profiel {norm.profile})."

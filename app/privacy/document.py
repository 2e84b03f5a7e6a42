"""The export as a readable Dutch document for the person (plain text, Markdown-friendly)."""

from __future__ import annotations

from typing import Any

from app.privacy.access import ACTIONS
from engine.durations import parse_duration

CATEGORIES = {"identifying": "identificerend", "special": "bijzonder persoonsgegeven (gezondheid)",
              "process": "procesgegeven", "case_reference": "zaaknummer",
              "onbekend": "onbekend (als persoonlijk behandeld)"}


STATUSES = {"new": "nieuw", "active": "loopt", "completed": "afgerond", "terminated": "beëindigd",
            "stuck": "vastgelopen (wacht op herstel)"}


def period(text: str) -> str:
    """A duration in words: `P7Y` -> `7 jaar`, `P18M` -> `18 maanden`; as written when it does not parse."""
    try:
        d = parse_duration(text)
    except ValueError:
        return text
    parts = [f"{d.years} jaar" if d.years else "", f"{d.months} {'maand' if d.months == 1 else 'maanden'}"
             if d.months else "", f"{d.days} {'dag' if d.days == 1 else 'dagen'}" if d.days else "",
             f"{d.werkdagen} werkdag(en)" if d.werkdagen else ""]
    return ", ".join(p for p in parts if p) or text


def _t(moment: str | None) -> str:
    # "2026-03-02T09:00:00+01:00" -> "2026-03-02 09:00" (Nederlandse tijd, zoals de export al is)
    return moment[:16].replace("T", " ") if moment else "-"


def render_document(export: dict[str, Any]) -> str:
    """The export of `app.privacy.person.export_person` as a letter-like Dutch text."""
    lines = [f"# Uw gegevens in Regie (zaak {export['zaak']})", "",
             f"Gemaakt op {_t(export['gemaakt_op'])} (Nederlandse tijd) door {export['gemaakt_door']}.",
             "Dit is alles wat Regie, het regiesysteem voor inburgering van de gemeente, over u bewaart.", "",
             "## Uw zaak", "",
             f"- Gemeente: {export['gemeente']}", f"- Proces: {export['proces']}",
             f"- Status: {STATUSES.get(export['status'], export['status'])}" + (f", fase {export['fase']}" if export["fase"] else ""),
             f"- Gestart: {_t(export['gestart_op'])}; laatst gewijzigd: {_t(export['laatst_gewijzigd_op'])}", "",
             "## Persoonsgegevens", ""]
    lines += [f"- {k}: {v}" for k, v in sorted(export["persoonsgegevens"].items())] or ["- geen (meer) bewaard"]
    lines += ["", "## Gegevens in uw zaak", ""]
    lines += [f"- {f['veld']}: {f['waarde']} ({CATEGORIES.get(f['categorie'], f['categorie'])})"
              for f in export["zaakgegevens"]] or ["- geen"]
    lines += ["", "## Wat er in uw zaak gebeurde", ""]
    lines += [f"- {_t(h['op'])}  {h['wat']} {h['over']}" + (f" ({h['toelichting']})" if h["toelichting"] else "")
              + f"  [door {h['door']}]" for h in export["geschiedenis"]] or ["- niets"]
    lines += ["", "## Berichten over uw zaak aan partners", ""]
    lines += [f"- {_t(d['aangemaakt_op'])}  aan {d['rol']} ({d['ontvanger']}): {d['sjabloon']}, {d['uitkomst']}"
              + (f", afgeleverd {_t(d['afgeleverd_op'])}" if d["afgeleverd_op"] else "")
              for d in export["berichten"]] or ["- geen"]
    lines += ["", "## Links die partners kregen om een stap te doen", ""]
    lines += [f"- {_t(p['uitgegeven_op'])}  {p['rol']} ({p['ontvanger']}), stap {p['stap']}, geldig tot "
              f"{_t(p['geldig_tot'])}" + (f", gebruikt {_t(p['gebruikt_op'])}" if p["gebruikt_op"] else "")
              for p in export["partnerlinks"]] or ["- geen"]
    lines += ["", "## Waar de gegevens vandaan komen", ""]
    lines += [f"- {h['bron']}" + (f", bestand {h['bestand']} (partij {h['partij']})" if h["bestand"] else "")
              + f", op {_t(h['op'])}" + (f": {', '.join(h['persoonsgegevens'])}" if h["persoonsgegevens"] else "")
              for h in export["herkomst"]] or ["- onbekend"]
    retention = export["bewaartermijn"]
    lines += ["", "## Hoe lang wij uw gegevens bewaren", "",
              f"{period(retention['termijn'])} na het afsluiten van uw zaak. Bron: {retention['bron']}.", "",
              "## Wie uw persoonsgegevens bekeek", ""]
    lines += [f"- {_t(a['op'])}  {a['medewerker']}: {ACTIONS.get(a['handeling'], a['handeling'])}; reden: {a['reden']}"
              for a in export["inzagelog"]]
    lines += ["", "Klopt er iets niet, of wilt u dat wij gegevens wissen? Neem contact op met uw klantregisseur bij "
              "de gemeente (rectificatie, art. 16 AVG; vergetelheid, art. 17 AVG).", ""]
    return "\n".join(lines)

"""`regie storingen`: what is stuck right now, for coordinators and whoever keeps Regie running.

- cases the sweep set aside (status stuck), since when and why, with the command that retries them;
- partner channels that are down (messages to them wait; the coordinator was told once) or failing;
- how many outbox commands are ready, wait for a later attempt, or were given up.

Read only. Dutch time. `--json` prints the same as one JSON document. The exit code is 0 when nothing
is stuck and 3 when something is (a case set aside, a channel down, a command given up), so a monitor
can call it.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime

STUCK_EXIT = 3


def cmd_storingen(args: argparse.Namespace) -> int:
    from app.bootstrap import bootstrap
    from app.faults import current_faults
    from app.people_time import moment

    faults = current_faults(bootstrap().service, municipality=args.municipality)
    box = faults.outbox
    assert box is not None
    if args.json:
        print(json.dumps({
            "vastgelopen_zaken": [{"zaak": c.case_ref, "gemeente": c.municipality, "definitie": c.definition,
                                   "sinds": c.stuck_at.isoformat(), "reden": c.stuck_reason} for c in faults.stuck],
            "kanalen": [{"kanaal": h.channel, "partner": h.recipient, "dienst": h.service, "buiten_gebruik": h.down,
                         "sinds": _iso(h.down_since or h.first_failure_at), "pogingen_mislukt": h.failures,
                         "volgende_poging": _iso(h.next_probe_at), "coordinator_ingelicht": h.escalated_at is not None,
                         "laatste_fout": h.last_error} for h in faults.channels],
            "uitgaand": {"klaar": box.ready, "wachtend": box.waiting, "opgegeven": box.given_up,
                         "volgende_poging": _iso(box.next_attempt_at)},
        }, indent=2, ensure_ascii=False))
    else:
        print(f"Vastgelopen zaken: {len(faults.stuck)}")
        for c in faults.stuck:
            print(f"  {c.case_ref:<18} {c.municipality:<14} sinds {moment(c.stuck_at)}  {c.stuck_reason}")
            print(f"  {'':<18} na herstel: regie case retry {c.case_ref}")
        print(f"Kanalen buiten gebruik: {len(faults.down)}")
        for h in faults.channels:
            if h.down and h.down_since is not None:
                probe = f", volgende poging {moment(h.next_probe_at)}" if h.next_probe_at else ""
                told = "coördinator ingelicht" if h.escalated_at else "coördinator nog niet bereikt"
                print(f"  {h.channel}  ({h.service or '?'})  sinds {moment(h.down_since)}, "
                      f"{h.failures} pogingen achter elkaar mislukt{probe}; {told}")
            elif h.last_failure_at is not None:
                print(f"  {h.channel}  ({h.service or '?'})  hapert: {h.failures} poging(en) mislukt, "
                      f"laatste {moment(h.last_failure_at)} (nog niet buiten gebruik)")
            if h.last_error:
                print(f"      laatste fout: {h.last_error}")
        later = f" (de eerste vanaf {moment(box.next_attempt_at)})" if box.next_attempt_at else ""
        print(f"Uitgaande opdrachten: {box.ready} klaar, {box.waiting} wachten op een nieuwe poging{later}, "
              f"{box.given_up} opgegeven na te veel pogingen")
    stuck = faults.stuck or faults.down or box.given_up
    return STUCK_EXIT if stuck else 0


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _guarded(args: argparse.Namespace) -> int:
    from app.errors import REFUSALS

    try:
        return cmd_storingen(args)
    except REFUSALS as exc:
        print(f"regie storingen: {exc}", file=sys.stderr)
        return 1


def register(sub: argparse._SubParsersAction) -> None:
    """Add `regie storingen` to the `regie` parser."""
    p = sub.add_parser("storingen", help="what is stuck: cases set aside, partner channels down, the outbox")
    p.add_argument("--municipality", help="only this municipality's cases and its profile's channels")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_guarded)

"""`regie case start|complete|message|show|list|retry`: operators' commands on cases.

They change cases through the same service calls as the Prefect deployments and the inbox, then
deliver the outbox at once (inbox runs, events, notices): to the server PREFECT_API_URL names, else to
the local `regie up` server, with the running `regie up`'s port and notifier (cli/running.py). Each part
is reported on its own line, in Dutch: the case saved, the inbox updated, events, notices sent (or only
logged), waiting or failed with the reason. What was not delivered stays in the outbox and is tried
again (by `regie up`'s keeper, the sweep, or the next command).

Personal data (`--personal naam=...`) goes to the case store only; it is never sent to Prefect.

A case the sweep set aside (status stuck) says so in `show`; `retry` tries it again after a fix and,
when it fails again, prints the whole error (on this terminal only).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from app.inputs import MAX_LIST
from app.people_time import CLOCK_STATUS, DUE_KIND, HISTORY_KIND, ZONE, day, said, short_moment, status
from cli.arguments import iso_date, whole_number
from cli.up_cmd import prefect_environment

MAX_PAIR = 4000
"""Longest `key=value` argument: far more than any field needs, and bounded before JSON is parsed."""


def parse_pairs(pairs: list[str], what: str) -> dict[str, Any]:
    """`key=value` pairs; a value that is JSON (true, 3, "x") is read as JSON, anything else as text."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"{what} '{key[:40]}': verwacht veld=waarde")
        if len(pair) > MAX_PAIR:
            raise ValueError(f"{what} '{key[:40]}': langer dan {MAX_PAIR} tekens")
        try:
            out[key] = json.loads(raw)
        except (ValueError, RecursionError):  # not JSON (or a number beyond Python's digit limit): text
            out[key] = raw
    return out


def _runtime():
    from app.bootstrap import bootstrap
    from cli.running import settings_like_running

    settings = settings_like_running()
    for key, value in prefect_environment(settings).items():
        os.environ.setdefault(key, value)  # before Prefect is imported (by delivery, below)
    return bootstrap(settings)


def _deliver(rt) -> list[str]:
    """Deliver pending commands now; a line for each part (inbox, events, notices, what failed and why)."""
    import asyncio

    import httpx

    from app.delivery import deliver_pending

    try:
        report = asyncio.run(deliver_pending(rt.service, rt.notifier, raise_failures=False))
    except (httpx.HTTPError, RuntimeError) as exc:
        url = os.environ.get("PREFECT_API_URL")
        return [f"inbox: niet bijgewerkt, Prefect op {url} niet bereikbaar ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else '-'}); wordt opnieuw geprobeerd"]
    return delivery_lines(report, rt.settings.notifier)


def delivery_lines(report: Any, notifier: str) -> list[str]:
    """What one drain did, part by part, in Dutch (`app.delivery.DrainReport`)."""
    counts = report.counts
    opened = counts.get("inbox opened", 0)
    closed = sum(n for what, n in counts.items() if what in ("inbox closed", "inbox already_closed", "inbox running"))
    notices = [(k, e) for k, e in report.failed.items() if e.startswith("NotificationFailed")]
    prefect = [(k, e) for k, e in report.failed.items() if not e.startswith("NotificationFailed")]
    lines = []
    if opened or closed:
        lines.append(f"inbox bijgewerkt: {opened} taak/taken geopend, {closed} gesloten")
    elif not prefect:
        lines.append("inbox: geen wijziging nodig")
    if counts.get("events"):
        lines.append(f"gebeurtenissen naar Prefect: {counts['events']}")
    if prefect:
        lines.append(f"niet bij Prefect afgeleverd: {len(prefect)} (bijv. {_first_line(prefect[0][1])}); "
                     "wordt opnieuw geprobeerd")
    if counts.get("notices"):
        how = "alleen gelogd (notifier log, niets verstuurd)" if notifier == "log" else "verstuurd"
        lines.append(f"berichten: {counts['notices']} {how}")
    if report.waiting:
        lines.append(f"berichten: {report.waiting} wachten (kanaal in storing, of later opnieuw)")
    if notices:
        lines.append(f"berichten mislukt: {len(notices)} ({_first_line(notices[0][1])}); wordt opnieuw geprobeerd")
    return lines


def _first_line(error: str) -> str:
    return error.splitlines()[0][:300] if error else "-"


def _print_view(view: Any, as_json: bool) -> None:
    if as_json:
        print(view.model_dump_json(indent=2))
        return
    print(f"{view.case_ref}  {view.municipality}  {view.definition}  versie {view.version}  {status(view.status)}"
          + (f"  fase {view.phase}" if view.phase else "") + f"  (tijden: {ZONE})")
    if view.stuck_since is not None:
        print(f"  VASTGELOPEN sinds {short_moment(view.stuck_since)}: {view.stuck_reason}\n"
              "  De sweep slaat deze zaak over. Herstel de oorzaak en probeer opnieuw: "
              f"regie case retry {view.case_ref}")
    for t in view.open_tasks:
        due = f"uiterlijk {day(t.due_on)}" + (" (GEMIST)" if t.missed else "") if t.due_on else "geen termijn"
        print(f"  open  {t.task_id:<24} {t.role:<20} {due}  {t.name}")
    for c in view.clocks:
        print(f"  term. {c.clock:<24} {said(CLOCK_STATUS, c.status):<20} {day(c.started_on)} t/m {day(c.end_on)}")
    for d in view.next_due[:5]:
        print(f"  straks {short_moment(d.due_at)}  {said(DUE_KIND, d.kind)}: {d.subject}")
    for h in view.history[-10:]:
        print(f"  {short_moment(h.at)}  v{h.version:<3} {said(HISTORY_KIND, h.kind)}: {h.ref}"
              + (f" ({h.detail})" if h.detail else ""))


def _report(rt: Any, view: Any, as_json: bool) -> int:
    """Show the case as it is now, then deliver what the change caused, saying what happened to each part."""
    _print_view(view, as_json)
    print(f"zaak opgeslagen: {view.case_ref} versie {view.version}", file=sys.stderr)
    for line in _deliver(rt):
        print(line, file=sys.stderr)
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    rt = _runtime()
    view = rt.service.start_trajectory(
        case_ref=args.case_ref, definition=args.definition, municipality=args.municipality,
        start_message=args.message, data=parse_pairs(args.data, "--data"),
        personal=parse_pairs(args.personal, "--personal") or None, occurred_on=args.occurred_on,
        profile=args.profile, actor=args.actor)
    return _report(rt, view, args.json)


def cmd_complete(args: argparse.Namespace) -> int:
    rt = _runtime()
    view = rt.service.complete_step(case_ref=args.case_ref, task=args.step, data=parse_pairs(args.data, "--data"),
                                    actor=args.actor, expected_version=args.expected_version)
    return _report(rt, view, args.json)


def cmd_message(args: argparse.Namespace) -> int:
    rt = _runtime()
    view = rt.service.deliver_message(case_ref=args.case_ref, message=args.message,
                                      data=parse_pairs(args.data, "--data"), occurred_on=args.occurred_on,
                                      actor=args.actor)
    return _report(rt, view, args.json)


def cmd_retry(args: argparse.Namespace) -> int:
    rt = _runtime()
    view = rt.service.retry(args.case_ref, actor=args.actor)
    print(f"zaak {view.case_ref} loopt weer", file=sys.stderr)
    return _report(rt, view, args.json)


def cmd_show(args: argparse.Namespace) -> int:
    if not args.personal:
        _print_view(_runtime().service.show_case(args.case_ref), args.json)
        return 0
    from app.privacy.person import show_personal
    from app.settings import get_settings
    from cli.person_cmd import operator_of

    if args.reden is None:
        raise ValueError("--personal: noem de reden met --reden TEKST (die komt in het inzagelog)")
    service = _runtime().service
    view = service.show_case(args.case_ref)
    personal = show_personal(service, args.case_ref, operator=operator_of(args, get_settings()), reason=args.reden)
    if args.json:
        print(json.dumps({**view.model_dump(mode="json"), "personal": personal}, indent=2, ensure_ascii=False))
        return 0
    _print_view(view, False)
    print("  persoonsgegevens (dit inzien is gelogd: regie person access-log " + view.case_ref + "):")
    for key, value in sorted(personal.items()):
        print(f"    {key}: {value}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    cases = _runtime().service.list_cases(municipality=args.municipality, phase=args.phase, status=args.status,
                                          limit=args.limit)
    if args.json:
        print(json.dumps([c.model_dump(mode="json") for c in cases], indent=2))
        return 0
    for c in cases:
        due = f"volgende {day(c.next_due_at)}" if c.next_due_at else ""
        missed = f", {c.missed_tasks} gemist" if c.missed_tasks else ""
        print(f"{c.case_ref:<18} {c.municipality:<16} {status(c.status):<12} {c.phase or '-':<18} "
              f"{c.open_tasks} open{missed}  {due}")
    print(f"{len(cases)} {'zaak' if len(cases) == 1 else 'zaken'}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `regie case ...` to the `regie` parser."""
    case = sub.add_parser("case", help="start, complete, message, show and list cases")
    cases = case.add_subparsers(dest="case_command", required=True)

    def common(p: argparse.ArgumentParser, actor: bool = True) -> None:
        p.add_argument("--json", action="store_true", help="print JSON")
        if actor:
            p.add_argument("--actor", default=os.environ.get("USER", "operator"), help="who does this")

    def data(p: argparse.ArgumentParser, what: str) -> None:
        p.add_argument("--data", action="append", default=[], metavar="KEY=VALUE", help=f"{what}; repeatable")

    p = cases.add_parser("start", help="start a trajectory")
    p.add_argument("case_ref", help="pseudonymous case reference, e.g. RMD-2026-0042")
    p.add_argument("--definition", required=True, help="process definition id (or id@version)")
    p.add_argument("--municipality", required=True)
    p.add_argument("--message", help="life event that starts it, e.g. koppeling")
    data(p, "process data")
    p.add_argument("--personal", action="append", default=[], metavar="KEY=VALUE",
                   help="personal data (naam, bsn, ...): kept in the case store only; repeatable")
    p.add_argument("--occurred-on", type=iso_date, help="date of the life event (YYYY-MM-DD)")
    p.add_argument("--profile", help="municipality profile (default: the municipality's own, if any)")
    common(p)
    p.set_defaults(func=cmd_start)

    p = cases.add_parser("complete", help="complete an open step with its form data")
    p.add_argument("case_ref")
    p.add_argument("step", help="step (element id), or task id when several are open")
    data(p, "form field")
    p.add_argument("--expected-version", type=whole_number(1, 2**31 - 1),
                   help="the version you saw; refused if the case changed")
    common(p)
    p.set_defaults(func=cmd_complete)

    p = cases.add_parser("message", help="deliver a life event or signal to a case")
    p.add_argument("case_ref")
    p.add_argument("message", help="message name, e.g. huisvesting")
    data(p, "message data")
    p.add_argument("--occurred-on", type=iso_date, help="when it happened (YYYY-MM-DD)")
    common(p)
    p.set_defaults(func=cmd_message)

    p = cases.add_parser("show", help="show one case (process data only; --personal: also personal data, logged)")
    p.add_argument("case_ref")
    p.add_argument("--personal", action="store_true",
                   help="also the personal data; needs --operator (or REGIE_OPERATOR) and --reden, both logged")
    p.add_argument("--operator", help="who reads the personal data (operator id); default REGIE_OPERATOR")
    p.add_argument("--reden", "--reason", dest="reden", help="why (kept in the access log; no personal data)")
    common(p, actor=False)
    p.set_defaults(func=cmd_show)

    p = cases.add_parser("retry", help="try a stuck case again, after its cause was fixed")
    p.add_argument("case_ref")
    common(p)
    p.set_defaults(func=cmd_retry)

    p = cases.add_parser("list", help="list cases")
    p.add_argument("--municipality")
    p.add_argument("--phase")
    p.add_argument("--status", choices=["new", "active", "completed", "terminated", "stuck"])
    p.add_argument("--limit", type=whole_number(0, MAX_LIST), help=f"at most this many (0 to {MAX_LIST})")
    common(p, actor=False)
    p.set_defaults(func=cmd_list, case_ref=None)

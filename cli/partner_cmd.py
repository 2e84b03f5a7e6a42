"""`regie partner-link CASE_REF STEP_ID [--role ROLE] [--recipient PARTNER]`: a fresh partner link by hand.

For an operator who passes a link on by phone or mail: the partner opens it and completes the step
(or, with a signal's message name as STEP_ID, sends that signal) on the partner page. The link is
bound to the case, the step, the role and the recipient, works once, and replaces the earlier links
for that step and recipient. The address is printed on stdout (and nowhere else: links are never logged).
"""

from __future__ import annotations

import argparse
import sys


def cmd_partner_link(args: argparse.Namespace) -> int:
    from app.bootstrap import bootstrap
    from app.errors import REFUSALS
    from app.people_time import day
    from app.settings import get_settings

    try:
        rt = bootstrap(get_settings())
        assert rt.links is not None
        issued = rt.links.issue(args.case_ref, args.step, role=args.role, recipient=args.recipient)
    except REFUSALS as exc:
        print(f"regie partner-link: {exc}", file=sys.stderr)
        return 1
    print(issued.url)
    print(f"voor {issued.recipient} ({issued.role}), {issued.step} van zaak {issued.case_ref}: werkt één keer, t/m "
          f"{day(issued.last_day)} (Amsterdam); eerdere links voor deze stap en ontvanger werken niet meer",
          file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `regie partner-link` to the `regie` parser."""
    p = sub.add_parser("partner-link", help="print a fresh partner-page link for an open step (or a signal)")
    p.add_argument("case_ref", help="case reference, e.g. RMD-2026-0042")
    p.add_argument("step", help="open step (element id, or task id), or a message the role may send "
                                "(e.g. uitval_signaal)")
    p.add_argument("--role", help="role that acts (default: the step's role; required for a signal)")
    p.add_argument("--recipient", help="partner id from the municipality's partner list (default: the partner "
                                       "the case's profile sends this role's messages to)")
    p.set_defaults(func=cmd_partner_link)

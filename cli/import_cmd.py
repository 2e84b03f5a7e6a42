"""`regie import koppelingen FILE.csv`: start trajectories for statushouders COA linked to us."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_import_koppelingen(args: argparse.Namespace) -> int:
    from app.bootstrap import bootstrap
    from app.imports import KoppelingFileError, import_coa_koppelingen
    from app.settings import get_settings

    settings = get_settings()
    key = settings.pseudonym_key.get_secret_value()
    if not key:
        print("REGIE_PSEUDONYM_KEY is not set: case references are made from V-numbers with this secret; "
              "set it (and keep it) before importing", file=sys.stderr)
        return 2
    try:
        text = Path(args.file).read_text(encoding="utf-8-sig")
    except OSError as exc:
        print(f"{args.file}: cannot read: {exc.strerror}", file=sys.stderr)
        return 2
    service = bootstrap(settings).service
    try:
        report = import_coa_koppelingen(service, text, key=key.encode(), actor=args.actor, only_valid=args.only_valid,
                                dry_run=args.dry_run)
    except KoppelingFileError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 1
    for problem in report.problems:
        print(f"{args.file}: {problem}", file=sys.stderr)
    for case_ref in report.started:
        print(f"{'would start' if args.dry_run else 'started'} {case_ref}")
    print(report.summary())
    return 1 if report.refused else 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `regie import ...` to the `regie` parser."""
    p = sub.add_parser("import", help="import lists from partners")
    kinds = p.add_subparsers(dest="kind", required=True)
    k = kinds.add_parser("koppelingen", help="COA's list of newly linked statushouders (CSV)")
    k.add_argument("file", help="CSV with columns v_nummer;koppelingsdatum;gemeente[;naam;geboortedatum;azc]")
    k.add_argument("--only-valid", action="store_true", help="import the good rows even if some rows are bad")
    k.add_argument("--dry-run", action="store_true", help="check the file and show what would start")
    k.add_argument("--actor", default="coa-import", help="who is recorded as starting the cases")
    k.set_defaults(func=cmd_import_koppelingen)

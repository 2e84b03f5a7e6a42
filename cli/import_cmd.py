"""`regie import koppelingen FILE.csv`: start trajectories for statushouders COA linked to us.

FILE is a file in the import folder (`REGIE_IMPORT_DIR`, default `<data dir>/import`); nothing outside
it is read. Problems name lines and columns, never values from the file.
"""

from __future__ import annotations

import argparse
import sys

from cli.output import REFUSED, refuse


def cmd_import_koppelingen(args: argparse.Namespace) -> int:
    from app.bootstrap import bootstrap
    from app.imports import KoppelingFileError, import_coa_koppelingen, read_import_file
    from app.settings import get_settings

    command = "regie import koppelingen"
    settings = get_settings()
    key = settings.pseudonym_key.get_secret_value()
    if not key:
        return refuse(command, "REGIE_PSEUDONYM_KEY is niet gezet: zaakreferenties worden met dit geheim uit "
                               "V-nummers gemaakt; zet het (en bewaar het) voor u importeert")
    data = read_import_file(settings.import_dir, args.file)
    service = bootstrap(settings).service
    try:
        report = import_coa_koppelingen(service, data, key=key.encode(), actor=args.actor,
                                        only_valid=args.only_valid, dry_run=args.dry_run, file_name=args.file)
    except KoppelingFileError as exc:
        return refuse(command, exc)
    for problem in report.problems:
        print(f"{command}: {problem}", file=sys.stderr)
    for case_ref in report.started:
        print(f"{'zou starten' if args.dry_run else 'gestart'} {case_ref}")
    print(report.summary())
    if report.refused:
        return REFUSED
    return 1 if report.problems else 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `regie import ...` to the `regie` parser."""
    p = sub.add_parser("import", help="import lists from partners")
    kinds = p.add_subparsers(dest="kind", required=True)
    k = kinds.add_parser("koppelingen", help="COA's list of newly linked statushouders (CSV)")
    k.add_argument("file", help="a CSV file in REGIE_IMPORT_DIR with columns v_nummer, koppelingsdatum, gemeente "
                                "[, naam, geboortedatum, azc]")
    k.add_argument("--only-valid", action="store_true", help="import the good rows even if some rows are bad")
    k.add_argument("--dry-run", action="store_true", help="check the file and show what would start")
    k.add_argument("--actor", default="coa-import", help="who is recorded as starting the cases")
    k.set_defaults(func=cmd_import_koppelingen)

"""`regie person export|erase|retention|access-log`: the person's rights under the AVG (docs/privacy.md).

Every command that reads or erases personal data needs the operator's name (`--operator`, or the setting
REGIE_OPERATOR) and a reason (`--reden`); both go into the access log (`regie person access-log`). The
export is printed here (or written to `--uitvoer`), on this terminal only: never through Prefect.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _service():
    from app.bootstrap import bootstrap
    from app.settings import get_settings

    settings = get_settings()
    return bootstrap(settings).service, settings


def operator_of(args: argparse.Namespace, settings) -> str | None:
    """The operator: the flag, else the setting REGIE_OPERATOR (refused later when neither is there)."""
    return args.operator or settings.operator or None


def cmd_export(args: argparse.Namespace) -> int:
    from app.privacy.document import render_document
    from app.privacy.person import export_person

    service, settings = _service()
    export = export_person(service, args.case_ref, operator=operator_of(args, settings), reason=args.reden)
    text = json.dumps(export, indent=2, ensure_ascii=False) + "\n" if args.format == "json" else render_document(export)
    if args.uitvoer:
        Path(args.uitvoer).write_text(text, encoding="utf-8")
        print(f"inzage van zaak {args.case_ref} geschreven naar {args.uitvoer}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_erase(args: argparse.Namespace) -> int:
    from app.privacy.person import erase_person

    service, settings = _service()
    done = erase_person(service, args.case_ref, operator=operator_of(args, settings), reason=args.reden,
                        running_too=args.ook_lopend)
    print(f"zaak {done.case_ref}: persoonsgegevens gewist ({len(done.personal_fields)} persoonsgegeven(s), "
          f"{len(done.case_data_fields)} zaakveld(en): {', '.join(done.case_data_fields) or '-'}); "
          f"de geschiedenis en alle cijfers blijven (versie {done.version})")
    return 0


def cmd_retention(args: argparse.Namespace) -> int:
    from app.privacy.person import erase_expired, expired

    service, _ = _service()
    if not args.dry_run:
        counts = erase_expired(service)
        print(f"{counts['gewist']} zaak/zaken gewist, {counts['overgeslagen']} overgeslagen "
              f"(van {counts['verlopen']} verlopen)")
        return 0
    due = expired(service)
    for case in due:
        print(f"{case.case_ref:<22} {case.status:<11} gesloten {case.closed_on}  bewaren tot {case.kept_until}  "
              f"({case.retention.period}" + (", ONZEKER" if case.retention.uncertain else "") + ")")
    print(f"{len(due)} zaak/zaken zou(den) gewist worden (proefdraai: niets gewist)", file=sys.stderr)
    return 0


def cmd_access_log(args: argparse.Namespace) -> int:
    from app.privacy.access import ACTIONS
    from app.privacy.person import access_log, dutch_time

    service, _ = _service()
    lines = access_log(service, args.case_ref)
    for line in lines:
        print(f"{dutch_time(line.at)[:16].replace('T', ' ')}  {line.operator:<20} "
              f"{ACTIONS.get(line.action, line.action)}; reden: {line.reason}")
    print(f"{len(lines)} keer ingezien of gewist (Nederlandse tijd)", file=sys.stderr)
    return 0


def add_operator(p: argparse.ArgumentParser) -> None:
    """`--operator` and `--reden` (also `--reason`): who reads personal data and why; both logged."""
    p.add_argument("--operator", help="wie dit doet (medewerkercode); standaard de instelling REGIE_OPERATOR")
    p.add_argument("--reden", "--reason", dest="reden", required=True,
                   help="waarom (komt in het inzagelog; noem geen persoonsgegevens)")


def register(sub: argparse._SubParsersAction) -> None:
    """Add `regie person ...` to the `regie` parser."""
    person = sub.add_parser("person", help="AVG: inzage, wissen, bewaartermijn en inzagelog van een persoon")
    people = person.add_subparsers(dest="action", required=True)

    p = people.add_parser("export", help="alles wat Regie over de persoon van een zaak bewaart (art. 15 AVG)")
    p.add_argument("case_ref")
    p.add_argument("--format", choices=["json", "tekst"], default="tekst",
                   help="json voor systemen, tekst (standaard) voor de persoon")
    p.add_argument("--uitvoer", help="schrijf naar dit bestand in plaats van naar het scherm")
    add_operator(p)
    p.set_defaults(func=cmd_export)

    p = people.add_parser("erase", help="wis de persoonsgegevens van een zaak; geschiedenis en cijfers blijven")
    p.add_argument("case_ref")
    p.add_argument("--ook-lopend", action="store_true", help="ook als de zaak nog loopt")
    add_operator(p)
    p.set_defaults(func=cmd_erase)

    p = people.add_parser("retention", help="wis de gesloten zaken waarvan de bewaartermijn voorbij is")
    p.add_argument("--dry-run", action="store_true", help="toon alleen wat gewist zou worden")
    p.set_defaults(func=cmd_retention)

    p = people.add_parser("access-log", help="wie de persoonsgegevens van een zaak inzag of wiste, en waarom")
    p.add_argument("case_ref")
    p.set_defaults(func=cmd_access_log)

"""`regie docs [--check]`: write docs/processes.md from the definitions, or check that it is current."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.definitions import DEFAULT_DIR, process_docs
from app.inputs import shown
from cli.output import refuse

DOCS_FILE = DEFAULT_DIR.parent / "docs" / "processes.md"


def cmd_docs(args: argparse.Namespace) -> int:
    target = Path(args.output) if args.output else DOCS_FILE
    if target.exists() and not target.is_file():
        return refuse("regie docs", f"{shown(str(target), 80)} is geen gewoon bestand")
    if args.definitions is not None and not Path(args.definitions).is_dir():
        return refuse("regie docs", f"{shown(args.definitions, 80)} is geen map met definities")
    text, problems = process_docs(Path(args.definitions) if args.definitions is not None else None)
    if text is None:
        for problem in problems:
            print(problem, file=sys.stderr)
        print("fix the definitions first: the docs are generated from valid definitions only", file=sys.stderr)
        return 1
    if args.check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{target} is out of date: run `regie docs` and commit the result", file=sys.stderr)
            return 1
        print(f"{target} is up to date")
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `regie docs` to the `regie` parser."""
    p = sub.add_parser("docs", help="write docs/processes.md (diagrams and deadline tables) from the definitions")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 when the file differs")
    p.add_argument("-o", "--output", help=f"file to write or check (default: {DOCS_FILE})")
    p.add_argument("-d", "--definitions", help="definitions folder (default: process_definitions/)")
    p.set_defaults(func=cmd_docs)

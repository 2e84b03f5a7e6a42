"""`regie validate`, `regie schema`, `regie simulate`: working with definitions, no server needed."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.definitions import DEFAULT_DIR, check_definitions, load_scenario, schema, simulate_scenario
from app.errors import REFUSALS


def cmd_validate(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths] or [DEFAULT_DIR]
    missing = [p for p in paths if not p.exists()]
    if missing:
        for p in missing:
            print(f"{p}: -: no such file or folder", file=sys.stderr)
        return 1
    library, lines = check_definitions(paths)
    for line in lines:
        print(line, file=sys.stderr)
    if lines:
        print(f"{len(lines)} problem(s) found", file=sys.stderr)
        return 1
    print(f"ok: {len(library.definitions)} definition(s), {len(library.profiles)} profile(s)")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    text = json.dumps(schema(), indent=2, ensure_ascii=False)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario(Path(args.scenario))
        result, problems = simulate_scenario(scenario, [Path(p) for p in args.definitions] or [DEFAULT_DIR])
    except (*REFUSALS, KeyError) as exc:
        print(f"{args.scenario}: {exc}", file=sys.stderr)
        return 1
    for problem in problems:
        print(problem, file=sys.stderr)
    if result is None:
        return 1
    if args.json:
        print(result.model_dump_json(indent=2, exclude={"state"}))
    else:
        print(result.text())
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's subcommands to the `regie` parser."""
    p = sub.add_parser("validate", help="check definition files; every problem as file: element: what")
    p.add_argument("paths", nargs="*", help="files or folders (default: process_definitions/)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of the definition language")
    p.add_argument("-o", "--output", help="write to this file instead of standard output")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("simulate", help="run one case in virtual time and print what happens")
    p.add_argument("scenario", help="scenario file (YAML)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    p.add_argument("-d", "--definitions", action="append", default=[],
                   help="definition files or folders (default: process_definitions/); repeatable")
    p.set_defaults(func=cmd_simulate)

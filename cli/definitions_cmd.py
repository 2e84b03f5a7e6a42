"""`regie validate`, `regie schema`, `regie simulate`: working with definitions, no server needed."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from engine.errors import DefinitionError, EngineError
from engine.loader import DEFAULT_DIR
from engine.schema import language_schema
from engine.simulation import load_scenario, simulate
from engine.validator import validate_paths


def cmd_validate(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.paths] or [DEFAULT_DIR]
    missing = [p for p in paths if not p.exists()]
    if missing:
        for p in missing:
            print(f"{p}: -: no such file or folder", file=sys.stderr)
        return 1
    library, problems = validate_paths(_with_catalog(paths))
    lines = [str(p) for p in problems] + _directory_problems(library)
    for line in lines:
        print(line, file=sys.stderr)
    if lines:
        print(f"{len(lines)} problem(s) found", file=sys.stderr)
        return 1
    print(f"ok: {len(library.definitions)} definition(s), {len(library.profiles)} profile(s)")
    return 0


def _directory_problems(library) -> list[str]:
    """Every profile's partner URLs, checked with apprise (secrets stand in as dummies when not set)."""
    from integrations.directory import check_directory

    lines = []
    for profile in library.profiles.values():
        file = library.files[f"profile:{profile.id}"]
        _directory, problems = check_directory(profile, library.catalog, os.environ)
        lines.extend(f"{file}: {p.role}: {p.partner}: {p.message}" for p in problems)
    return lines


def _with_catalog(paths: list[Path]) -> list[Path]:
    # A single definition file is checked against the project's catalogue, unless one is given.
    catalog = DEFAULT_DIR / "catalog.yaml"
    covered = any(p.resolve() == catalog or (p.is_dir() and catalog.is_relative_to(p.resolve())) for p in paths)
    return paths if covered else [catalog, *paths]


def cmd_schema(args: argparse.Namespace) -> int:
    text = json.dumps(language_schema(), indent=2, ensure_ascii=False)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario(Path(args.scenario))
    except DefinitionError as exc:
        print(exc, file=sys.stderr)
        return 1
    paths = [Path(p) for p in args.definitions] or [DEFAULT_DIR]
    library, problems = validate_paths(_with_catalog(paths))
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    try:
        result = simulate(library, scenario)
    except (EngineError, KeyError) as exc:
        print(f"{args.scenario}: {exc}", file=sys.stderr)
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

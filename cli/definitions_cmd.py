"""`regie validate`, `regie schema`, `regie simulate`: working with definitions, no server needed."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.definitions import check_definitions, load_scenario, schema, simulate_scenario
from app.errors import REFUSALS, InputRefused
from app.inputs import shown
from cli.output import one_line


def definitions_dir() -> Path:
    """The configured definitions folder (REGIE_DEFINITIONS_DIR, default process_definitions/)."""
    from app.settings import get_settings

    return get_settings().definitions_dir


def existing_paths(names: list[str]) -> list[Path]:
    """The files and folders named, each a regular file or a folder; `InputRefused` names the first that is not."""
    paths = [Path(name) for name in names]
    for path in paths:
        if not (path.is_dir() or path.is_file()):
            raise InputRefused(f"{shown(str(path), 80)}: geen bestand of map")
    return paths


def cmd_validate(args: argparse.Namespace) -> int:
    folder = definitions_dir()
    paths = existing_paths(args.paths) or [folder]
    library, lines = check_definitions(paths, catalog_dir=folder)
    for line in lines:
        print(line, file=sys.stderr)
    if lines:
        print(f"{len(lines)} {'probleem' if len(lines) == 1 else 'problemen'} gevonden", file=sys.stderr)
        return 1
    print(f"in orde: {len(library.definitions)} definitie(s), {len(library.profiles)} profiel(en)")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    text = json.dumps(schema(), indent=2, ensure_ascii=False)
    if args.output and Path(args.output).exists() and not Path(args.output).is_file():
        raise InputRefused(f"{shown(args.output, 80)} is geen gewoon bestand")
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    folder = definitions_dir()
    [scenario_file] = existing_paths([args.scenario])
    try:
        scenario = load_scenario(scenario_file)
        result, problems = simulate_scenario(scenario, existing_paths(args.definitions) or [folder], folder)
    except (*REFUSALS, KeyError, TypeError) as exc:
        print(one_line(f"{args.scenario}: {exc}"), file=sys.stderr)
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
    p.add_argument("paths", nargs="*", help="files or folders (default: REGIE_DEFINITIONS_DIR, process_definitions/)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of the definition language")
    p.add_argument("-o", "--output", help="write to this file instead of standard output")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("simulate", help="run one case in virtual time and print what happens")
    p.add_argument("scenario", help="scenario file (YAML)")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    p.add_argument("-d", "--definitions", action="append", default=[],
                   help="definition files or folders (default: REGIE_DEFINITIONS_DIR, process_definitions/); "
                        "repeatable")
    p.set_defaults(func=cmd_simulate)

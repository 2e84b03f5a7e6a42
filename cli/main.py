"""The `regie` command. Each group of subcommands lives in its own module and registers itself here."""

from __future__ import annotations

import argparse
import sys

from cli import (
    automations_cmd,
    case_cmd,
    definitions_cmd,
    docs_cmd,
    import_cmd,
    partner_cmd,
    portal_cmd,
    storingen_cmd,
    up_cmd,
)

# Modules with a `register(subparsers)` function; their heavy imports (Prefect, the database) happen
# inside the command functions, so `regie validate` stays quick.
COMMAND_MODULES = [definitions_cmd, docs_cmd, import_cmd, case_cmd, up_cmd, automations_cmd, storingen_cmd,
                   partner_cmd, portal_cmd]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regie", description="Regie: civic-integration trajectories as declarative processes."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

"""The `regie` command. Each group of subcommands lives in its own module and registers itself here.

Whatever it is given, a command either does its work or refuses in ONE line on stderr and exits with
code 2, leaving every case as it was: a wrong argument (argparse), a bad setting, a value the case
service refuses, a definition problem or a store refusal. Only a bug shows a traceback.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import NoReturn

from cli import (
    automations_cmd,
    case_cmd,
    definitions_cmd,
    docs_cmd,
    import_cmd,
    partner_cmd,
    person_cmd,
    portal_cmd,
    storingen_cmd,
    up_cmd,
)
from cli.output import REFUSED, refuse

# Modules with a `register(subparsers)` function; their heavy imports (Prefect, the database) happen
# inside the command functions, so `regie validate` stays quick.
COMMAND_MODULES = [definitions_cmd, docs_cmd, import_cmd, case_cmd, up_cmd, automations_cmd, storingen_cmd,
                   partner_cmd, portal_cmd, person_cmd]


class RegieParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (with a pointer to --help), exit code 2."""

    def error(self, message: str) -> NoReturn:
        refuse(self.prog, f"{in_dutch(message)} (zie {self.prog} --help)")
        raise SystemExit(REFUSED)


# argparse says what is wrong in English; the operator reads it in Dutch (the names and values stay as typed).
_ARGPARSE = [
    (re.compile(r"the following arguments are required: (.*)"), r"dit ontbreekt: \1"),
    (re.compile(r"unrecognized arguments: (.*)"), r"onbekende argumenten: \1"),
    (re.compile(r"one of the arguments (.*) is required"), r"een van deze argumenten is nodig: \1"),
    (re.compile(r"invalid choice: (.*) \(choose from (.*)\)"), r"ongeldige keuze: \1 (kies uit: \2)"),
    (re.compile(r"expected one argument"), "verwacht één waarde"),
    (re.compile(r"expected at most one argument"), "verwacht hoogstens één waarde"),
    (re.compile(r"expected at least one argument"), "verwacht minstens één waarde"),
    (re.compile(r"invalid (.*) value: (.*)"), r"ongeldige waarde (\1): \2"),
    (re.compile(r"not allowed with argument (.*)"), r"niet samen met \1"),
    (re.compile(r"ambiguous option: (.*) could match (.*)"), r"dubbelzinnige optie: \1 kan zijn: \2"),
    (re.compile(r"ignored explicit argument (.*)"), r"overbodige waarde: \1"),
]


def in_dutch(message: str) -> str:
    """An argparse error in Dutch: `argument --limit: expected one argument` -> `--limit: verwacht één waarde`."""
    prefix, rest = "", message
    if (m := re.match(r"argument (\S+?): (.*)", message, re.S)) is not None:
        prefix, rest = f"{m[1]}: ", m[2]
    for pattern, dutch in _ARGPARSE:
        if pattern.fullmatch(rest):
            return prefix + pattern.sub(dutch, rest)
    return prefix + rest


def build_parser() -> argparse.ArgumentParser:
    parser = RegieParser(
        prog="regie", description="Regie: civic-integration trajectories as declarative processes."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from app.errors import REFUSALS, DefinitionError

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a wrong argument (2, already said in one line)
        return exc.code if isinstance(exc.code, int) else REFUSED
    try:
        return args.func(args)
    except DefinitionError as exc:
        first = exc.problems[0] if exc.problems else "?"
        return refuse(command_name(args), f"{len(exc.problems)} probleem/problemen in de definities, eerste: {first} "
                                          "(alle: regie validate)")
    except REFUSALS as exc:
        return refuse(command_name(args), exc)
    except OSError as exc:  # a file named on the command line that cannot be read or written
        where = f": {exc.filename}" if exc.filename else ""
        return refuse(command_name(args), f"{exc.strerror or type(exc).__name__}{where}")
    except RecursionError:  # a file or value nested deeper than any reader goes
        return refuse(command_name(args), "de invoer is te diep genest om te lezen")


def command_name(args: argparse.Namespace) -> str:
    """`regie case start`, `regie import koppelingen`, ...: the command as the operator typed it."""
    words = ["regie", args.command]
    for attribute in ("case_command", "kind", "action"):
        if getattr(args, attribute, None):
            words.append(getattr(args, attribute))
    return " ".join(words)


if __name__ == "__main__":
    sys.exit(main())

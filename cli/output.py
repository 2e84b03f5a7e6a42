"""How the `regie` command speaks when it refuses: one printable line on stderr, exit code 2.

Exit codes: 0 done; 1 done in part, or problems found in what the command was asked to check (`validate`,
`simulate`, `docs --check`, an import of the good rows only); 2 refused, nothing done or changed.
"""

from __future__ import annotations

import sys

REFUSED = 2
"""Exit code of a refusal (as argparse uses for a wrong argument)."""
MAX_LINE = 500


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """A message as one printable line: control characters escaped, long messages cut."""
    flat = " / ".join(part.strip() for part in str(text).splitlines() if part.strip())
    flat = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in flat)
    flat = flat.encode("utf-8", "backslashreplace").decode("utf-8")
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"


def refuse(command: str, message: object) -> int:
    """Print a refusal as `regie <command>: <message>` on one line; the exit code of a refusal."""
    print(one_line(f"{command}: {message}"), file=sys.stderr)
    return REFUSED

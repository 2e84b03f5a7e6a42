"""`regie automations install`: Regie's own Prefect automations on its case events."""

from __future__ import annotations

import argparse
import asyncio


def cmd_install(args: argparse.Namespace) -> int:
    from app.automations import install

    for name in asyncio.run(install(args.notify_block)):
        print(f"installed: {name}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `regie automations ...` to the `regie` parser."""
    p = sub.add_parser("automations", help="Prefect automations on Regie's case events")
    actions = p.add_subparsers(dest="action", required=True)
    i = actions.add_parser("install", help="create or replace them on the server in PREFECT_API_URL")
    i.add_argument("--notify-block", help="a Prefect notification block as type/name (e.g. slack-webhook/regie-coordinatoren) for the "
                                          "coordinators: told of every missed deadline")
    i.set_defaults(func=cmd_install)

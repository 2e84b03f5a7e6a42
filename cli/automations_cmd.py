"""`regie automations install`: Regie's own Prefect automations on its case events.

By default they go to the running `regie up` of this data dir (its port from `cli/running.py`), never to
a temporary server of Prefect's own; PREFECT_API_URL names another server. With neither, one line says so.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re

from cli.output import refuse
from cli.up_cmd import prefect_environment

BLOCK = re.compile(r"[a-z0-9][a-z0-9-]{0,99}/[a-z0-9][a-z0-9-]{0,99}")
"""A Prefect block as `type/name` (both slugs)."""


def cmd_install(args: argparse.Namespace) -> int:
    from cli import running
    from cli.up_cmd import uses_external_server

    command = "regie automations install"
    if args.notify_block is not None and not BLOCK.fullmatch(args.notify_block):
        return refuse(command, "--notify-block is een Prefect-blok als type/naam, bijvoorbeeld "
                               "slack-webhook/regie-coordinatoren (kleine letters, cijfers en -)")
    settings = running.settings_like_running()
    if not uses_external_server() and running.read(settings.data_dir) is None:
        return refuse(command, f"er draait geen regie up voor {settings.data_dir}: start `regie up` (of zet "
                               "PREFECT_API_URL voor een andere Prefect-server) en probeer het opnieuw")
    for key, value in prefect_environment(settings).items():
        os.environ.setdefault(key, value)  # the server and its API secret, before Prefect is imported
    import httpx
    from prefect.exceptions import ObjectNotFound

    from app.automations import install

    try:
        names = asyncio.run(install(args.notify_block))
    except ValueError:  # Prefect's word for a block that is not there
        return refuse(command, f"het blok {args.notify_block} bestaat niet op de Prefect-server "
                               f"{os.environ.get('PREFECT_API_URL')}: maak het eerst aan (UI: Blocks → Add)")
    except ObjectNotFound:
        return refuse(command, "het blok of de deployment publish-case-timeline bestaat niet op de Prefect-server "
                               f"{os.environ.get('PREFECT_API_URL')} (draait regie up?)")
    except httpx.HTTPError as exc:
        return refuse(command, f"de Prefect-server {os.environ.get('PREFECT_API_URL')} antwoordt niet zoals "
                               f"verwacht ({type(exc).__name__})")
    for name in names:
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

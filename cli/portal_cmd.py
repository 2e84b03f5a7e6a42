"""`regie portal`: the partner page on its own (e.g. behind a reverse proxy); `regie up` runs this command
beside the Prefect UI (`cli/portal_process.py`).

The portal delivers what a partner's change causes to the Prefect server PREFECT_API_URL names, else
to the local `regie up` server, like the `regie case` commands.
"""

from __future__ import annotations

import argparse
import os

from cli.up_cmd import prefect_environment


def cmd_portal(args: argparse.Namespace) -> int:
    from app.settings import get_settings

    settings = get_settings(**({"portal_port": args.port} if args.port else {}))
    for key, value in prefect_environment(settings).items():
        os.environ.setdefault(key, value)  # before Prefect is imported (by delivery, below)
    from app.bootstrap import bootstrap
    from portal.server import serve

    rt = bootstrap(settings)
    print(f"partner page on http://{args.host}:{settings.portal_port} (links point to {settings.portal_url})",
          flush=True)
    try:
        serve(rt, host=args.host, port=settings.portal_port)
    except KeyboardInterrupt:
        return 130
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add `regie portal` to the `regie` parser."""
    p = sub.add_parser("portal", help="serve the partner page (links in partner messages) on its own")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; a reverse "
                                                       "proxy in front for the outside world)")
    p.add_argument("--port", type=int, help="port (default: REGIE_PORTAL_PORT, 4300)")
    p.set_defaults(func=cmd_portal)

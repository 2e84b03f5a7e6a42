"""Running the partner page: the app over a runtime, served by uvicorn with the token kept out of logs.

uvicorn's own access log prints every request line, token included, so it is off; `portal.app` logs
each request itself with the token replaced (`/l/…`). Behind a reverse proxy, uvicorn takes the
client's address from `X-Forwarded-For` only when the proxy's address is in `FORWARDED_ALLOW_IPS`
(default: 127.0.0.1), which is what the rate limit per address counts. The proxy's own access log
must not log the path of `/l/` requests either (docs/partners.md).
"""

from __future__ import annotations

import asyncio
import logging

import httpx
import uvicorn
from fastapi import FastAPI

from app.bootstrap import Runtime
from app.delivery import DeliveryFailed, deliver_pending
from portal.app import create_app

logger = logging.getLogger("regie.portal")


def build(rt: Runtime) -> FastAPI:
    """The partner page over this runtime's partner links, delivering the outbox after each change."""
    assert rt.links is not None, "a runtime from app.bootstrap has partner links"

    async def deliver() -> None:
        # In a thread with its own loop: the notifier sends mail synchronously, which must not hold up
        # the pages other partners are loading meanwhile.
        await asyncio.to_thread(deliver_now, rt)

    return create_app(rt.links, public_url=rt.settings.portal_url, deliver=deliver)


def deliver_now(rt: Runtime) -> None:
    """Deliver what a partner's change caused (next messages, inbox, events); when Prefect or a partner's
    server cannot be reached the change is saved all the same and the next timer sweep delivers it."""
    try:
        report = asyncio.run(deliver_pending(rt.service, rt.notifier))
    except (httpx.HTTPError, DeliveryFailed) as exc:
        logger.warning("saved; not all of it delivered yet (%s): the next timer sweep will", type(exc).__name__)
        return
    logger.info("delivered %d command(s)", report.delivered)


def serve(rt: Runtime, *, host: str = "127.0.0.1", port: int | None = None) -> None:
    """Serve the partner page until interrupted (blocks)."""
    log = logging.getLogger("regie.portal")
    log.setLevel(logging.INFO)
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
    config = uvicorn.Config(build(rt), host=host, port=port or rt.settings.portal_port, access_log=False,
                            proxy_headers=True, server_header=False, log_level="info")
    uvicorn.Server(config).run()

"""The partner page as a FastAPI app: `GET /l/<token>` shows the step, `POST /l/<token>` acts on it.

Security, each tested in tests/portal/:
- the token is checked by the service layer (signature in constant time, revocation, single use,
  expiry, the step still open); anything else gets a Dutch page and changes nothing;
- posts are CSRF-safe: a form token bound to the link and to a per-page nonce in a SameSite=Strict,
  HttpOnly cookie scoped to that link's path, a same-origin `Origin`, and no cross-site fetch;
- rate limits per link and per client address (portal.limits), before any work is done;
- the token never reaches a log: uvicorn's access log is off and ours writes `/l/…` for the path;
- every response carries security headers (a CSP that allows only our own stylesheet and forms, no
  framing, never the page's address as a referrer, no caching);
- nothing redirects: the app answers every address itself (no trailing-slash redirects either).
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.links.outcomes import Done, Refusal
from app.links.service import PartnerLinks
from portal import html
from portal.limits import Limits, RateLimiter

logger = logging.getLogger("regie.portal")

MAX_BODY = 16_384
"""Largest form post accepted (bytes); a step's form is a few fields."""
COOKIE = "regie_formulier"
_TOKEN_PATH = re.compile(r"/l/[^/?#]*")

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # The page's address (with its token) is never sent as a referrer, not even with our own stylesheet
    # request, which a proxy's access log might record: only the origin is. Not no-referrer: with that,
    # browsers post our own forms with "Origin: null", which the CSRF check refuses.
    "Referrer-Policy": "strict-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


def redact(path: str) -> str:
    """A request path as logs may show it: the token replaced by an ellipsis."""
    return _TOKEN_PATH.sub("/l/…", path)


def create_app(links: PartnerLinks, *, public_url: str, deliver: Callable[[], Awaitable[Any]] | None = None,
               limiter: RateLimiter | None = None) -> FastAPI:
    """The partner page over `links`; `deliver` runs after each change (the outbox: the next partner's
    message, the inbox run closed as completed elsewhere)."""
    limiter = limiter or RateLimiter(Limits())
    secure = public_url.startswith("https://")
    allowed_origins = {_origin(public_url)}
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, redirect_slashes=False)
    app.router.redirect_slashes = False

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        path = request.url.path
        token = path[3:] if path.startswith("/l/") else None
        wait = limiter.allow(_address(request), token) if token is not None else None
        if wait is not None:
            response: Response = _page(429, html.message_page("Te veel pogingen", [
                "Er zijn te veel pogingen gedaan met deze link of vanaf dit adres.",
                f"Probeer het over {max(1, round(wait / 60))} minuten opnieuw.", html.NOTHING_CHANGED]))
            response.headers["Retry-After"] = str(max(1, int(wait)))
        else:
            response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Cache-Control", "no-store")
        if secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        logger.info("%s %s %s %.0f ms", request.method, redact(path), response.status_code,
                    (time.perf_counter() - started) * 1000)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def not_here(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            return _page(405, html.message_page("Dat kan hier niet", ["Open de link uit uw bericht."], root="/"))
        return _page(exc.status_code, html.message_page("Pagina niet gevonden", [
            "Deze pagina bestaat niet. Open de link uit het bericht van Regie."], root="/"))

    @app.get("/", response_class=HTMLResponse)
    def home() -> Response:
        return _page(200, html.message_page("Partnerpagina van Regie", [
            "Hier ronden partners van de gemeente een stap af, met de link uit het bericht van Regie.",
            "Open de link uit uw bericht om te beginnen."], root=""))

    @app.get("/gezond", response_class=PlainTextResponse)
    def healthy() -> Response:
        return PlainTextResponse("ok")

    @app.get("/portal.css")
    def stylesheet() -> Response:
        return Response(html.STYLESHEET, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})

    @app.get("/l/{token}", response_class=HTMLResponse)
    async def show(token: str) -> Response:
        opened = await run_in_threadpool(links.open, token)
        if isinstance(opened, Refusal):
            return _page(*html.refusal_page(opened))
        return _with_form(links, token, opened, status=200, secure=secure)

    @app.post("/l/{token}", response_class=HTMLResponse)
    async def act(token: str, request: Request) -> Response:
        posted = await _form(request)
        if posted is None:
            return _page(413, html.message_page("Dit formulier is te groot", [html.NOTHING_CHANGED]))
        refused = _csrf_refusal(request, allowed_origins, links, token, posted)
        if refused:
            logger.warning("form post refused: %s", refused)
            return _page(403, html.message_page("Het formulier is verlopen", [
                "Dit formulier kwam niet van de pagina van deze link, of is te oud.",
                "Open de link opnieuw en vul het formulier nog eens in.", html.NOTHING_CHANGED]))
        result = await run_in_threadpool(links.submit, token, posted.get("actie", ""), posted)
        if isinstance(result, Refusal):
            return _page(*html.refusal_page(result))
        if isinstance(result, Done):
            return _page(200, html.done_page(result), background=BackgroundTask(deliver) if deliver else None)
        return _with_form(links, token, result, status=422 if result.failed else 200, secure=secure)

    return app


def _with_form(links: PartnerLinks, token: str, page: Any, *, status: int, secure: bool) -> Response:
    nonce = secrets.token_urlsafe(18)
    response = _page(status, html.link_page(page, links.form_token(token, nonce)))
    response.set_cookie(COOKIE, nonce, path=f"/l/{token}", httponly=True, samesite="strict", secure=secure)
    return response


def _page(status: int, body: str, background: BackgroundTask | None = None) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, background=background)


async def _form(request: Request) -> dict[str, str] | None:
    """The posted form's fields (first value of each), or None when the body is too large."""
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=200)
    except ValueError:  # more fields than any form of ours has
        return None
    return {name: values[0] for name, values in fields.items()}


def _csrf_refusal(request: Request, allowed: set[str], links: PartnerLinks, token: str, posted: dict[str, str]
                  ) -> str | None:
    """Why a post does not come from the link's own page (for the log; never a secret), or None."""
    if not _same_site(request, allowed):
        return f"cross-site (Origin {request.headers.get('origin')!r}, Sec-Fetch-Site " \
               f"{request.headers.get('sec-fetch-site')!r})"
    nonce = request.cookies.get(COOKIE)
    if not nonce:
        return "no form cookie"
    if not links.form_token_ok(token, nonce, posted.get("formtoken", "")):
        return "form token does not match the cookie"
    return None


def _same_site(request: Request, allowed: set[str]) -> bool:
    """A post from our own page: no cross-site fetch, and an Origin (when sent) that is ours."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return origin in allowed | {f"{request.url.scheme}://{request.headers.get('host', '')}"}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _address(request: Request) -> str:
    # uvicorn puts the client from X-Forwarded-For here when the proxy is trusted (FORWARDED_ALLOW_IPS).
    return request.client.host if request.client else "-"

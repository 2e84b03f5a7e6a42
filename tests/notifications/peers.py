"""Real local peers for delivery tests: an SMTP server (aiosmtpd) and an HTTP server taking JSON posts.

Both listen on 127.0.0.1 on a free port, record what they receive, and can be stopped and started
again on the same port (failure injection). Nothing sleeps: aiosmtpd's controller returns once the
server answers, and the HTTP server accepts as soon as its socket is bound. `on_receive` is called
with each message accepted, after it was recorded and before the sender gets its answer: a test can
kill the sender right there (a crash between the send and recording it).
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Mail:
    """One message as the SMTP server received it."""

    sender: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    headers: dict[str, str]


class _MailHandler:
    def __init__(self, peer: "SmtpPeer"):
        self.peer = peer

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.peer.reject_with:
            return self.peer.reject_with  # a server that is up but refuses the mail mid-transaction
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        part = message.get_body(preferencelist=("plain",))
        text = part.get_content() if part is not None else ""
        mail = Mail(envelope.mail_from, tuple(envelope.rcpt_tos), str(message["subject"]), text,
                    {k: str(v) for k, v in message.items()})
        with self.peer.lock:
            self.peer.mails.append(mail)
        if self.peer.on_receive is not None:
            self.peer.on_receive(mail)
        return "250 OK"


@dataclass
class SmtpPeer:
    """An SMTP server on 127.0.0.1 that keeps every mail it accepts."""

    port: int = field(default_factory=free_port)
    mails: list[Mail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    reject_with: str | None = None
    """an SMTP reply (e.g. `451 try again later`) to give instead of accepting DATA"""
    on_receive: Callable[[Mail], None] | None = None
    _controller: Controller | None = None

    def start(self) -> "SmtpPeer":
        self._controller = Controller(_MailHandler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def url(self, to: str, sender: str = "regie@testdorp.example") -> str:
        """An apprise mailto:// URL that sends through this server without TLS or login."""
        return f"mailto://127.0.0.1:{self.port}?mode=insecure&from={sender}&to={to}"

    def to(self, address: str) -> list[Mail]:
        """Mails that went to `address`."""
        with self.lock:
            return [m for m in self.mails if address in m.recipients]

    def texts(self) -> list[str]:
        with self.lock:
            return [f"{m.subject}\n{m.text}" for m in self.mails]


@dataclass(frozen=True)
class Post:
    """One JSON post as the HTTP server received it."""

    path: str
    headers: dict[str, str]
    payload: dict[str, Any]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A sender killed mid-request (the kill loop) resets its connection: expected, not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class JsonPeer:
    """An HTTP server on 127.0.0.1 that keeps every JSON post (and can be told to answer with an error)."""

    def __init__(self) -> None:
        self.posts: list[Post] = []
        self.status = 200
        self.requests = 0
        """every POST received, also those answered with an error"""
        self.on_receive: Callable[[Post], None] | None = None
        self.lock = threading.Lock()
        self.port = free_port()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "JsonPeer":
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                status = peer.status
                with peer.lock:
                    peer.requests += 1
                if status == 200:
                    post = Post(self.path, dict(self.headers.items()), json.loads(body))
                    with peer.lock:
                        peer.posts.append(post)
                    if peer.on_receive is not None:
                        peer.on_receive(post)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass  # keep test output quiet

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = _QuietServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            assert self._thread is not None
            self._thread.join(timeout=5)
            self._server = None

    def url(self, path: str, extra: str = "") -> str:
        """An apprise json:// URL posting to `path` on this server."""
        return f"json://127.0.0.1:{self.port}/{path.lstrip('/')}{extra}"

    def at(self, path: str) -> list[Post]:
        """Posts received at `path`."""
        with self.lock:
            return [p for p in self.posts if p.path.rstrip("/") == "/" + path.strip("/")]

    def texts(self) -> list[str]:
        with self.lock:
            return [f"{p.payload.get('title', '')}\n{p.payload.get('message', '')}" for p in self.posts]

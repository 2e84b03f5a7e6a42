"""Webhook messages to one partner share a kept-alive HTTP connection, and carry no cookies.

A real local HTTP server (HTTP/1.1, keep-alive) records the client port of every request it gets.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import apprise
import pytest

from integrations.apprise_send import send_with_apprise
from integrations.messages import RenderedMessage


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.requests: list[tuple[int, str | None]] = []  # (client port, Cookie header)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(handler) -> None:  # noqa: N802, N805
                handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
                self.requests.append((handler.client_address[1], handler.headers.get("Cookie")))
                handler.send_response(200)
                handler.send_header("Set-Cookie", "partner_session=abc; Path=/")
                handler.send_header("Content-Length", "0")
                handler.end_headers()

            def log_message(handler, *args: object) -> None:  # noqa: N805
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_messages_to_one_partner_share_a_connection_and_send_no_cookies(receiver: Receiver) -> None:
    url = f"json://127.0.0.1:{receiver.server_address[1]}/partner"
    message = RenderedMessage(template="taak_geopend", language="nl", subject="Nieuwe taak", body="Tekst")
    asset = apprise.AppriseAsset(app_id="Regie")

    for n in range(3):
        ok, schema, error = send_with_apprise(url, message, f"TST-2026-0001:{n}:notify/partner", asset)
        assert (ok, schema, error) == (True, "json", None)

    assert len(receiver.requests) == 3
    assert len({port for port, _ in receiver.requests}) == 1  # one TCP connection for all three
    assert [cookie for _, cookie in receiver.requests] == [None, None, None]

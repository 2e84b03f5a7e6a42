"""A partner acts from the link in a real mail, in headless Chromium on a phone-sized screen, with the
keyboard only: the language school starts the lessons, the case moves on, the klantregisseur is told,
and the inbox run of that step shows it was completed elsewhere. Then the school reports absence from
a link an operator made.

The partner page runs on a real uvicorn in this process over a runtime on SQLite, with the apprise
notifier sending to a local SMTP server and the outbox delivered to a Prefect test server.
Screenshots go to docs/img/ when REGIE_SCREENSHOTS is set (they illustrate docs/partners.md).

Needs Debian's chromium and the playwright package (test extra); skipped with that reason without them.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.notifications.conftest import smtp  # noqa: F401 - the partners' mail server, scanned at the end
from tests.notifications.peers import SmtpPeer
from tests.portal.conftest import CASE, Partners, definitions_folder
from tests.serverproc import free_port, poll
from tests.store.conftest import FakeClock

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "docs" / "img"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
SCHOOL = "planning@delta.example"
KR = "klantregie@portaaldorp.example"

playwright_api = pytest.importorskip("playwright.sync_api", reason="the browser test needs the playwright package")
pytestmark = [
    pytest.mark.prefect,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="the browser test needs Debian's chromium "
                                                           "(apt-get install chromium)"),
]


def shot(page, name: str) -> None:
    if os.environ.get("REGIE_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def world(prefect_server, tmp_path: Path, smtp: SmtpPeer) -> Iterator[tuple[Partners, object, str]]:
    """Portaaldorp with its partner page served on a free port; the school has its mail."""
    import uvicorn

    from app.bootstrap import bootstrap, use
    from app.delivery import deliver_pending
    from app.settings import get_settings
    from portal.server import build

    port = free_port()
    settings = get_settings(data_dir=tmp_path / "data", definitions_dir=definitions_folder(tmp_path / "defs"),
                            database_url="", portal_url=f"http://127.0.0.1:{port}")
    clock = FakeClock()
    rt = bootstrap(settings, clock=clock, env={"TEST_SMTP_PORT": str(smtp.port)})
    partners = Partners(service=rt.service, links=rt.links, notifier=rt.notifier, smtp=smtp, clock=clock)
    partners.replay("lesrooster_gewijzigd", stop_before="lessen_starten")
    with use(rt):
        asyncio.run(deliver_pending(rt.service, rt.notifier))
    server = uvicorn.Server(uvicorn.Config(build(rt), host="127.0.0.1", port=port, access_log=False,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    poll(lambda: server.started, bool, timeout=20)
    try:
        yield partners, rt, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
        rt.engine.dispose()


def tab_to(page, selector: str, limit: int = 30) -> None:
    """Press Tab until the element is focused, as someone without a mouse does (bounded)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement === document.querySelector({selector!r})"):
            return
    raise AssertionError(f"{selector} never got the focus with Tab")


def date_keys(browser, *, day: str, month: str, year: str) -> str:
    """The keys that type a date into a date field: its order follows the browser's own locale (Debian's
    headless chromium shows month/day/year whatever the page's language), so look first."""
    probe = browser.new_page()
    probe.set_content('<input type="date" id="d">')
    probe.focus("#d")
    probe.keyboard.type("01022026")
    day_first = probe.input_value("#d") == "2026-02-01"
    probe.close()
    return f"{day}{month}{year}" if day_first else f"{month}{day}{year}"


def press_enter_and_wait(page) -> None:
    """Submit the focused form with Enter and wait for the page that answers."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def inbox_state(case_ref: str, task_id: str) -> str | None:
    from prefect import get_client

    from integrations.inbox import find_entry

    async def read() -> str | None:
        async with get_client() as client:
            run = await find_entry(client, case_ref, task_id)
            return run.state.name if run and run.state else None

    # On a thread of its own: Playwright's sync API keeps an event loop running on this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result()


def test_a_language_school_starts_the_lessons_from_the_link_in_its_mail(world):
    partners, rt, portal = world
    [mail] = [m for m in partners.mails_to(SCHOOL) if "Lessen starten" in m.subject]
    link = re.search(r"(http://\S+/l/\S+)", mail.text).group(1)
    assert link.startswith(portal + "/l/")
    task_id = next(t.task_id for t in rt.service.show_case(CASE).open_tasks if t.step == "lessen_starten")
    assert inbox_state(CASE, task_id) == "Suspended"
    before = rt.service.show_case(CASE, history=0).version

    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True,
                                locale="nl-NL")
        with page.expect_request("**/portal.css") as stylesheet:
            page.goto(link)
        assert page.locator("h1").inner_text() == "Lessen starten"
        # The token never leaves as a referrer, not even to our own stylesheet (a proxy might log it).
        assert stylesheet.value.all_headers().get("referer") == portal + "/"
        body = page.locator("body").inner_text()
        assert CASE in body and "5 juni 2026" in body and "25 mei 2026" in body
        # On a phone: nothing wider than the screen, buttons big enough to tap.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert page.get_by_role("button", name="Stap afronden").bounding_box()["height"] >= 44
        assert page.get_by_label("Datum eerste les").get_attribute("type") == "date"
        shot(page, "partner-page")

        # Keyboard only. First without a date: a Dutch message at the field, and nothing changes.
        tab_to(page, "form button[type=submit]")
        press_enter_and_wait(page)
        assert "Vul een datum in." in page.locator("body").inner_text()
        assert rt.service.show_case(CASE, history=0).version == before
        shot(page, "partner-form-error")

        # The page puts the keyboard focus on the field to correct.
        assert page.evaluate("document.activeElement.id") == "stap-lesstart_datum"
        page.keyboard.type(date_keys(browser, day="25", month="05", year="2026"))
        assert page.locator("#stap-lesstart_datum").input_value() == "2026-05-25"
        tab_to(page, "form button[type=submit]")
        press_enter_and_wait(page)
        assert page.locator("h1").inner_text() == "Dank u, de stap is afgerond"
        shot(page, "partner-done")

        # The case moved on, as done by the school via its link; the next one is told by mail, and the
        # step's inbox run shows it was completed elsewhere.
        view = rt.service.show_case(CASE)
        assert view.version > before and view.data["lesstart_datum"] == "2026-05-25"
        assert any(h.kind == "task_completed" and h.actor == "link:taalaanbieder:taalschool_delta"
                   for h in view.history)
        told = poll(lambda: [m.subject for m in partners.mails_to(KR)],
                    lambda subjects: any("leerroute" in s.lower() for s in subjects), timeout=30)
        assert any("leerroute" in s.lower() for s in told), told
        assert poll(lambda: inbox_state(CASE, task_id), lambda s: s == "Completed elsewhere", timeout=30) == \
            "Completed elsewhere"

        # Opening the used link again: a clear page, nothing changes.
        page.goto(link)
        assert page.locator("h1").inner_text() == "Deze link is al gebruikt"

        # Absence, reported from a link an operator made for the school (regie partner-link).
        signal = rt.links.issue(CASE, "uitval_signaal", role="taalaanbieder").url
        page.goto(signal)
        tab_to(page, "#uitval_signaal-uitval_soort")
        page.keyboard.press("ArrowDown")
        assert page.locator("#uitval_signaal-uitval_soort").input_value() == "verzuim"
        shot(page, "partner-signal")
        tab_to(page, "form button[type=submit]")
        press_enter_and_wait(page)
        assert page.locator("h1").inner_text() == "Dank u, uw melding is verstuurd"
        browser.close()

    told = poll(lambda: [m.subject for m in partners.mails_to(KR)],
                lambda subjects: any("dreigende uitval" in s for s in subjects), timeout=30)
    assert any("dreigende uitval" in s for s in told), told
    assert httpx.get(portal + "/gezond", timeout=5).text == "ok"

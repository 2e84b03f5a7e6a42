"""The partner page over HTTP (FastAPI's TestClient): Dutch pages, CSRF-safe posts, rate limits, security
headers, no redirects, and a clear page for every link that does nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from portal.app import COOKIE, SECURITY_HEADERS, create_app
from portal.limits import Limits, RateLimiter
from tests.portal.conftest import CASE, PORTAL, Partners, token_of

SCHOOL = "planning@delta.example"


class Ticks:
    """A monotonic clock for the rate limiter, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def delivered() -> list[str]:
    return []


@pytest.fixture
def client(school: Partners, ticks: Ticks, delivered: list[str]) -> Iterator[TestClient]:
    async def deliver() -> None:
        delivered.append("outbox")

    app = create_app(school.links, public_url=PORTAL, deliver=deliver,
                     limiter=RateLimiter(Limits(per_link=8, per_address=20, window_seconds=600), clock=ticks))
    with TestClient(app, base_url=PORTAL, follow_redirects=False) as c:
        yield c


@pytest.fixture
def path(school: Partners) -> str:
    return "/l/" + token_of(school.link_in_last_mail_to(SCHOOL))


def form_token(html: str) -> str:
    return re.search(r'name="formtoken" value="([^"]+)"', html).group(1)


def post(client: TestClient, path: str, fields: dict[str, str], **headers: str):
    page = client.get(path)
    return client.post(path, data={"formtoken": form_token(page.text), **fields}, headers=headers)


def version(school: Partners) -> int:
    return school.service.show_case(CASE, history=0).version


def test_a_link_opens_a_dutch_page_with_the_step_its_deadline_and_a_labelled_form(client, path):
    page = client.get(path)

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert '<html lang="nl">' in text and 'name="viewport"' in text
    assert "<h1>Lessen starten</h1>" in text and CASE in text and "5 juni 2026" in text
    assert '<label for="stap-lesstart_datum">Datum eerste les</label>' in text
    assert 'type="date" id="stap-lesstart_datum" name="lesstart_datum"' in text
    assert "Melding: uitval signaal" in text and '<option value="gemiste_afspraak">Gemiste afspraak</option>' in text
    assert "<script" not in text.lower()
    assert "Amina" not in text and "999990019" not in text


def test_submitting_completes_the_step_and_says_so_then_the_outbox_is_delivered(client, path, school, delivered):
    before = version(school)

    done = post(client, path, {"actie": "stap", "lesstart_datum": "2026-05-25"})

    assert done.status_code == 200 and "Dank u, de stap is afgerond" in done.text
    assert "U hebt ‘Lessen starten’ afgerond voor zaak PD-2026-0316." in done.text
    assert version(school) == before + 1 and delivered == ["outbox"]


def test_a_replayed_post_and_a_reopened_link_get_a_dutch_page_and_change_nothing(client, path, school):
    first = client.get(path)
    token = form_token(first.text)
    client.post(path, data={"formtoken": token, "actie": "stap", "lesstart_datum": "2026-05-25"})
    after = version(school)

    replay = client.post(path, data={"formtoken": token, "actie": "stap", "lesstart_datum": "2026-06-01"})
    reopened = client.get(path)

    for response in (replay, reopened):
        assert response.status_code == 410
        assert "Deze link is al gebruikt" in response.text and "Er is niets veranderd." in response.text
    assert version(school) == after


@pytest.mark.parametrize("mangle, status, title", [
    (lambda t: t[:-2] + ("zz" if not t.endswith("zz") else "yy"), 404, "Deze link werkt niet"),
    (lambda t: "1" + "A" * 70, 404, "Deze link werkt niet"),
    (lambda t: "iets-anders", 404, "Deze link werkt niet"),
])
def test_a_tampered_link_gets_a_dutch_page(client, path, mangle, status, title, school):
    before = version(school)
    bad = "/l/" + mangle(path.removeprefix("/l/"))

    shown = client.get(bad)
    posted = client.post(bad, data={"actie": "stap", "lesstart_datum": "2026-05-25", "formtoken": "x"})

    assert shown.status_code == status and title in shown.text and "Er is niets veranderd." in shown.text
    assert posted.status_code in (403, 404)
    assert version(school) == before


def test_a_replaced_and_an_expired_link_each_get_their_own_page(client, path, school):
    school.links.issue(CASE, "lessen_starten")
    replaced = client.get(path)
    fresh = "/l/" + token_of(school.links.issue(CASE, "lessen_starten").url)
    school.clock.advance(days=30)
    expired = client.get(fresh)

    assert replaced.status_code == 410 and "Deze link is vervangen" in replaced.text
    assert expired.status_code == 410 and "Deze link is verlopen" in expired.text
    assert "werkte tot en met 25 mei 2026" in expired.text


def test_a_post_without_the_pages_form_token_or_cookie_is_refused(client, path, school):
    before = version(school)
    page = client.get(path)
    token = form_token(page.text)

    no_token = client.post(path, data={"actie": "stap", "lesstart_datum": "2026-05-25"})
    other = token[:-1] + ("A" if token[-1] != "A" else "B")
    wrong_token = client.post(path, data={"formtoken": other, "actie": "stap", "lesstart_datum": "2026-05-25"})
    client.cookies.clear()
    no_cookie = client.post(path, data={"formtoken": token, "actie": "stap", "lesstart_datum": "2026-05-25"})

    for response in (no_token, wrong_token, no_cookie):
        assert response.status_code == 403 and "Het formulier is verlopen" in response.text
    assert version(school) == before


def test_the_form_cookie_is_httponly_samesite_strict_and_only_for_this_link(client, path):
    cookie = client.get(path).headers["set-cookie"]

    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert f"Path={path}" in cookie


@pytest.mark.parametrize("headers", [
    {"Origin": "https://aanvaller.example"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
])
def test_a_cross_site_post_is_refused_even_with_a_valid_form_token(client, path, school, headers):
    before = version(school)

    response = post(client, path, {"actie": "stap", "lesstart_datum": "2026-05-25"}, **headers)

    assert response.status_code == 403 and version(school) == before


def test_a_post_from_the_page_itself_passes_the_origin_check(client, path, school):
    response = post(client, path, {"actie": "stap", "lesstart_datum": "2026-05-25"}, Origin=PORTAL,
                    **{"Sec-Fetch-Site": "same-origin"})

    assert response.status_code == 200


def test_a_form_that_does_not_fit_is_shown_again_with_dutch_errors(client, path, school):
    before = version(school)

    response = post(client, path, {"actie": "stap", "lesstart_datum": "morgen"})

    assert response.status_code == 422
    assert 'role="alert"' in response.text and "Vul een bestaande datum in" in response.text
    assert 'aria-invalid="true"' in response.text and 'value="morgen"' in response.text
    assert version(school) == before


def test_too_large_a_post_is_refused(client, path, school):
    before = version(school)

    response = post(client, path, {"actie": "stap", "lesstart_datum": "2026-05-25", "x": "a" * 20_000})

    assert response.status_code == 413 and version(school) == before


def test_every_response_carries_the_security_headers(client, path):
    responses = [client.get(path), client.get("/"), client.get("/portal.css"), client.get("/bestaat-niet"),
                 client.get("/l/" + "1" + "A" * 70), client.post(path, data={})]

    for response in responses:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (response.request.url, name)
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert client.get(path).headers["cache-control"] == "no-store"


def test_behind_https_the_page_asks_for_https_from_then_on(school):
    app = create_app(school.links, public_url="https://partners.portaaldorp.example")
    with TestClient(app, base_url="https://partners.portaaldorp.example") as c:
        response = c.get("/")
    assert response.headers["strict-transport-security"] == "max-age=31536000"


@pytest.mark.parametrize("address", ["//aanvaller.example/", "/l/x/", "/l//aanvaller.example", "/\\aanvaller.example",
                                     "/l/x?next=https://aanvaller.example", "/%2F%2Faanvaller.example/", "/docs",
                                     "/openapi.json", "/portal.css/"])
def test_nothing_redirects_anywhere(client, address):
    response = client.get(address)

    assert response.status_code < 300 or response.status_code >= 400
    assert "location" not in response.headers


def test_the_done_page_links_only_to_our_own_partner_page(client, path):
    done = post(client, path, {"actie": "uitval_signaal", "uitval_soort": "verzuim"})

    hrefs = re.findall(r'href="([^"]+)"', done.text)
    assert [h for h in hrefs if not h.startswith(("../", PORTAL + "/l/"))] == []
    assert "Naar de stap ‘Lessen starten’" in done.text


def test_too_many_requests_for_one_link_get_a_dutch_page_until_the_window_passes(client, path, ticks):
    answers = [client.get(path).status_code for _ in range(9)]

    assert answers == [200] * 8 + [429]
    limited = client.get(path)
    assert "Te veel pogingen" in limited.text and int(limited.headers["retry-after"]) > 0
    ticks.now += 601
    assert client.get(path).status_code == 200


def test_too_many_requests_from_one_address_are_limited_whatever_the_link(client, ticks):
    answers = [client.get("/l/1" + f"{n:070d}").status_code for n in range(21)]

    assert answers[:20] == [404] * 20 and answers[20] == 429
    ticks.now += 601
    assert client.get("/l/1" + "0" * 70).status_code == 404

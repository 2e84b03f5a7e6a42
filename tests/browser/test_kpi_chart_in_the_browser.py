"""A KPI trend chart really renders in the Prefect UI: the markdown artifact's SVG image loads in Chromium.

The UI shows markdown images but no inline HTML; this checks the data: URI image is drawn (it has a
size), not shown as text or as a broken image. The KPI figures are made up (two years of months), so
the chart has something to show without a populated case store. With REGIE_SCREENSHOTS set, the page
goes to docs/img/kpi-trend.png (docs/coordinators.md).
"""

from __future__ import annotations

import base64
from datetime import date
from pathlib import Path

import pytest

from app.overview.kpis import Kpi
from app.overview.render import render_kpis
from tests.browser.test_inbox_in_the_browser import ARGS, CHROMIUM, log_in, secret, shot
from tests.serverproc import regie_up_running

playwright_api = pytest.importorskip("playwright.sync_api", reason="the browser test needs the playwright package")
pytestmark = [
    pytest.mark.prefect,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="the browser test needs Debian's chromium "
                                                           "(apt-get install chromium)"),
]

MONTHS = [f"{2024 + (m - 1) // 12}-{(m - 1) % 12 + 1:02d}" for m in range(1, 25)]
TREND = [(month, 14.0 - i * 0.25 + (3.0 if i % 5 == 0 else 0.0), 3 + i % 4) for i, month in enumerate(MONTHS)]


@pytest.fixture(scope="module")
def regie_up(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("regie")
    with regie_up_running(data_dir, "--no-sweep") as ui:
        yield ui, data_dir


def publish(ui: str, data_dir: Path, markdown: str) -> str:
    """A markdown artifact made through the Prefect API, as the overview publishes them; its id."""
    import httpx

    auth = {"Authorization": "Basic " + base64.b64encode(secret(data_dir).encode()).decode()}
    made = httpx.post(f"{ui}/api/artifacts/", json={"key": "kpis-grafiek-proef", "type": "markdown",
                                                    "data": markdown}, headers=auth, timeout=30)
    return made.raise_for_status().json()["id"]


def test_a_kpi_trend_chart_is_drawn_in_the_prefect_ui(regie_up):
    ui, data_dir = regie_up
    kpi = Kpi("huisvesting", "Weken van koppeling tot woning", 10.5, "weken (mediaan)",
              "woning binnen 12 weken na koppeling", "wi2021.md#2", 84, met_norm=71.0, target=100.0, trend=TREND,
              trend_norm=12.0)
    artifact = publish(ui, data_dir, render_kpis([kpi], "tilburg", date(2026, 1, 15)))

    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        log_in(page, ui, data_dir)
        page.goto(f"{ui}/artifacts/artifact/{artifact}", wait_until="networkidle")
        image = page.locator("img[src^='data:image/svg+xml']").first
        image.wait_for(timeout=30_000)
        image.scroll_into_view_if_needed()
        drawn = image.evaluate("i => i.complete && i.naturalWidth > 0 ? [i.naturalWidth, i.naturalHeight] : null")
        assert drawn == [640, 180]
        assert "Weken van koppeling tot woning, per maand van start" in page.locator("body").inner_text()
        shot(page, "kpi-trend")
        browser.close()

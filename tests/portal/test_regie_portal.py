"""`regie partner-link` and `regie portal` as an operator runs them: a real uvicorn serving the page, whose
output never shows a token (uvicorn's access log is off; ours writes `/l/…`)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from app.bootstrap import bootstrap
from app.clock import utc_now
from app.settings import get_settings
from engine.calendar import local_date
from tests.serverproc import Output, free_port, poll

ROOT = Path(__file__).resolve().parents[2]
CASE = "PD-2026-0500"


@pytest.fixture
def environment(tmp_path: Path, definitions_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REGIE_"))}
    env.update(REGIE_DATA_DIR=str(tmp_path / "data"), REGIE_DEFINITIONS_DIR=str(definitions_dir),
               REGIE_NOTIFIER="log", REGIE_PORTAL_PORT=str(free_port()),
               # No Prefect server listens here: delivery after a change waits for the sweep, as it says.
               REGIE_PORT=str(free_port()), TEST_SMTP_PORT="1")
    return env


@pytest.fixture
def case(environment: dict[str, str]) -> str:
    """A placed worker whose first check-in is due: the job coach has a step to do."""
    settings = get_settings(data_dir=Path(environment["REGIE_DATA_DIR"]),
                            definitions_dir=Path(environment["REGIE_DEFINITIONS_DIR"]), notifier="log")
    rt = bootstrap(settings)
    placed = local_date(utc_now()) - timedelta(days=14)
    rt.service.start_trajectory(case_ref=CASE, definition="nazorg", municipality="portaaldorp", actor="kr-017",
                                data={"plaatsingsdatum": placed.isoformat()})
    rt.service.fire_due_timers()
    rt.engine.dispose()
    return CASE


def regie(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_an_operator_prints_a_fresh_link_and_gets_a_clear_refusal_for_a_step_that_is_not_open(environment, case):
    made = regie(environment, "partner-link", case, "checkin")
    refused = regie(environment, "partner-link", case, "extra_coaching")

    assert made.returncode == 0, made.stderr
    url = made.stdout.strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/l/1[A-Za-z0-9_-]{70}", url)
    assert "voor werkfit (jobcoach), checkin van zaak PD-2026-0500: werkt één keer" in made.stderr
    assert refused.returncode == 1 and "heeft geen open stap 'extra_coaching'" in refused.stderr


def test_regie_portal_serves_the_page_and_no_log_line_shows_the_token(environment, case):
    url = regie(environment, "partner-link", case, "checkin").stdout.strip()
    token = url.rsplit("/", 1)[1]
    port = environment["REGIE_PORTAL_PORT"]
    process = subprocess.Popen([sys.executable, "-m", "cli.main", "portal"], cwd=ROOT, env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output = Output(process)
    try:
        output.wait_for("Uvicorn running on", timeout=60)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=False) as browser:
            page = browser.get(f"/l/{token}")
            formtoken = re.search(r'name="formtoken" value="([^"]+)"', page.text).group(1)
            done = browser.post(f"/l/{token}", data={"formtoken": formtoken, "actie": "stap"})
            again = browser.get(f"/l/{token}")
            tampered = browser.get(f"/l/{token[:-1]}{'A' if token[-1] != 'A' else 'B'}")
        logged = poll(lambda: "".join(output.lines), lambda text: text.count("/l/…") >= 4, timeout=20)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)

    assert page.status_code == 200 and "Contactmoment nazorg" in page.text
    assert done.status_code == 200 and "Dank u, de stap is afgerond" in done.text
    assert again.status_code == 410 and tampered.status_code == 404
    text = "".join(output.lines)
    assert token not in text and token[:20] not in text and token[-20:] not in text
    assert "GET /l/… 200" in logged and "POST /l/… 200" in logged and "GET /l/… 410" in logged
    assert "not all of it delivered yet" in text  # no Prefect here: the sweep delivers it later
    view = bootstrap(get_settings(data_dir=Path(environment["REGIE_DATA_DIR"]),
                                  definitions_dir=Path(environment["REGIE_DEFINITIONS_DIR"]), notifier="log"),
                     migrate=False).service.show_case(case)
    assert any(h.kind == "task_completed" and h.actor == "link:jobcoach:werkfit" for h in view.history)


def test_the_service_layer_loads_without_prefect_so_commands_can_point_prefect_at_their_server_first():
    # Prefect reads PREFECT_API_URL once, when it is imported: `regie portal` and `regie case` set it
    # after loading the service layer, so loading it must not import Prefect.
    loaded = subprocess.run([sys.executable, "-c", "import sys, app.bootstrap, portal.app; "
                             "print('prefect' in sys.modules)"], cwd=ROOT, capture_output=True, text=True, timeout=60)

    assert loaded.stdout.strip() == "False", loaded.stderr

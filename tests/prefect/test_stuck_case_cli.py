"""From the command line: `regie case show` says why a case is stuck, `regie storingen` lists it, and
`regie case retry` takes it back after the fix (or says in one line why it cannot yet)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from app.bootstrap import bootstrap
from app.settings import get_settings
from cli import storingen_cmd
from cli.main import main
from tests.reliability.conftest import AFTER_NUDGE, seed_cases
from tests.store.conftest import FakeClock

REF = "RMD-2026-0001"


def regie(*argv: str) -> int:
    """Run a `regie` command in this process, as the command line does (refusals included)."""
    return main(list(argv))


@pytest.fixture
def regie_env(tmp_path, definitions_dir, monkeypatch) -> Iterator[None]:
    """REGIE_* settings for the commands; the Prefect variables they set are removed again afterwards."""
    before = dict(os.environ)
    monkeypatch.setenv("REGIE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REGIE_DEFINITIONS_DIR", str(definitions_dir))
    monkeypatch.setenv("REGIE_NOTIFIER", "log")
    monkeypatch.delenv("REGIE_DATABASE_URL", raising=False)
    yield
    for key in set(os.environ) - set(before):
        del os.environ[key]


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server", "regie_env")
def test_show_and_storingen_say_why_a_case_is_stuck_and_retry_takes_it_back_after_the_fix(capsys):
    rt = bootstrap(get_settings(), clock=FakeClock(AFTER_NUDGE))
    seed_cases(rt.engine, rt.library, [REF], profile=None)
    with rt.engine.begin() as conn:  # its definition was taken out of the library
        conn.execute(sa.text("UPDATE cases SET definition = 'opgeheven@1' WHERE case_ref = :ref"), {"ref": REF})
    assert [f.case_ref for f in rt.service.fire_due_timers().failed] == [REF]

    assert regie("case", "show", REF) == 0
    shown = capsys.readouterr().out
    assert regie("storingen") == storingen_cmd.STUCK_EXIT
    listed = capsys.readouterr().out
    assert regie("case", "list", "--status", "stuck") == 0
    stuck_list = capsys.readouterr().out
    assert regie("case", "retry", REF) == 2  # not fixed yet: refused, nothing changed
    _, refused = capsys.readouterr()
    with rt.engine.begin() as conn:  # the fix
        conn.execute(sa.text("UPDATE cases SET definition = 'rondleiding@1' WHERE case_ref = :ref"), {"ref": REF})
    assert regie("case", "retry", REF) == 0
    retried, said = capsys.readouterr()
    assert regie("storingen") == 0
    after = capsys.readouterr().out

    reason = "de procesdefinitie of het gemeenteprofiel van de zaak ontbreekt of werkt niet (UnknownDefinition)"
    assert shown.startswith(f"{REF}  testdorp  opgeheven@1  versie 1  vastgelopen  fase warme_overdracht  "
                            "(tijden: Amsterdam)\n")
    assert f"  VASTGELOPEN sinds 09-03-2026 09:00: {reason}\n" in shown
    assert f"probeer opnieuw: regie case retry {REF}" in shown
    assert "Vastgelopen zaken: 1" in listed and f"sinds 09-03-2026 09:00 (Amsterdam)  {reason}" in listed
    assert f"na herstel: regie case retry {REF}" in listed
    assert stuck_list.startswith(REF) and " vastgelopen " in stuck_list
    assert refused.count("\n") == 1 and "Traceback" not in refused
    assert refused.startswith(f"regie case retry: zaak {REF} is vastgelopen: {reason}: onbekende definitie "
                              "'opgeheven@1'")
    assert "versie 2  loopt" in retried and "VASTGELOPEN" not in retried
    assert f"zaak {REF} loopt weer" in said
    assert after.startswith("Vastgelopen zaken: 0\nKanalen buiten gebruik: 0\n")
    rt.engine.dispose()

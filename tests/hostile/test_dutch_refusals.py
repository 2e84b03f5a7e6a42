"""What an operator reads when `regie case ...` refuses: one line, in Dutch, naming what is wrong and where
(issue 14). The commands run in this process on a SQLite store with the small `melding` definition of
`tests/hostile/definitions/`, one case started, as in `test_fuzz_cli.py`; each refusal changes nothing."""

from __future__ import annotations

import re

import pytest

from tests.hostile.inputs import Regie
from tests.hostile.test_fuzz_cli import CASE, _regie, prefect_url  # noqa: F401 (prefect_url: a fixture)


@pytest.fixture
def regie(tmp_path, monkeypatch, prefect_url, capsys):  # noqa: F811 (the imported fixture is used here)
    yield from _regie("sqlite", tmp_path, monkeypatch, prefect_url, capsys)


def refused(regie: Regie, *argv: str) -> str:
    """The command's one refusal line (exit code 2, nothing changed), without the line end."""
    before = regie.snapshot()
    result = regie(*argv)
    assert result.code == 2, (argv, result)
    assert result.err.endswith("\n") and len(result.err.splitlines()) == 1, result.err
    assert regie.snapshot() == before, (argv, "changed the store while refusing")
    return result.err.removesuffix("\n")


def test_an_unknown_case_is_refused_in_dutch(regie):
    assert refused(regie, "case", "show", "RMD-2026-9999") == "regie case show: er is geen zaak RMD-2026-9999"


def test_a_change_based_on_an_old_version_is_refused_in_dutch(regie):
    assert refused(regie, "case", "complete", CASE, "intake", "--data", "gesprek_vorm=azc",
                   "--expected-version", "3") == (
        f"regie case complete: zaak {CASE} is intussen door iemand anders gewijzigd: de zaak is nu bij versie 1, en "
        "deze wijziging ging uit van versie 3. Er is niets opgeslagen; laad de zaak opnieuw en probeer het nog eens.")


def test_a_step_that_is_not_open_is_refused_in_dutch_with_the_open_tasks(regie):
    line = refused(regie, "case", "complete", CASE, "wonen")
    assert re.fullmatch(rf"regie case complete: zaak {CASE}: stap 'wonen' staat niet open \(open taken: intake-\S+\)",
                        line), line


def test_a_form_value_outside_the_choices_is_refused_in_dutch_with_the_choices(regie):
    assert refused(regie, "case", "complete", CASE, "intake", "--data", "gesprek_vorm=thuis") == (
        f"regie case complete: zaak {CASE}, stap 'intake': veld 'gesprek_vorm': 'thuis' is geen keuze; kies uit: "
        "azc, online")


def test_a_form_date_that_is_not_a_date_is_refused_in_dutch(regie):
    assert refused(regie, "case", "complete", CASE, "intake", "--data", "gesprek_vorm=azc",
                   "--data", "gesprek_datum=morgen") == (
        f"regie case complete: zaak {CASE}, stap 'intake': veld 'gesprek_datum': verwacht een datum (JJJJ-MM-DD), "
        "niet 'morgen'")
    assert refused(regie, "case", "complete", CASE, "intake", "--data", "gesprek_vorm=azc",
                   "--data", "gesprek_datum=2026-02-30") == (
        f"regie case complete: zaak {CASE}, stap 'intake': veld 'gesprek_datum': verwacht een datum (JJJJ-MM-DD), "
        "niet '2026-02-30'")

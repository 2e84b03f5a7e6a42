"""The import-koppelingen deployment reads a file in the import folder and starts each trajectory once."""

from __future__ import annotations

import pytest

from flows.import_koppelingen import import_koppelingen
from tasks.partners import KoppelingenRefused
from tests.integrations.test_coa_import import BAD, GOOD

pytestmark = pytest.mark.prefect


@pytest.fixture
def definitions_dir():
    """The real definitions and profiles: the list names municipalities with a profile."""
    from engine.loader import DEFAULT_DIR

    return DEFAULT_DIR


def test_the_import_flow_starts_new_cases_once_and_refuses_a_file_with_bad_rows(prefect_server, rt, monkeypatch):
    monkeypatch.setattr(rt.settings, "pseudonym_key", type(rt.settings.pseudonym_key)("test-key"))
    folder = rt.settings.import_dir
    folder.mkdir(parents=True)
    (folder / "koppelingen.csv").write_text(GOOD)
    first = import_koppelingen("koppelingen.csv")
    assert len(first["started"]) == 2 and first["already"] == 0
    assert import_koppelingen("koppelingen.csv")["already"] == 2
    (folder / "fout.csv").write_text(BAD)
    with pytest.raises(KoppelingenRefused, match="niets geïmporteerd vanwege foute regels"):
        import_koppelingen("fout.csv")

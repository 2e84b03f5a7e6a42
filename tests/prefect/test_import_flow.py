"""The import-koppelingen deployment reads a path on the worker and starts each trajectory once."""

from __future__ import annotations

import pytest

from flows.import_koppelingen import import_koppelingen
from tests.integrations.test_coa_import import BAD, GOOD

pytestmark = pytest.mark.prefect


@pytest.fixture
def definitions_dir():
    """The real definitions and profiles: the list names municipalities with a profile."""
    from engine.loader import DEFAULT_DIR

    return DEFAULT_DIR


def test_the_import_flow_starts_new_cases_once_and_refuses_a_file_with_bad_rows(prefect_server, rt, tmp_path,
                                                                               monkeypatch):
    monkeypatch.setattr(rt.settings, "pseudonym_key", type(rt.settings.pseudonym_key)("test-key"))
    good = tmp_path / "koppelingen.csv"
    good.write_text(GOOD)
    first = import_koppelingen(str(good))
    assert len(first["started"]) == 2 and first["already"] == 0
    assert import_koppelingen(str(good))["already"] == 2
    bad = tmp_path / "fout.csv"
    bad.write_text(BAD)
    with pytest.raises(ValueError, match="nothing imported because of bad rows"):
        import_koppelingen(str(bad))

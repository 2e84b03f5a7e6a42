"""Settings come from REGIE_* variables and a .env file, built when asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.bootstrap import bootstrap
from app.settings import get_settings
from engine.errors import DefinitionError
from engine.loader import DEFAULT_DIR
from store.db import make_engine


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("DATA_DIR", "DATABASE_URL", "PORT", "DEFINITIONS_DIR", "DEFAULT_PROFILE", "SWEEP_BATCH_SIZE"):
        monkeypatch.delenv(f"REGIE_{name}", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_keep_everything_in_a_data_folder_under_the_current_directory(tmp_path: Path):
    settings = get_settings()

    assert settings.data_dir == tmp_path.resolve() / ".regie"
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / '.regie' / 'regie.db'}"
    assert settings.prefect_home == tmp_path.resolve() / ".regie" / "prefect"
    assert settings.port == 4200
    assert settings.definitions_dir == DEFAULT_DIR
    assert settings.default_profile is None
    assert settings.sweep_batch_size == 100


def test_a_second_instance_needs_only_its_own_data_dir_and_port(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("REGIE_DATA_DIR", "tweede")
    monkeypatch.setenv("REGIE_PORT", "4300")

    settings = get_settings()

    assert settings.data_dir == tmp_path.resolve() / "tweede"
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'tweede' / 'regie.db'}"
    assert settings.port == 4300


def test_a_dotenv_file_is_read_and_the_environment_wins_over_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    (tmp_path / ".env").write_text(
        "REGIE_DATABASE_URL=postgresql+psycopg://regie@db/regie\nREGIE_SWEEP_BATCH_SIZE=250\nREGIE_PORT=4400\n",
        encoding="utf-8")
    monkeypatch.setenv("REGIE_PORT", "4500")

    settings = get_settings()

    assert settings.database_url == "postgresql+psycopg://regie@db/regie"
    assert settings.sweep_batch_size == 250
    assert settings.port == 4500


def test_a_port_out_of_range_is_refused(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("REGIE_PORT", "70000")

    with pytest.raises(ValueError, match="^instelling niet bruikbaar: REGIE_PORT: mag hoogstens 65535 zijn$"):
        get_settings()


def test_making_an_engine_connects_to_nothing():
    # Nothing listens on port 1: building the engine must still succeed, since it does not connect.
    engine = make_engine("postgresql://nobody@127.0.0.1:1/nothing")

    assert engine.dialect.driver == "psycopg"


def test_the_service_for_the_settings_has_a_migrated_store_and_the_definitions(tmp_path: Path):
    from tests.store.conftest import DEFINITIONS, FakeClock

    definitions = tmp_path / "definities"
    definitions.mkdir()
    for source in [DEFINITIONS[0], *sorted(DEFINITIONS[1].glob("*.yaml"))]:
        (definitions / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    settings = get_settings(data_dir=tmp_path / "data", definitions_dir=definitions, sweep_batch_size=7,
                            municipalities="schiedam")

    service = bootstrap(settings, clock=FakeClock()).service
    case = service.start_trajectory(case_ref="SCH-2026-0001", definition="korte_wacht", municipality="schiedam",
                                    actor="op")

    assert (tmp_path / "data" / "regie.db").exists()
    assert (case.version, case.status) == (1, "active")
    assert service.sweep_batch_size == 7
    service.engine.dispose()


def test_definition_problems_stop_the_service_from_starting(tmp_path: Path):
    (tmp_path / "kapot.yaml").write_text("kind: process\nid: kapot\n", encoding="utf-8")

    with pytest.raises(DefinitionError, match="kapot"):
        bootstrap(get_settings(definitions_dir=tmp_path))
    assert not (tmp_path / ".regie" / "regie.db").exists()

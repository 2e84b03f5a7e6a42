"""The retention period of personal data is a parameter with its source: the definition's value (marked
uncertain), a municipality profile's own value, or Regie's default for definitions that name none."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from app.cases import CaseService
from app.privacy.person import DEFAULT_RETENTION, RETENTION_PARAMETER, Retention, retention_of
from engine.loader import DEFAULT_DIR
from engine.validator import validate_paths


def service_on(folder: Path) -> CaseService:
    library, problems = validate_paths([folder])
    assert problems == []
    return CaseService(None, library)  # type: ignore[arg-type]  # only definitions are read


def test_the_definitions_name_their_period_and_say_it_is_uncertain():
    service = service_on(DEFAULT_DIR)

    for definition in ("asielstatushouder", "gezinsmigrant"):
        retention = retention_of(service, service.library.resolve(definition).ref, "tilburg")
        assert retention.period == "P7Y" and retention.uncertain
        assert "Selectielijst gemeenten en intergemeentelijke organen 2020" in retention.source
    assert retention_of(service, "nazorg_contactmoment@1", None) == DEFAULT_RETENTION  # names none itself
    assert Retention("P7Y", "x").ends_on(date(2026, 3, 2)) == date(2033, 3, 2)


def test_a_municipality_profile_sets_its_own_period(tmp_path: Path):
    folder = tmp_path / "definitions"
    shutil.copytree(DEFAULT_DIR, folder)
    profile = folder / "profiles" / "tilburg.yaml"
    text = profile.read_text(encoding="utf-8")
    profile.write_text(text.replace("parameters:\n", f"parameters:\n  {RETENTION_PARAMETER}: P2Y\n", 1),
                       encoding="utf-8")
    service = service_on(folder)
    ref = service.library.resolve("asielstatushouder").ref

    assert retention_of(service, ref, "tilburg") == Retention("P2Y", "profiel tilburg (lokaal besluit)")
    assert retention_of(service, ref, "nederweert").period == "P7Y"

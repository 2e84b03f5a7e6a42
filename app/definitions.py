"""Working with definitions without a server: validate (definitions and partner directories), the JSON
Schema of the language, simulation of a scenario in virtual time, and the generated process docs.

The CLI's `validate`, `schema`, `simulate` and `docs` commands call these.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.diagram import processes_doc
from engine.loader import DEFAULT_DIR, Library, yaml_files
from engine.schema import language_schema
from engine.simulation import Scenario, SimulationResult, load_scenario, simulate
from engine.validator import validate_paths
from integrations.directory import check_directory

__all__ = ["DEFAULT_DIR", "check_definitions", "load_scenario", "process_docs", "schema", "simulate_scenario"]


def check_definitions(paths: Sequence[Path], env: Mapping[str, str] | None = None,
                      catalog_dir: Path = DEFAULT_DIR) -> tuple[Library, list[str]]:
    """Load and check definition files or folders, and every profile's partner URLs (secrets stand in as
    dummies when not set); returns the library and every problem as `file:line: element: what`.

    Files without a catalogue among them are checked against the one in `catalog_dir` (the configured
    definitions folder, `REGIE_DEFINITIONS_DIR`)."""
    library, problems = validate_paths(_with_catalog(list(paths), catalog_dir))
    lines = [str(p) for p in problems]
    env = os.environ if env is None else env
    for profile in library.profiles.values():
        file = library.files[f"profile:{profile.id}"]
        _directory, found = check_directory(profile, library.catalog, env)
        lines.extend(f"{file}: {p.role}: {p.partner}: {p.message}" for p in found)
    return library, lines


_CATALOG_KIND = re.compile(r"^kind:\s*[\"']?catalog[\"']?\s*(#.*)?$", re.MULTILINE)


def _with_catalog(paths: list[Path], catalog_dir: Path = DEFAULT_DIR) -> list[Path]:
    # A single definition file is checked against the configured catalogue, unless the files given hold
    # one of their own (a copy of the definitions folder, say): one catalogue, never two.
    if any(_is_catalog(file) for file in yaml_files(paths)):
        return paths
    catalog = catalog_dir / "catalog.yaml"
    return [catalog, *paths] if catalog.is_file() else paths


def _is_catalog(file: Path) -> bool:
    try:
        return _CATALOG_KIND.search(file.read_text(encoding="utf-8", errors="replace")) is not None
    except OSError:
        return False  # the loader reports a file it cannot read


def simulate_scenario(scenario: Scenario, definitions: Sequence[Path], catalog_dir: Path = DEFAULT_DIR
                      ) -> tuple[SimulationResult | None, list[str]]:
    """Run a scenario against the given definitions; (result, []) or (None, problems with the definitions)."""
    library, problems = validate_paths(_with_catalog(list(definitions), catalog_dir))
    if problems:
        return None, [str(p) for p in problems]
    return simulate(library, scenario), []


def process_docs(definitions: Path | None = None) -> tuple[str | None, list[str]]:
    """The text of docs/processes.md for the definitions, or (None, problems) when they are not valid."""
    library, problems = validate_paths([definitions or DEFAULT_DIR])
    if problems:
        return None, [str(p) for p in problems]
    return processes_doc(library), []


def schema() -> dict[str, Any]:
    """The JSON Schema of the definition language (for editors)."""
    return language_schema()

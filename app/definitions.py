"""Working with definitions without a server: validate (definitions and partner directories), the JSON
Schema of the language, simulation of a scenario in virtual time, and the generated process docs.

The CLI's `validate`, `schema`, `simulate` and `docs` commands call these.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.diagram import processes_doc
from engine.loader import DEFAULT_DIR, Library
from engine.schema import language_schema
from engine.simulation import Scenario, SimulationResult, load_scenario, simulate
from engine.validator import validate_paths
from integrations.directory import check_directory

__all__ = ["DEFAULT_DIR", "check_definitions", "load_scenario", "process_docs", "schema", "simulate_scenario"]


def check_definitions(paths: Sequence[Path], env: Mapping[str, str] | None = None) -> tuple[Library, list[str]]:
    """Load and check definition files or folders, and every profile's partner URLs (secrets stand in as
    dummies when not set); returns the library and every problem as `file:line: element: what`."""
    library, problems = validate_paths(_with_catalog(list(paths)))
    lines = [str(p) for p in problems]
    env = os.environ if env is None else env
    for profile in library.profiles.values():
        file = library.files[f"profile:{profile.id}"]
        _directory, found = check_directory(profile, library.catalog, env)
        lines.extend(f"{file}: {p.role}: {p.partner}: {p.message}" for p in found)
    return library, lines


def _with_catalog(paths: list[Path]) -> list[Path]:
    # A single definition file is checked against the project's catalogue, unless one is given.
    catalog = DEFAULT_DIR / "catalog.yaml"
    covered = any(p.resolve() == catalog or (p.is_dir() and catalog.is_relative_to(p.resolve())) for p in paths)
    return paths if covered else [catalog, *paths]


def simulate_scenario(scenario: Scenario, definitions: Sequence[Path]) -> tuple[SimulationResult | None, list[str]]:
    """Run a scenario against the given definitions; (result, []) or (None, problems with the definitions)."""
    library, problems = validate_paths(_with_catalog(list(definitions)))
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

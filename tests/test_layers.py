"""The house has floors: each package imports only the packages below it, and no file imports itself round.

Every `import` and `from ... import` statement of every file counts, wherever it stands (module level,
inside a function, under TYPE_CHECKING): a lazy import is still a dependency. See docs/architecture.md.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ALLOWED: dict[str, set[str]] = {
    "engine": set(),
    "store": {"engine"},
    "integrations": {"engine"},
    "app": {"engine", "store", "integrations"},
    "tasks": {"app", "engine", "integrations"},
    "flows": {"tasks", "app"},
    "portal": {"app"},
    "cli": {"app", "flows", "portal"},
}
"""Which of our packages each package may import (besides itself). benchmarks/ and tests/ may import anything."""

NO_SQL = ("tasks", "flows", "cli", "app", "integrations", "portal")
SQL_LIBRARIES = ("sqlalchemy", "sqlmodel", "psycopg", "alembic")


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


OURS = {module_name(p): p for package in ALLOWED for p in python_files(package)}


def imported(path: Path) -> set[str]:
    """Every module of ours a file imports (`from pkg import mod` counts as `pkg.mod` when mod is a module)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names
                         if f"{node.module}.{alias.name}" in OURS)
    return {name for name in found if name in OURS}


def imported_libraries(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


GRAPH = {name: imported(path) - {name} for name, path in OURS.items()}


def test_each_package_imports_only_the_packages_below_it():
    wrong = sorted(f"{name} imports {target}" for name, targets in GRAPH.items() for target in targets
                   if (a := name.split(".")[0]) != (b := target.split(".")[0]) and b not in ALLOWED[a])
    assert wrong == []


def test_no_file_imports_itself_round_through_others():
    cycles = []
    state: dict[str, int] = defaultdict(int)  # 0 new, 1 on the path, 2 done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(GRAPH[node]):
            if state[nxt] == 1:
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif state[nxt] == 0:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(GRAPH):
        if state[node] == 0:
            visit(node)
    assert cycles == []


def test_only_the_store_speaks_sql():
    offenders = sorted(f"{module_name(p)} imports {lib}" for package in NO_SQL for p in python_files(package)
                       for lib in imported_libraries(p) & set(SQL_LIBRARIES))
    # The service layer holds a database engine and the alembic-free store API; it types with Engine only.
    allowed = {"app.bootstrap imports sqlalchemy", "app.sweep imports sqlalchemy", "app.cases imports sqlalchemy"}
    assert [o for o in offenders if o not in allowed] == []


def test_the_layer_test_sees_every_package_and_its_edges():
    # Guards the test itself: it must find real files and real edges, or the checks above prove nothing.
    assert {name.split(".")[0] for name in OURS} == set(ALLOWED)
    assert "store.writes" in GRAPH["app.cases"]
    assert "engine.interpreter" in GRAPH["store.writes"]

"""The engine's modules import each other in one direction only: no file imports one that imports it back.

Every `import` and `from` statement counts, also those under `if TYPE_CHECKING:` and inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def engine_imports(path: Path, known: set[str]) -> set[str]:
    """The engine modules a file imports (`from engine import clocks` names engine.clocks, not the package)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: `from . import x`, `from .state import y`
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            candidates = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in candidates:
            if name in known:
                found.add(name)
                break
    return found - {module_name(path)}


def import_graph() -> dict[str, set[str]]:
    files = sorted(ENGINE.rglob("*.py"))
    known = {module_name(p) for p in files}
    return {module_name(p): engine_imports(p, known) for p in files}


def reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return False


def test_the_clocks_never_import_the_interpreter_not_even_for_type_checking():
    graph = import_graph()
    assert "engine.interpreter" not in graph["engine.clocks"]
    assert not reaches(graph, "engine.clocks", "engine.interpreter")


def test_no_engine_module_imports_one_that_imports_it_back():
    graph = import_graph()
    circles = sorted(f"{a} <-> {b}" for a in graph for b in graph[a] if reaches(graph, b, a))
    assert circles == []

"""engine/ stays pure: it imports no orchestration, persistence or network library and never reads the clock."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"
FORBIDDEN = {"prefect", "sqlmodel", "sqlalchemy", "apprise", "requests", "httpx", "aiohttp", "urllib3",
             "smtplib", "socket", "http", "asyncio", "psycopg", "jinja2"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_engine_module_imports_an_outside_world_library():
    offenders = {p.name: sorted(imported_modules(p) & FORBIDDEN) for p in ENGINE.rglob("*.py")}
    assert {name: mods for name, mods in offenders.items() if mods} == {}


def test_importing_the_engine_loads_no_outside_world_library():
    # A fresh interpreter, so modules imported by other tests do not hide an indirect import. The
    # engine's own dependencies (pydantic pulls in the stdlib's email and socket modules for its
    # email types) are the baseline; the engine may add nothing from the forbidden list to it.
    code = ("import sys, pydantic, yaml, holidays\n"
            "baseline = set(sys.modules)\n"
            "import engine, engine.interpreter, engine.validator, engine.simulation, engine.migration, engine.schema\n"
            f"bad = sorted(m for m in set(sys.modules) - baseline if m.split('.')[0] in {sorted(FORBIDDEN)!r})\n"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ENGINE.parent)
    assert out.stdout.strip() == ""


def test_the_engine_never_reads_the_clock():
    calls = []
    for path in ENGINE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("now", "today", "utcnow", "time"):
                base = node.value
                if isinstance(base, ast.Name) and base.id in ("datetime", "date", "time"):
                    calls.append(f"{path.name}:{node.lineno} {base.id}.{node.attr}")
    assert calls == []

"""A PostgreSQL schema of its own for one benchmark run, dropped afterwards (completions.py, sweep.py,
notifications.py). Imported as `benchmarks.scratch`, for the reason `benchmarks.spawning` gives."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from store.db import make_engine


@contextmanager
def scratch_schema(url: str) -> Iterator[tuple[str, str]]:
    """Create a fresh schema on the server at `url`; yields (schema, "PostgreSQL <version>") and drops the
    schema with everything in it when the run ends, also after a failure."""
    schema = f"regie_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            version = conn.exec_driver_sql("SHOW server_version").scalar().split()[0]
        try:
            yield schema, f"PostgreSQL {version}"
        finally:
            with admin.begin() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        admin.dispose()

"""COA import benchmark: a koppeling list of N people read, checked and started, on SQLite (and PostgreSQL).

    .venv/bin/python benchmarks/coa_import.py [--rows 100000] [--database sqlite|postgres|both]

Writes a CSV of N made-up people (Windows-1252, `;`, as Excel saves it) to a fresh import folder, and
imports it into a fresh, migrated case store with the real definitions (asielstatushouder, Tilburg and
Nederweert), through `app.imports.import_coa_koppelingen`: the path `regie import koppelingen` and the
`import-koppelingen` deployment take. Measured, in this order:

- *dry run*: decode, parse and check every row, look up who exists (nothing is written);
- *import*: the same, then start every trajectory, 1,000 cases per transaction (group commit);
- *again*: the same file once more: every row is found, nothing starts;
- *baseline, one transaction per case*: the first `--baseline-rows` rows started one by one with
  `CaseService.start_trajectory` in a second fresh store, the way the import worked before (a look
  and a transaction per case), in the same run, so the rates compare on the same machine and load.

Peak memory is the process's resident set (`VmHWM`) after each step.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.cases import CaseService  # noqa: E402
from app.imports import import_coa_koppelingen, read_import_file  # noqa: E402
from engine.loader import DEFAULT_DIR  # noqa: E402
from engine.validator import validate_paths  # noqa: E402
from integrations.coa_import import DEFINITION, START_MESSAGE, parse  # noqa: E402
from store.db import make_engine, upgrade  # noqa: E402

KEY = b"benchmark-pseudonym-key"
NOW = datetime(2026, 6, 1, 8, tzinfo=UTC)
FIRST = ["Amira", "Yusuf", "Noor", "Tesfay", "Lina", "Omar", "Samir", "Fenna", "Daan", "Zoë", "José"]
LAST = ["Haddad", "Gebremedhin", "Voorbeeld", "Testpersoon", "Proef", "Ærø", "Nuñez", "de Vries"]


def koppeling_csv(rows: int, seed: int = 2026) -> bytes:
    """N made-up people with distinct V-numbers, in Windows-1252 with `;` (Excel on a Dutch Windows)."""
    rng = random.Random(seed)
    lines = ["v_nummer;koppelingsdatum;gemeente;naam;geboortedatum;azc"]
    start = date(2026, 1, 5)
    for n in range(rows):
        when = start + timedelta(days=rng.randrange(120))
        born = date(1960, 1, 1) + timedelta(days=rng.randrange(365 * 45))
        azc = rng.choice(["Budel", "Oisterwijk"])
        lines.append(f"{1_000_000_000 + n * 7};{when:%d-%m-%Y};{rng.choice(['tilburg', 'nederweert'])};"
                     f"{rng.choice(FIRST)} {rng.choice(LAST)};{born:%Y-%m-%d};AZC {azc}")
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def peak_rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _service(url: str, search_path: str | None, library) -> CaseService:
    engine = make_engine(url, search_path=search_path) if search_path else make_engine(url)
    upgrade(engine)
    return CaseService(engine, library, lambda: NOW, municipalities=())


def run(database: str, rows: int, baseline_rows: int, postgres_url: str | None) -> list[dict]:
    library, problems = validate_paths([DEFAULT_DIR])
    assert problems == [], problems
    results = []
    with tempfile.TemporaryDirectory() as folder:
        import_dir = Path(folder) / "import"
        import_dir.mkdir()
        (import_dir / "koppelingen.csv").write_bytes(koppeling_csv(rows))
        schemas: list[str] = []

        def store(name: str) -> CaseService:
            if database == "sqlite":
                return _service(f"sqlite:///{Path(folder) / name}.db", None, library)
            schema = f"bench_coa_{uuid.uuid4().hex[:10]}"
            schemas.append(schema)
            admin = make_engine(postgres_url)
            with admin.begin() as conn:
                conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            admin.dispose()
            return _service(postgres_url, schema, library)

        try:
            service = store("import")
            for step, kwargs in (("dry run", {"dry_run": True}), ("import", {}), ("again", {})):
                began = time.perf_counter()
                data = read_import_file(import_dir, "koppelingen.csv")
                report = import_coa_koppelingen(service, data, key=KEY, actor="benchmark", **kwargs)
                seconds = time.perf_counter() - began
                assert not report.problems, report.problems[:3]
                results.append({"database": database, "step": step, "rows": rows, "seconds": seconds,
                                "started": len(report.started), "already": len(report.already),
                                "rss": peak_rss_mib()})
            service.engine.dispose()

            baseline = store("baseline")
            sample, _ = parse(read_import_file(import_dir, "koppelingen.csv"), key=KEY,
                              municipalities={"tilburg", "nederweert"})
            sample = sample[:baseline_rows]
            began = time.perf_counter()
            for row in sample:
                baseline.start_trajectory(case_ref=row.case_ref, definition=DEFINITION, municipality=row.municipality,
                                          actor="benchmark", start_message=START_MESSAGE,
                                          occurred_on=row.koppelingsdatum, personal=row.personal)
            seconds = time.perf_counter() - began
            results.append({"database": database, "step": "baseline, one transaction per case",
                            "rows": len(sample), "seconds": seconds, "started": len(sample), "already": 0,
                            "rss": peak_rss_mib()})
            baseline.engine.dispose()
        finally:
            if schemas:
                admin = make_engine(postgres_url)
                with admin.begin() as conn:
                    for schema in schemas:
                        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
                admin.dispose()
    return results


def table(results: list[dict]) -> str:
    lines = ["| database | step | rows | seconds | rows/s | started | already | peak RSS (MiB) |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['database']} | {r['step']} | {r['rows']:,} | {r['seconds']:.1f} | "
                     f"{r['rows'] / r['seconds']:,.0f} | {r['started']:,} | {r['already']:,} | {r['rss']:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline-rows", type=int, default=2_000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("REGIE_TEST_DATABASE_URL",
                                                                 "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args(argv)
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    results = []
    for database in databases:
        results.extend(run(database, args.rows, min(args.baseline_rows, args.rows), args.postgres_url))
    print(f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, "
          f"{datetime.now():%Y-%m-%d}, load {os.getloadavg()[0]:.1f}")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

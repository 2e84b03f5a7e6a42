"""A few hostile commands as a user runs them, in a shell: the exit code and stderr a user sees, on SQLite
and PostgreSQL. The issue's own findings first (a reference over 64 characters, a municipality over
100, a NUL in a value, `--limit -1`), then bytes that are no text, and an import of the environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.hostile.inputs import clean_environ, environment, prefect_broken
from tests.store.conftest import _postgres, _sqlite

DEFINITIONS = Path(__file__).resolve().parent / "definitions"
ROOT = Path(__file__).resolve().parents[2]
REGIE = [sys.executable, "-m", "cli.main"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shell(request, tmp_path):
    made = _sqlite(tmp_path) if request.param == "sqlite" else _postgres()
    database = next(made)
    url = database.url
    if database.search_path:
        url = sa.make_url(url).update_query_dict({"options": f"-csearch_path={database.search_path}"}) \
            .render_as_string(hide_password=False)
    with prefect_broken() as prefect:
        env = {**clean_environ(), **environment(tmp_path / "data", url, DEFINITIONS, prefect),
               "PYTHONPATH": str(ROOT), "REGIE_SMTP_PASSWORD": "geheim-wachtwoord-42"}

        def run(*argv: str | bytes) -> subprocess.CompletedProcess:
            return subprocess.run([*REGIE, *argv], env=env, cwd=tmp_path, capture_output=True, timeout=120)

        yield run
    made.close()


def refused_in_one_line(result: subprocess.CompletedProcess, *words: str) -> str:
    err = result.stderr.decode("utf-8")
    assert result.returncode == 2, (result.returncode, err)
    assert err.count("\n") == 1 and err.startswith("regie "), err
    assert "Traceback" not in err and result.stdout == b""
    for word in words:
        assert word in err, (word, err)
    return err


def test_what_the_issue_found_on_postgresql_is_refused_in_one_line(shell):
    start = ("case", "start", "--definition", "melding", "--municipality", "rotterdam", "--message", "koppeling")
    refused_in_one_line(shell(*start[:2], "RMD-2026-" + "1" * 60, *start[2:]), "geen zaakreferentie")
    refused_in_one_line(shell(*start[:2], "RMD-2026-0002", "--definition", "melding", "--municipality", "r" * 101),
                        "onbekende gemeente", "(bekend: rotterdam)")
    # A shell cannot pass a NUL byte, but JSON can: "\u0000" in a value.
    refused_in_one_line(shell(*start[:2], "RMD-2026-0003", *start[2:], "--personal", 'naam="Fenna\\u0000"'),
                        "stuurtekens")
    refused_in_one_line(shell("case", "list", "--limit", "-1"), "--limit", "0 tot en met")
    refused_in_one_line(shell("case", "list", "--municipality", "tilbrug"), "onbekende gemeente 'tilbrug'",
                        "(bekend: rotterdam)")
    assert shell(*start[:2], "RMD-2026-0004", *start[2:]).returncode == 0
    refused_in_one_line(shell("case", "message", "RMD-2026-0004", "bestaat_niet"), "onbekende gebeurtenis",
                        "(bekend: huisvesting, koppeling)")


def test_bytes_that_are_no_text_and_a_bsn_as_reference_are_refused_as_a_shell_sees_it(shell):
    refused_in_one_line(shell("case", "show", b"RMD-2026-\xff\xfe"), "geen zaakreferentie")
    refused_in_one_line(shell("case", "start", "999993653", "--definition", "melding", "--municipality", "rotterdam"),
                        "een BSN of V-nummer is geen zaakreferentie")
    refused_in_one_line(shell("validate", b"\xff.yaml"), "geen bestand of map")


def test_an_import_of_the_environment_reads_nothing_and_shows_nothing(shell):
    result = shell("import", "koppelingen", "/proc/self/environ")
    err = refused_in_one_line(result, "importmap")
    assert "geheim-wachtwoord-42" not in err and "fuzz-key" not in err

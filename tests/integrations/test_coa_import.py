"""Importing COA's koppeling list: every row checked first, nothing started twice, no names leave the store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.cases import CaseService
from app.imports import import_coa_koppelingen
from engine.loader import DEFAULT_DIR
from engine.validator import validate_paths
from integrations.coa_import import KoppelingFileError, case_ref_for, parse
from store.db import make_engine, upgrade

KEY = b"test-pseudonym-key"
GOOD = """v_nummer;koppelingsdatum;gemeente;naam;geboortedatum;azc
1234567890;2026-02-02;tilburg;Amira Testpersoon;1990-04-01;AZC Oisterwijk
2345678901;03-02-2026;nederweert;Yusuf Voorbeeld;;AZC Budel
"""
BAD = GOOD + """3456789012;2026-02-31;tilburg;;;
12345;2026-02-02;amsterdam;;;
1234567890;2026-02-05;tilburg;;;
"""


@pytest.fixture(scope="module")
def library():
    library, problems = validate_paths([DEFAULT_DIR])
    assert problems == []
    return library


@pytest.fixture
def service(tmp_path, library):
    engine = make_engine(f"sqlite:///{tmp_path / 'regie.db'}")
    upgrade(engine)
    return CaseService(engine, library, lambda: datetime(2026, 2, 10, 8, tzinfo=UTC))


def test_good_rows_start_asielstatushouder_trajectories_from_their_koppeling_date(service):
    report = import_coa_koppelingen(service, GOOD, key=KEY, actor="import")
    first = case_ref_for("1234567890", "tilburg", datetime(2026, 2, 2).date(), KEY)
    assert report.started == [first, case_ref_for("2345678901", "nederweert", datetime(2026, 2, 3).date(), KEY)]
    assert report.problems == [] and not report.refused
    case = service.show_case(first)
    assert case.definition == "asielstatushouder@2" and case.municipality == "tilburg"
    assert any(h.kind == "case_started" and "koppeling" in h.detail for h in case.history)
    assert service.personal_data(first)["naam"] == "Amira Testpersoon"


def test_importing_the_same_file_twice_starts_nothing_twice(service):
    import_coa_koppelingen(service, GOOD, key=KEY, actor="import")
    again = import_coa_koppelingen(service, GOOD, key=KEY, actor="import")
    assert again.started == [] and len(again.already) == 2
    assert len(service.list_cases()) == 2


def test_a_file_with_bad_rows_imports_nothing_and_names_every_bad_row(service):
    report = import_coa_koppelingen(service, BAD, key=KEY, actor="import")
    assert report.refused and report.started == []
    assert [str(p) for p in report.problems] == [
        "line 4: koppelingsdatum '2026-02-31' is not a date (YYYY-MM-DD or DD-MM-YYYY)",
        "line 5: v_nummer must be 10 digits; unknown gemeente 'amsterdam' (known: nederweert, tilburg)",
        "line 6: same v_nummer as line 2",
    ]
    assert service.list_cases() == []


def test_asked_for_good_rows_only_it_imports_them_and_still_reports_the_bad(service):
    report = import_coa_koppelingen(service, BAD, key=KEY, actor="import", only_valid=True)
    assert len(report.started) == 2 and len(report.problems) == 3 and not report.refused
    assert len(service.list_cases()) == 2


def test_a_dry_run_checks_and_counts_but_starts_nothing(service):
    report = import_coa_koppelingen(service, GOOD, key=KEY, actor="import", dry_run=True)
    assert len(report.started) == 2 and service.list_cases() == []


@pytest.mark.parametrize(("text", "message"), [
    ("", "the file is empty"),
    ("naam;gemeente\nA;tilburg\n", "line 1: missing column\\(s\\) v_nummer, koppelingsdatum"),
    ("v_nummer,koppelingsdatum,gemeente,bsn\n", "line 1: unknown column\\(s\\) bsn"),
])
def test_a_file_that_is_not_a_koppeling_list_is_refused_whole(text, message):
    with pytest.raises(KoppelingFileError, match=message):
        parse(text, key=KEY, municipalities={"tilburg"})


def test_excel_exports_with_a_bom_and_commas_are_read():
    rows, problems = parse("\ufeffv_nummer,koppelingsdatum,gemeente\n1234567890,2026-02-02,tilburg\n",
                           key=KEY, municipalities={"tilburg"})
    assert problems == [] and rows[0].case_ref.startswith("TIL-2026-")


def test_the_case_reference_reveals_nothing_without_the_key():
    ref = case_ref_for("1234567890", "tilburg", datetime(2026, 2, 2).date(), KEY)
    assert "1234567890" not in ref and ref != case_ref_for("1234567890", "tilburg",
                                                           datetime(2026, 2, 2).date(), b"other")
    assert ref == case_ref_for("1234567890", "tilburg", datetime(2026, 2, 2).date(), KEY)


def test_regie_import_koppelingen_reports_bad_rows_by_line_and_imports_nothing(tmp_path, monkeypatch, capsys):
    from cli.main import main

    monkeypatch.setenv("REGIE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REGIE_PSEUDONYM_KEY", "test-key")
    bad = tmp_path / "koppelingen.csv"
    bad.write_text(BAD, encoding="utf-8")
    assert main(["import", "koppelingen", str(bad)]) == 1
    captured = capsys.readouterr()
    assert f"{bad}: line 5: v_nummer must be 10 digits" in captured.err
    assert "0 started, 0 already imported, 3 bad row(s) — nothing imported because of bad rows" in captured.out
    assert "Testpersoon" not in captured.out + captured.err

    good = tmp_path / "goed.csv"
    good.write_text(GOOD, encoding="utf-8")
    assert main(["import", "koppelingen", str(good)]) == 0
    assert "2 started, 0 already imported, 0 bad row(s)" in capsys.readouterr().out
    assert main(["import", "koppelingen", str(good)]) == 0
    assert "0 started, 2 already imported" in capsys.readouterr().out


def test_regie_import_refuses_to_run_without_a_pseudonym_key(tmp_path, monkeypatch, capsys):
    from cli.main import main

    monkeypatch.setenv("REGIE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("REGIE_PSEUDONYM_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "k.csv").write_text(GOOD)
    assert main(["import", "koppelingen", str(tmp_path / "k.csv")]) == 2
    assert "REGIE_PSEUDONYM_KEY is not set" in capsys.readouterr().err


def test_a_malformed_date_of_birth_is_reported_without_its_value():
    rows, problems = parse("v_nummer;koppelingsdatum;gemeente;geboortedatum\n1234567890;2026-02-02;tilburg;31-31-1990\n",
                           key=KEY, municipalities={"tilburg"})
    assert [str(p) for p in problems] == ["line 2: geboortedatum is not a date (YYYY-MM-DD or DD-MM-YYYY)"]

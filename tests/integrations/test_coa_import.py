"""Importing COA's koppeling list: every row checked first, nothing started twice, no names leave the store."""

from __future__ import annotations

import codecs
from datetime import UTC, date, datetime

import pytest

from app.cases import CaseService
from app.imports import import_coa_koppelingen
from engine.loader import DEFAULT_DIR
from engine.validator import validate_paths
from integrations import coa_import
from integrations.coa_import import KoppelingFileError, case_ref_for, legacy_case_ref, parse
from integrations.safe_text import is_case_ref
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
MUNICIPALITIES = {"tilburg", "nederweert"}


@pytest.fixture(scope="module")
def library():
    library, problems = validate_paths([DEFAULT_DIR])
    assert problems == []
    return library


@pytest.fixture
def service(tmp_path, library):
    engine = make_engine(f"sqlite:///{tmp_path / 'regie.db'}")
    upgrade(engine)
    return CaseService(engine, library, lambda: datetime(2026, 2, 10, 8, tzinfo=UTC), municipalities=())


def test_good_rows_start_asielstatushouder_trajectories_from_their_koppeling_date(service):
    report = import_coa_koppelingen(service, GOOD, key=KEY, actor="import")
    first = case_ref_for("1234567890", "tilburg", date(2026, 2, 2), KEY)
    assert report.started == [first, case_ref_for("2345678901", "nederweert", date(2026, 2, 3), KEY)]
    assert report.problems == [] and not report.refused
    case = service.show_case(first)
    assert case.definition == "asielstatushouder@2" and case.municipality == "tilburg"
    assert any(h.kind == "case_started" and "koppeling" in h.detail for h in case.history)
    assert service.personal_data(first) == {"v_nummer": "1234567890", "naam": "Amira Testpersoon",
                                            "geboortedatum": "1990-04-01", "azc": "AZC Oisterwijk"}


def test_importing_the_same_file_twice_starts_nothing_twice(service):
    import_coa_koppelingen(service, GOOD, key=KEY, actor="import")
    again = import_coa_koppelingen(service, GOOD, key=KEY, actor="import")
    assert again.started == [] and len(again.already) == 2
    assert len(service.list_cases()) == 2


def test_a_file_with_bad_rows_imports_nothing_and_names_every_bad_row_without_its_values(service):
    report = import_coa_koppelingen(service, BAD, key=KEY, actor="import")
    assert report.refused and report.started == []
    assert [str(p) for p in report.problems] == [
        "regel 4: koppelingsdatum is geen datum (JJJJ-MM-DD of DD-MM-JJJJ)",
        "regel 5: v_nummer is geen 10 cijfers; gemeente is geen bekende gemeente (bekend: nederweert, tilburg)",
        "regel 6: zelfde v_nummer als regel 2",
    ]
    assert "amsterdam" not in str(report.problems) and "2026-02-31" not in str(report.problems)
    assert service.list_cases() == []


def test_asked_for_good_rows_only_it_imports_them_and_still_reports_the_bad(service):
    report = import_coa_koppelingen(service, BAD, key=KEY, actor="import", only_valid=True)
    assert len(report.started) == 2 and len(report.problems) == 3 and not report.refused
    assert len(service.list_cases()) == 2


def test_a_dry_run_checks_and_counts_but_starts_nothing(service):
    report = import_coa_koppelingen(service, GOOD, key=KEY, actor="import", dry_run=True)
    assert len(report.started) == 2 and service.list_cases() == []


@pytest.mark.parametrize(("text", "message"), [
    ("", "het bestand is leeg"),
    ("naam;gemeente\nA;tilburg\n", "regel 1: geen kopregel .* ontbreekt: v_nummer, koppelingsdatum$"),
    ("v_nummer\n1234567890\n", "ontbreekt: koppelingsdatum, gemeente$"),
    ("v_nummer,koppelingsdatum,gemeente,bsn\n", "regel 1: kolom 4 is geen bekende kolom"),
    ("v_nummer;koppelingsdatum;gemeente;v_nummer\n", "regel 1: kolom v_nummer staat er twee keer in"),
])
def test_a_file_that_is_not_a_koppeling_list_is_refused_whole(text, message):
    with pytest.raises(KoppelingFileError, match=message):
        parse(text, key=KEY, municipalities=MUNICIPALITIES)


def test_a_first_line_with_a_persons_data_is_refused_without_repeating_it():
    text = "Fenna de Vries;999993653;2026-02-02;tilburg\n1234567890;2026-02-02;tilburg;x\n"
    with pytest.raises(KoppelingFileError) as refused:
        parse(text.encode(), key=KEY, municipalities=MUNICIPALITIES)
    assert "Fenna" not in str(refused.value) and "999993653" not in str(refused.value)
    assert str(refused.value).startswith("regel 1: geen kopregel")


ROWS = [["v_nummer", "koppelingsdatum", "gemeente", "naam"], ["1234567890", "2026-02-02", "tilburg", "José Nuñez"],
        ["2345678901", "2026-02-03", "nederweert", "Zoë Ærø"]]


@pytest.mark.parametrize(("encoding", "bom", "delimiter"), [
    ("utf-8", b"", ";"), ("utf-8", codecs.BOM_UTF8, ","), ("cp1252", b"", ";"), ("cp1252", b"", "\t"),
    ("utf-16-le", codecs.BOM_UTF16_LE, "\t"), ("utf-16-be", codecs.BOM_UTF16_BE, ";"), ("utf-16-le", b"", ","),
    ("utf-16-be", b"", ";"),
])
@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_files_as_offices_save_them_are_read_whatever_their_encoding_separator_and_line_ends(
        encoding, bom, delimiter, newline):
    text = newline.join(delimiter.join(row) for row in ROWS) + newline
    rows, problems = parse(bom + text.encode(encoding), key=KEY, municipalities=MUNICIPALITIES)
    assert problems == []
    assert [(r.line, r.v_nummer, r.personal["naam"]) for r in rows] == [(2, "1234567890", "José Nuñez"),
                                                                         (3, "2345678901", "Zoë Ærø")]


@pytest.mark.parametrize(("data", "message"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "geen tekstbestand"),
    (bytes(range(256)) * 4, "geen tekstbestand"),
    (b"v_nummer;koppelingsdatum;gemeente\n\x01\x02;2026;x\n", "regel 2: geen tekstbestand: het bevat stuurtekens"),
    (b"v_nummer;koppelingsdatum;gemeente\n\x81\x8d;2026-02-02;tilburg\n",
     "geen tekst in UTF-8, UTF-16 of Windows-1252"),
])
def test_binary_files_are_refused_as_not_text(data, message):
    with pytest.raises(KoppelingFileError, match=message):
        parse(data, key=KEY, municipalities=MUNICIPALITIES)


def test_an_unbalanced_quote_refuses_the_file_at_its_line_instead_of_swallowing_people():
    text = ('v_nummer;koppelingsdatum;gemeente;naam\n1234567890;2026-02-02;tilburg;"Amira\n'
            "2345678901;2026-02-03;nederweert;Yusuf\n3456789012;2026-02-03;tilburg;Noor\n")
    with pytest.raises(KoppelingFileError, match="^regel 2: een aanhalingsteken wordt niet gesloten "
                                                 r"\(de rij loopt door tot het einde van het bestand\)") as refused:
        parse(text, key=KEY, municipalities=MUNICIPALITIES)
    assert "Yusuf" not in str(refused.value)
    closed_later = text.replace("Noor\n", 'Noor"\n')
    with pytest.raises(KoppelingFileError, match="^regel 2: een aanhalingsteken wordt niet gesloten "
                                                 r"\(de rij loopt door tot regel 4\)"):
        parse(closed_later, key=KEY, municipalities=MUNICIPALITIES)


def test_a_row_with_the_wrong_number_of_columns_is_a_bad_row_named_by_its_line():
    text = ("v_nummer;koppelingsdatum;gemeente;naam\n1234567890;2026-02-02;tilburg\n"
            "2345678901;2026-02-03;nederweert;Yusuf;extra\n3456789012;2026-02-03;tilburg;Noor;\n")
    rows, problems = parse(text, key=KEY, municipalities=MUNICIPALITIES)
    assert [str(p) for p in problems] == ["regel 2: 3 kolommen, verwacht 4", "regel 3: 5 kolommen, verwacht 4"]
    assert [r.line for r in rows] == [4]  # a trailing empty cell, as Excel sometimes writes, is no problem


def test_the_case_reference_keeps_64_bits_of_the_keyed_hash_and_reveals_nothing_without_the_key():
    ref = case_ref_for("1234567890", "tilburg", date(2026, 2, 2), KEY)
    prefix, year, part = ref.split("-")
    assert (prefix, year, len(part)) == ("TIL", "2026", 16) and is_case_ref(ref)
    assert int(part, 16) < 2**64 and "1234567890" not in ref
    assert ref != case_ref_for("1234567890", "tilburg", date(2026, 2, 2), b"other")
    assert ref == case_ref_for("1234567890", "tilburg", date(2026, 2, 2), KEY)


def test_every_reference_the_import_makes_follows_the_pattern_even_when_the_first_64_bits_would_not():
    # About 2% of the first 16 hex digits have no digit or nine digits in a row; the next 64 bits are taken.
    refs = [case_ref_for(f"{n:010d}", "nederweert", date(2026, 1, 1), KEY) for n in range(3000)]
    assert all(is_case_ref(ref) for ref in refs) and len(set(refs)) == 3000


def test_two_people_whose_references_collide_are_refused_never_one_silently_dropped(service, monkeypatch):
    monkeypatch.setattr(coa_import, "case_ref_for", lambda v, m, d, k: "TIL-2026-00C0FFEE00C0FFEE")
    rows, problems = parse(GOOD.replace("nederweert", "tilburg"), key=KEY, municipalities=MUNICIPALITIES)
    assert [r.line for r in rows] == [2]
    assert [str(p) for p in problems] == ["regel 3: zelfde zaakreferentie als regel 2 bij een ander v_nummer "
                                          "(botsing van de sleutel); meld dit aan de beheerder"]

    # ... and against the store: the reference belongs to someone else's case.
    service.start_trajectory(case_ref="TIL-2026-00C0FFEE00C0FFEE", definition="asielstatushouder",
                             municipality="tilburg", start_message="koppeling", actor="coa-import",
                             personal={"v_nummer": "9999999999"})
    report = import_coa_koppelingen(service, GOOD.splitlines()[0] + "\n" + GOOD.splitlines()[1] + "\n", key=KEY,
                                    actor="import")
    assert report.refused and [p.line for p in report.problems] == [2]
    assert "botsing" in str(report.problems[0]) and report.started == []


def test_people_imported_under_a_32_bit_reference_keep_it_and_are_found_again(service):
    old = legacy_case_ref("1234567890", "tilburg", date(2026, 2, 2), KEY)
    assert old == "TIL-2026-DCC28AE5"  # as an import before 64-bit references made it
    service.start_trajectory(case_ref=old, definition="asielstatushouder", municipality="tilburg",
                             start_message="koppeling", actor="coa-import", personal={"v_nummer": "1234567890"})
    report = import_coa_koppelingen(service, GOOD, key=KEY, actor="import")
    assert report.already == [old]
    assert report.started == [case_ref_for("2345678901", "nederweert", date(2026, 2, 3), KEY)]
    assert service.show_case(old).case_ref == old  # looking it up by the old reference keeps working


def test_regie_import_koppelingen_reads_the_import_folder_reports_bad_rows_by_line_and_imports_nothing(
        tmp_path, monkeypatch, capsys):
    from cli.main import main

    monkeypatch.setenv("REGIE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REGIE_PSEUDONYM_KEY", "test-key")
    folder = tmp_path / "data" / "import"
    folder.mkdir(parents=True)
    (folder / "koppelingen.csv").write_text(BAD, encoding="utf-8")
    assert main(["import", "koppelingen", "koppelingen.csv"]) == 2
    captured = capsys.readouterr()
    assert "regie import koppelingen: regel 5: v_nummer is geen 10 cijfers" in captured.err
    assert "0 gestart, 0 al geïmporteerd, 3 foute regel(s) — niets geïmporteerd vanwege foute regels" in captured.out
    assert "Testpersoon" not in captured.out + captured.err

    (folder / "goed.csv").write_text(GOOD, encoding="utf-8")
    assert main(["import", "koppelingen", "goed.csv"]) == 0
    assert "2 gestart, 0 al geïmporteerd, 0 foute regel(s)" in capsys.readouterr().out
    assert main(["import", "koppelingen", str(folder / "goed.csv")]) == 0
    assert "0 gestart, 2 al geïmporteerd" in capsys.readouterr().out

    # Outside the import folder nothing is read, however it is named.
    (tmp_path / "elders.csv").write_text(GOOD, encoding="utf-8")
    (folder / "link.csv").symlink_to(tmp_path / "elders.csv")
    for name in ("../elders.csv", str(tmp_path / "elders.csv"), "link.csv", "/proc/self/environ", "nergens.csv",
                 ".", "a\x00b"):
        assert main(["import", "koppelingen", name]) == 2, name
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "importmap" in err, (name, err)


def test_regie_import_refuses_to_run_without_a_pseudonym_key(tmp_path, monkeypatch, capsys):
    from cli.main import main

    monkeypatch.setenv("REGIE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("REGIE_PSEUDONYM_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["import", "koppelingen", "k.csv"]) == 2
    assert "REGIE_PSEUDONYM_KEY is niet gezet" in capsys.readouterr().err


def test_a_malformed_date_of_birth_is_reported_without_its_value():
    text = "v_nummer;koppelingsdatum;gemeente;geboortedatum\n1234567890;2026-02-02;tilburg;31-31-1990\n"
    rows, problems = parse(text, key=KEY, municipalities=MUNICIPALITIES)
    assert [str(p) for p in problems] == ["regel 2: geboortedatum is geen datum (JJJJ-MM-DD of DD-MM-JJJJ)"]


def test_the_export_says_which_file_and_batch_brought_the_persons_data(service):
    from app.privacy.person import export_person

    import_coa_koppelingen(service, GOOD, key=KEY, actor="coa-import", file_name="koppelingen-feb.csv", batch=1)
    # Alike starts side by side: Nederweert's row is the first batch, Tilburg's the second.
    tilburg = case_ref_for("1234567890", "tilburg", date(2026, 2, 2), KEY)

    export = export_person(service, tilburg, operator="anna", reason="inzageverzoek")

    assert export["herkomst"] == [{"bron": "COA-koppelingslijst (import)", "bestand": "koppelingen-feb.csv",
                                   "partij": 2, "op": "2026-02-10T09:00:00+01:00",
                                   "persoonsgegevens": ["azc", "geboortedatum", "naam", "v_nummer"]}]

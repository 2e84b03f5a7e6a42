"""What the case service refuses, and how it says so: references that could be personal data, unknown
municipalities and messages (with the known ones listed), prose in a process text field; and
`regie validate` on a copy of the definitions, as REGIE_DEFINITIONS_DIR names them."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest

from app.cases import CaseService
from app.errors import InputRefused
from cli.main import main
from engine.loader import DEFAULT_DIR
from integrations.safe_text import is_case_ref
from store.db import make_engine, upgrade


@pytest.fixture
def service(tmp_path, wi2021):
    engine = make_engine(f"sqlite:///{tmp_path / 'regie.db'}")
    upgrade(engine)
    return CaseService(engine, wi2021, lambda: datetime(2026, 3, 2, 8, tzinfo=UTC), municipalities=())


def start(service: CaseService, case_ref: str = "TLB-2026-0001", **changes):
    arguments = dict(case_ref=case_ref, definition="asielstatushouder", municipality="tilburg",
                     start_message="koppeling", actor="anna") | changes
    return service.start_trajectory(**arguments)


@pytest.mark.parametrize("ref", ["RMD-2026-0042", "DEMO-2026-0003", "TLB-2026-0102", "NDW-2026-0001",
                                 "TIL-2026-9F2A01BC", "TIL-2026-87601E39452DAE4B", "AB-1999-0000A"])
def test_references_of_the_documented_pattern_are_taken(ref):
    assert is_case_ref(ref)


@pytest.mark.parametrize(("ref", "why"), [
    ("999993653", "a BSN"), ("RMD-2026-999993653", "a BSN in the last part"), ("TIL-2026-A123456789B", "nine digits"),
    ("1234567890", "a V-number"), ("RMD-2026-1234567890", "a V-number in the last part"),
    ("fenna@example.org", "an e-mail address"), ("RMD-2026-F@X.NL", "an e-mail address in the last part"),
    ("Fenna de Vries", "a name as written"), ("rmd-2026-jansen", "lowercase"), ("RMD-2026-JANSEN", "no digit: a word"),
    ("RMD-2026-00 42", "a space"), ("RMD-26-0042", "not a year"), ("R-2026-0042", "a one-letter code"),
    ("RMD-2026-0042\n", "a line end"), ("RMD-٢٠٢٦-٠٠٤٢", "other digits than 0-9"), ("RMD-2026-" + "A1" * 9, "too long"),
])
def test_a_reference_that_could_be_personal_data_is_refused_and_nothing_starts(service, ref, why):
    with pytest.raises(InputRefused, match="een BSN of V-nummer is geen zaakreferentie|geen zaakreferentie"):
        start(service, ref)
    assert service.list_cases() == [], why


def test_an_unknown_municipality_is_refused_with_the_known_ones_listed(service):
    with pytest.raises(InputRefused, match=r"^onbekende gemeente 'tilbrug' \(bekend: nederweert, tilburg\)$"):
        start(service, municipality="tilbrug")
    with pytest.raises(InputRefused, match=r"onbekende gemeente 'tilbrug' \(bekend: nederweert, tilburg\)"):
        service.list_cases(municipality="tilbrug")
    assert service.list_cases() == []


def test_municipalities_without_a_profile_of_their_own_are_served_when_named(tmp_path, wi2021):
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    upgrade(engine)
    service = CaseService(engine, wi2021, lambda: datetime(2026, 3, 2, 8, tzinfo=UTC), municipalities=["goirle"],
                          default_profile="tilburg")
    assert start(service, municipality="goirle").profile == "tilburg"
    assert service.municipalities == {"goirle", "nederweert", "tilburg"}


def test_an_unknown_message_is_refused_with_the_known_ones_listed(service):
    start(service)
    with pytest.raises(InputRefused, match=r"^onbekende gebeurtenis 'huisvestng' \(bekend: .*huisvesting.*\)$"):
        service.deliver_message(case_ref="TLB-2026-0001", message="huisvestng", data={"verhuisdatum": "2026-04-01"},
                                actor="anna")
    with pytest.raises(InputRefused, match="onbekende gebeurtenis 'kopeling'"):
        start(service, "TLB-2026-0002", start_message="kopeling")
    assert service.show_case("TLB-2026-0001").version == 1


def test_prose_in_a_process_text_field_is_refused_so_no_name_reaches_the_caseload(service):
    with pytest.raises(InputRefused, match="veld 'klantregisseur_id': procesgegeven: een code"):
        start(service, data={"klantregisseur_id": "Fenna de Vries"})
    assert start(service, data={"klantregisseur_id": "kr-017"}).data["klantregisseur_id"] == "kr-017"


def test_regie_validate_checks_the_folder_that_regie_definitions_dir_names_also_a_copy(tmp_path, monkeypatch,
                                                                                      capsys):
    copy = tmp_path / "definities"
    shutil.copytree(DEFAULT_DIR, copy)
    monkeypatch.setenv("REGIE_DEFINITIONS_DIR", str(copy))
    assert main(["validate"]) == 0
    assert main(["validate", str(copy)]) == 0  # its own catalogue, not a second one
    assert main(["validate", str(copy / "pip.yaml")]) == 0  # one file, against the configured catalogue
    assert "een tweede catalogus" not in capsys.readouterr().err

    (copy / "kapot.yaml").write_text("kind: process\nid: kapot\n", encoding="utf-8")
    assert main(["validate"]) == 1
    assert "kapot.yaml" in capsys.readouterr().err

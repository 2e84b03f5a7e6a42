"""Which roles may send a message themselves (`senders:` in the catalogue) is checked at load, with the
catalogue's file and line; the project's catalogue lets partners send absence, a changed lesson
schedule and friction."""

from __future__ import annotations

from pathlib import Path

import yaml

from engine.loader import DEFAULT_DIR
from engine.validator import validate_paths

CATALOG = DEFAULT_DIR / "catalog.yaml"


def catalogue_with(tmp_path: Path, message: str, change: dict) -> list[str]:
    data = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    data["messages"][message] = {**data["messages"][message], **change}
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    _, problems = validate_paths([path], base=tmp_path)
    return [str(p) for p in problems]


def test_the_project_lets_partners_send_their_signals():
    library, problems = validate_paths([DEFAULT_DIR])

    assert problems == []
    messages = library.catalog.messages
    assert "taalaanbieder" in messages["uitval_signaal"].senders and "jobcoach" in messages["uitval_signaal"].senders
    assert messages["lesrooster_gewijzigd"].senders == ["taalaanbieder"]
    assert messages["frictie_gemeld"].senders == ["werkgever", "jobcoach"]
    assert messages["huisvesting"].senders == []


def test_a_sender_that_is_not_a_role_is_reported_with_its_line(tmp_path):
    found = catalogue_with(tmp_path, "frictie_gemeld", {"senders": ["jobcoach", "buurman"]})

    assert len(found) == 1 and found[0].startswith("catalog.yaml:")
    assert "frictie_gemeld: senders: onbekende rol 'buurman'" in found[0]
    line = int(found[0].split(":")[1])
    assert "senders" in (tmp_path / "catalog.yaml").read_text(encoding="utf-8").splitlines()[line - 1]


def test_the_person_cannot_be_a_sender(tmp_path):
    found = catalogue_with(tmp_path, "uitval_signaal", {"senders": ["inburgeraar"]})

    assert any("senders: 'inburgeraar' krijgt geen berichten en geen link" in p for p in found)


def test_a_message_partners_send_carries_process_data_from_the_catalogue_only(tmp_path):
    special = catalogue_with(tmp_path, "medisch_advies_ontvangen", {"senders": ["klantregisseur"]})
    undeclared = catalogue_with(tmp_path, "plaatsing", {"senders": ["werkgever"], "data": ["werkdagen_per_week"]})

    assert any("data: 'ontheffing_besluit' is special-gegevens; een bericht van partners mag alleen procesgegevens "
               "bevatten" in p for p in special)
    assert any("data: 'werkdagen_per_week' moet een gegevensveld uit de catalogus zijn" in p for p in undeclared)

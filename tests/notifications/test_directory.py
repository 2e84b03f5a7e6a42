"""Loading a municipality's partner directory: every URL checked with apprise, every problem reported."""

from __future__ import annotations

import pytest

from engine.definitions import Profile
from integrations.directory import (
    DUMMY_SECRET,
    DirectoryError,
    SecretUnavailable,
    check_directory,
    load_directory,
    resolve_url,
)
from integrations.routing import Unroutable, case_choices, route
from tests.notifications.conftest import FIXTURES, read_profile


def test_the_test_profile_loads_with_every_role_and_the_apprise_schema_of_each_url(catalog, env):
    directory = load_directory(read_profile("testgemeente.yaml"), catalog, env)

    assert [p.id for p in directory.roles["werkgever"]] == ["bakkerij_de_korenschoof", "bouwbedrijf_van_dam"]
    assert [c.schema for c in directory.channels["team_inburgering"]] == ["mailto", "json"]
    assert directory.channels["vluchtelingenwerk_testdorp"][0].schema is None  # secret:..., known when sent
    assert directory.partner("language_centre_int").language == "en"
    assert directory.partner("werkfit_jobcoaching").digest == "daily"
    assert {"werkgever", "taalaanbieder", "jobcoach", "coa"} <= directory.case_specific
    assert "coordinator" not in directory.case_specific


def test_every_bad_url_is_reported_by_profile_role_and_partner_without_showing_the_url(catalog):
    directory, problems = check_directory(read_profile("bad_partners.yaml"), catalog, env={})

    lines = [str(p) for p in problems]
    assert lines == [
        "slordig: coa: coa_zonder_schema: url 1: apprise kent dit soort URL niet (onbekend of ontbrekend schema)",
        "slordig: coordinator: team: url 1: bevat een wachtwoord of token als leesbare tekst: zet het in een "
        "omgevingsvariabele (${NAAM}) of een Prefect Secret-blok",
        "slordig: inburgeraar: -: Regie stuurt de inburgeraar nooit zelf berichten; noem alleen partners",
        "slordig: schoonmaker: -: onbekende rol (bekend: " + ", ".join(sorted(catalog.roles)) + ")",
        "slordig: taalaanbieder: taalschool_onbekend_schema: url 1: apprise kent dit soort URL niet "
        "(onbekend of ontbrekend schema)",
        "slordig: taalaanbieder: taalschool_slack_kapot: url 1: geen geldige slack://-URL voor apprise "
        "(controleer de delen en opties)",
        "slordig: werkgever: werkgever_extra_veld: onbekend veld 'telefoon' (tikfout, of hoort het bij een ander "
        "element?)",
        "slordig: werkgever: werkgever_placeholder: url 1: onbekende plaatshouder '${lower-case is fine}': gebruik "
        "${ENV_VAR}, {{ prefect.blocks.secret.<naam> }} of secret:<naam>",
    ]
    assert not any("hunter2" in line for line in lines)
    assert directory.roles["coordinator"] == ()


def test_load_directory_raises_with_all_problems_at_once(catalog):
    with pytest.raises(DirectoryError, match=r"(?s)slordig: coa: .*slordig: werkgever: werkgever_placeholder"):
        load_directory(read_profile("bad_partners.yaml"), catalog, env={})


def test_a_profile_without_a_coordinator_is_refused(catalog):
    profile = Profile(kind="profile", id="zonder", name="Zonder", partners={
        "coa": [{"id": "coa_x", "organisation": "COA", "urls": ["json://hooks.example/coa"]}]})

    _, problems = check_directory(profile, catalog, env={})

    assert [str(p) for p in problems] == [
        "zonder: coordinator: -: geen partner: de coördinator krijgt escalaties en berichten voor een rol "
        "zonder ontvanger"]


def test_a_url_whose_secret_is_not_set_is_checked_with_a_dummy_in_its_place(catalog):
    profile = Profile(kind="profile", id="p", name="P", partners={"coordinator": [{
        "id": "team", "organisation": "Team",
        "urls": ["slack://${SLACK_A}/${SLACK_B}/${SLACK_C}/#inburgering",
                 "mailto://${SMTP_USER}:{{ prefect.blocks.secret.smtp-password }}@smtp.example.org?to=t@example.org",
                 "workflows://prod-01.westeurope.logic.azure.com:443/${TEAMS_WORKFLOW}/${TEAMS_SIGNATURE}",
                 "mmosts://chat.example.org/${MATTERMOST_TOKEN}",
                 "matrixs://${MATRIX_USER}:${MATRIX_PASSWORD}@matrix.example.org/#inburgering",
                 "ntfys://${NTFY_TOKEN}@ntfy.example.org/regie-testdorp",
                 "secret:coordinator-teams-url"]}]})

    directory, problems = check_directory(profile, catalog, env={})

    assert problems == []
    assert [c.schema for c in directory.channels["team"]] == \
        ["slack", "mailto", "workflows", "mmosts", "matrixs", "ntfys", None]


def test_secrets_are_filled_in_only_when_sending_and_reported_by_name_when_missing():
    url = "mailto://${SMTP_USER}:{{ prefect.blocks.secret.smtp-password }}@smtp.example.org?to=t@example.org"
    blocks = {"smtp-password": "s3cr%40t"}

    resolved = resolve_url(url, {"SMTP_USER": "regie"}, blocks.__getitem__)

    assert resolved.url == "mailto://regie:s3cr%40t@smtp.example.org?to=t@example.org"
    assert resolved.secrets == ("regie", "s3cr%40t")
    with pytest.raises(SecretUnavailable, match="omgevingsvariabele SMTP_USER is niet gezet"):
        resolve_url(url, {}, blocks.__getitem__)
    assert resolve_url("secret:whole-url", {}, {"whole-url": "json://h.example/x"}.__getitem__).url == \
        "json://h.example/x"
    assert DUMMY_SECRET not in resolved.url


def test_a_case_specific_role_goes_only_to_the_partner_the_case_names(directory):
    chosen = route(directory, "werkgever", case_choices({"partner_werkgever": "bakkerij_de_korenschoof"},
                                                        ["werkgever"]).get("werkgever"))

    assert [p.id for p in chosen] == ["bakkerij_de_korenschoof"]


def test_a_case_specific_role_without_a_choice_is_never_guessed(directory):
    result = route(directory, "werkgever", None)

    assert isinstance(result, Unroutable)
    assert "partner_werkgever" in result.nl


def test_a_case_naming_an_unknown_partner_has_no_recipient(directory):
    result = route(directory, "werkgever", "garage_onbekend")

    assert isinstance(result, Unroutable)
    assert "garage_onbekend" in result.en


def test_a_shared_role_goes_to_every_partner_listed_and_an_unlisted_role_to_no_one(directory):
    assert [p.id for p in route(directory, "coordinator", None)] == ["team_inburgering"]
    assert isinstance(route(directory, "inkomen", None), Unroutable)


def test_a_default_partner_serves_cases_that_name_none_and_only_one_default_per_role_is_allowed(catalog):
    school = {"organisation": "School", "urls": ["json://hooks.example/s"]}
    profile = Profile(kind="profile", id="p", name="P", partners={
        "coordinator": [{"id": "team", "organisation": "Team", "urls": ["json://hooks.example/t"]}],
        "taalaanbieder": [{"id": "regioschool", "default": True, **school}, {"id": "andere_school", **school}],
        "map_aanbieder": [{"id": "map_a", "default": True, **school}, {"id": "map_b", "default": True, **school}]})

    directory, problems = check_directory(profile, catalog, env={})

    assert [p.id for p in route(directory, "taalaanbieder", None)] == ["regioschool"]
    assert [p.id for p in route(directory, "taalaanbieder", "andere_school")] == ["andere_school"]
    assert [str(p) for p in problems] == ["p: map_aanbieder: map_b: een tweede standaardpartner voor deze rol "
                                          "(de eerste is map_a)"]


@pytest.mark.parametrize("name", ["example_nederweert.yaml", "example_tilburg.yaml"])
def test_the_partner_sections_proposed_for_the_example_profiles_load_without_their_secrets(catalog, name):
    profile = read_profile(name)

    directory, problems = check_directory(profile, catalog, env={})

    assert problems == []
    assert set(directory.roles) == set(catalog.roles) - {"inburgeraar"}
    assert (FIXTURES / name).read_text().count("${") > 5  # every secret is a reference

"""The partner directory of a municipality: who fills each role, and how to reach them (apprise URLs).

It is read from the `partners:` section of a municipality profile (process_definitions/profiles/):

```yaml
partners:
  coordinator:
    - id: team_inburgering
      organisation: Gemeente Rotterdam, team inburgering
      contact: Coördinator inburgering
      urls:
        - "mailto://${REGIE_SMTP_USER}:${REGIE_SMTP_PASSWORD}@smtp.rotterdam.example?to=inburgering@rotterdam.example"
        - "secret:regie-teams-coordinator"          # the whole URL in a Prefect Secret block
  taalaanbieder:
    - id: taalschool_delta
      organisation: Taalschool Delta
      contact: Planning
      urls: ["mailto://...?to=planning@delta.example"]
      language: nl          # nl (default) or en
      digest: daily         # false (default): one message per message; daily: one digest a day
      default: true         # case-specific role: used for cases that name no other partner
```

Secrets never live in the repository. A URL refers to them with `${ENV_VAR}` (an environment variable)
or `{{ prefect.blocks.secret.<block-name> }}` (a Prefect Secret block), or is entirely `secret:<block-name>`.
They are resolved when a message is sent (`resolve_url`), never when the directory is loaded, and the
values are never logged or stored. Values are inserted as they are: percent-encode special characters
of a password in the variable itself, as apprise expects.

Loading checks every URL with apprise (placeholders replaced by their value when the variable is set,
else by a dummy) and reports every problem at once as `profile: role: partner: what is wrong`.

Routing: a role whose catalogue has a `partner_<role>` data field is case-specific (the language school,
employer, job coach of this person): its messages go only to the partner the case names, never to a
guess, unless the profile marks one partner of the role `default: true` (the one regional language
school): then cases that name no partner get that one. Any other role (coordinator, klantregisseur,
...) goes to every partner listed for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from engine.definitions import Catalog, Profile
from engine.model_errors import explain

CASE_PARTNER_PREFIX = "partner_"
"""Case data field `partner_<role>` names the partner (by id) that fills `<role>` for this case."""
COORDINATOR = "coordinator"
"""The role that receives escalations and messages for a role without a recipient."""
NEVER_NOTIFIED = "inburgeraar"

_ENV = r"\$\{(?P<env>[A-Za-z_][A-Za-z0-9_]*)\}"
_BLOCK = r"\{\{\s*prefect\.blocks\.secret\.(?P<block>[a-z0-9][a-z0-9-]*)\s*\}\}"
PLACEHOLDER = re.compile(f"{_ENV}|{_BLOCK}")
WHOLE_SECRET = re.compile(r"^secret:(?P<block>[a-z0-9][a-z0-9-]*)$")
_ANY_PLACEHOLDER = re.compile(r"\$\{[^}]*\}|\{\{[^}]*\}\}")
# A value that fits every token pattern of the common plugins (Slack, Teams workflows, ntfy topics ...),
# so a URL with a secret that is not set can still be checked for its shape.
DUMMY_SECRET = "regie0dummy0secret"


class DirectoryError(Exception):
    """The partner directory has problems; every one is listed."""

    def __init__(self, problems: list["DirectoryProblem"]):
        self.problems = problems
        super().__init__("problemen in de partnerlijst:\n" + "\n".join(f"  {p}" for p in problems))


class SecretUnavailable(Exception):
    """A secret a URL refers to cannot be read now (variable not set, block not found)."""


@dataclass(frozen=True, order=True)
class DirectoryProblem:
    """One thing wrong in a profile's partner section."""

    profile: str
    role: str
    partner: str
    message: str

    def __str__(self) -> str:
        return f"{self.profile}: {self.role}: {self.partner}: {self.message}"


class Partner(BaseModel):
    """An organisation that fills a role, and how to reach it (URLs in order of preference)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="named by case data (partner_<role>)")
    organisation: str = Field(min_length=1)
    contact: str = Field("", description="contact person or desk; for people, never put into messages")
    urls: tuple[str, ...] = Field(min_length=1, description="apprise URLs; the first that works is used")
    language: Literal["nl", "en"] = "nl"
    digest: Literal[False, "daily"] = False
    default: bool = Field(False, description="for a case-specific role: the partner of every case that "
                                             "names no other (e.g. the one regional language school)")


@dataclass(frozen=True)
class Channel:
    """One URL of a partner as loaded: the text with its placeholders, and the apprise schema if known."""

    url: str
    schema: str | None
    """`mailto`, `json`, `slack`, ...; None for a `secret:` URL (known once the secret is read)"""


@dataclass(frozen=True)
class PartnerDirectory:
    """The checked partner section of one profile."""

    profile: str
    roles: Mapping[str, tuple[Partner, ...]]
    channels: Mapping[str, tuple[Channel, ...]]
    """partner id -> its URLs"""
    case_specific: frozenset[str]
    """roles whose recipient the case names (catalogue field `partner_<role>`)"""

    def partner(self, partner_id: str) -> Partner | None:
        """A partner by id, whatever its role."""
        for partners in self.roles.values():
            for partner in partners:
                if partner.id == partner_id:
                    return partner
        return None


def case_specific_roles(catalog: Catalog | None) -> frozenset[str]:
    """Roles with a `partner_<role>` data field in the catalogue."""
    if catalog is None:
        return frozenset()
    return frozenset(name.removeprefix(CASE_PARTNER_PREFIX) for name in catalog.data
                     if name.startswith(CASE_PARTNER_PREFIX) and name.removeprefix(CASE_PARTNER_PREFIX)
                     in catalog.roles)


def load_directory(profile: Profile, catalog: Catalog | None, env: Mapping[str, str] | None = None
                   ) -> PartnerDirectory:
    """The profile's partner directory; raises `DirectoryError` listing every problem."""
    directory, problems = check_directory(profile, catalog, env)
    if problems:
        raise DirectoryError(problems)
    return directory


def check_directory(profile: Profile, catalog: Catalog | None, env: Mapping[str, str] | None = None
                    ) -> tuple[PartnerDirectory, list[DirectoryProblem]]:
    """Read and check a profile's partners; returns what is usable and every problem found."""
    env = {} if env is None else env
    problems: list[DirectoryProblem] = []

    def problem(role: str, partner: str, message: str) -> None:
        problems.append(DirectoryProblem(profile.id, role, partner, message))

    roles: dict[str, tuple[Partner, ...]] = {}
    channels: dict[str, tuple[Channel, ...]] = {}
    seen: dict[str, str] = {}
    for role, entries in profile.partners.items():
        if catalog is not None and role not in catalog.roles:
            problem(role, "-", f"onbekende rol (bekend: {', '.join(sorted(catalog.roles))})")
            continue
        if role == NEVER_NOTIFIED:
            problem(role, "-", "Regie stuurt de inburgeraar nooit zelf berichten; noem alleen partners")
            continue
        if not isinstance(entries, list) or not entries:
            problem(role, "-", "verwacht een lijst partners")
            continue
        partners = []
        for index, entry in enumerate(entries):
            name = str(entry.get("id", f"#{index + 1}")) if isinstance(entry, dict) else f"#{index + 1}"
            try:
                partner = Partner.model_validate(entry)
            except ValidationError as exc:
                for error in exc.errors():
                    keys, message = explain(error, entry)
                    where = ".".join(str(p) for p in keys)
                    problem(role, name, f"{where}: {message}" if where else message)
                continue
            if partner.id in seen:
                problem(role, partner.id, f"partner-id twee keer gebruikt (ook bij {seen[partner.id]})")
                continue
            seen[partner.id] = role
            checked = []
            for n, url in enumerate(partner.urls, start=1):
                channel, message = check_url(url, env)
                if message:
                    problem(role, partner.id, f"url {n}: {message}")
                elif channel is not None:
                    checked.append(channel)
            if len(checked) == len(partner.urls):
                partners.append(partner)
                channels[partner.id] = tuple(checked)
        defaults = [p.id for p in partners if p.default]
        if len(defaults) > 1:
            problem(role, defaults[1], f"een tweede standaardpartner voor deze rol (de eerste is {defaults[0]})")
        roles[role] = tuple(partners)
    if catalog is not None and not roles.get(COORDINATOR) and not any(p.role == COORDINATOR for p in problems):
        problem(COORDINATOR, "-", "geen partner: de coördinator krijgt escalaties en berichten voor een rol "
                                  "zonder ontvanger")
    directory = PartnerDirectory(profile=profile.id, roles=roles, channels=channels,
                                 case_specific=case_specific_roles(catalog))
    return directory, sorted(problems)


def check_url(url: str, env: Mapping[str, str]) -> tuple[Channel | None, str | None]:
    """Check one URL with apprise; returns the channel, or a description of the problem (never the URL)."""
    import apprise  # here, not at import: loading the plugins is not free and the engine never needs it

    if WHOLE_SECRET.match(url):
        return Channel(url, None), None
    unknown = [p for p in _ANY_PLACEHOLDER.findall(url) if not PLACEHOLDER.fullmatch(p)]
    if unknown:
        return None, (f"onbekende plaatshouder {unknown[0]!r}: gebruik ${{ENV_VAR}}, "
                      "{{ prefect.blocks.secret.<naam> }} of secret:<naam>")
    has_placeholders = PLACEHOLDER.search(url) is not None
    candidate = PLACEHOLDER.sub(lambda m: env.get(m["env"], DUMMY_SECRET) if m["env"] else DUMMY_SECRET, url)
    parsed = apprise.plugins.url_to_dict(candidate)
    if parsed is None:
        return None, "apprise kent dit soort URL niet (onbekend of ontbrekend schema)"
    plugin = apprise.Apprise.instantiate(candidate)
    if plugin is None:
        return None, f"geen geldige {parsed['schema']}://-URL voor apprise (controleer de delen en opties)"
    if not has_placeholders and plugin.url(privacy=True) != plugin.url(privacy=False):
        return None, ("bevat een wachtwoord of token als leesbare tekst: zet het in een omgevingsvariabele (${NAAM}) "
                      "of een Prefect Secret-blok")
    return Channel(url, parsed["schema"]), None


@dataclass(frozen=True)
class ResolvedUrl:
    """A URL with its secrets filled in, and those secret values (to strip from any error text)."""

    url: str
    secrets: tuple[str, ...]


def resolve_url(url: str, env: Mapping[str, str], load_block: Callable[[str], str]) -> ResolvedUrl:
    """Fill in a URL's secrets now; raises `SecretUnavailable` naming the variable or block, not its value."""
    whole = WHOLE_SECRET.match(url)
    if whole:
        value = _block(whole["block"], load_block)
        return ResolvedUrl(value, (value,))
    secrets: list[str] = []

    def fill(match: re.Match[str]) -> str:
        if match["env"]:
            if match["env"] not in env:
                raise SecretUnavailable(f"omgevingsvariabele {match['env']} is niet gezet")
            value = env[match["env"]]
        else:
            value = _block(match["block"], load_block)
        secrets.append(value)
        return value

    return ResolvedUrl(PLACEHOLDER.sub(fill, url), tuple(secrets))


def _block(name: str, load_block: Callable[[str], str]) -> str:
    # The loader raises SecretUnavailable itself when the block is missing or Prefect is unreachable.
    value = load_block(name)
    if not value:
        raise SecretUnavailable(f"Prefect Secret-blok {name!r} is leeg")
    return value


def load_directories(profiles: Iterable[Profile], catalog: Catalog | None, env: Mapping[str, str]
                     ) -> dict[str, PartnerDirectory]:
    """The partner directory of every profile; raises `DirectoryError` listing every problem of all of them."""
    directories, problems = {}, []
    for profile in profiles:
        directory, found = check_directory(profile, catalog, env)
        directories[profile.id] = directory
        problems.extend(found)
    if problems:
        raise DirectoryError(sorted(problems))
    return directories

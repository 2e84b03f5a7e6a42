"""Messages to partners: catalogue templates rendered strictly, in Dutch or English, with a privacy guard.

- Rendering uses jinja2 with `StrictUndefined`: a variable the notification does not provide is an
  error (`MessageError`), never an empty gap in a message.
- Each message ends with where to act: the recipient's own partner-page link when the message asks
  them to do a step (`ActLink`, issued per message and recipient), else the inbox link in the Prefect
  UI when Regie knows its address, else the CLI command `regie case show <ref>`.
- Partners who prefer English get the template's `en` variant; a template without one is sent in
  Dutch with a one-line English note on top.
- The privacy guard runs before anything is rendered or sent: a context value that is BSN-shaped (nine
  digits passing the elfproef), a context key that names identifying or special-category data, a value
  of a special-category field, or a health word makes the render fail (`PrivacyRefused`). This
  covers the step names and instructions task messages carry too; tests/notifications/
  test_privacy_scan.py checks those once over all definitions, so a wording problem shows up in CI
  rather than as a refused message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from urllib.parse import quote

import jinja2
from jinja2 import meta

from engine.calendar import long_date
from engine.definitions import Catalog, Privacy, Template
from engine.people_time import day, moment

Language = Literal["nl", "en"]

HEALTH_WORDS = (
    # Dutch stems: a word starting with one of these is a health word (medisch, medische, ziekte, ...).
    # Ambiguous stems are left out on purpose ("behandel" also means handling an application).
    "medisch", "ziek", "diagnos", "psychi", "psycholo", "trauma", "ptss", "depressi", "angststoorn",
    "ontheffing", "gezondheid", "beperking", "handicap", "therap", "ggz", "verslav", "zwanger",
    "huisarts", "bedrijfsarts", "ziekenhuis", "medicijn", "medicatie", "burn-out", "burnout",
    "suïcid", "suicid", "zelfmoord", "arbeidsongeschikt",
    # English, for the English variants
    "medical", "illness", "sick", "psychiatr", "psycholog", "disab", "health", "therapy", "pregnan",
    "hospital", "doctor", "medication", "exemption",
)
"""The one list of health words (stems) that may never appear in what a partner receives."""
_HEALTH = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(w) for w in sorted(set(HEALTH_WORDS))) + r")[\w-]*",
                     re.IGNORECASE)

IDENTIFYING_NAMES = frozenset({
    "naam", "voornaam", "voornamen", "achternaam", "geslachtsnaam", "roepnaam", "bsn", "burgerservicenummer",
    "v_nummer", "vnummer", "anummer", "a_nummer", "adres", "straat", "huisnummer", "postcode", "woonplaats",
    "telefoon", "telefoonnummer", "mobiel", "email", "e_mail", "emailadres", "geboortedatum",
    "geboorteplaats", "nationaliteit", "iban", "name", "first_name", "last_name", "address", "phone",
    "date_of_birth", "birth_date",
})
"""Context keys that name identifying data, whatever the catalogue says about them."""

# Nine digits, also written in groups (1234.56.789, 123 456 789, 123.45.6789).
_BSN_SHAPED = re.compile(r"(?<!\d)(\d{9}|\d{4}[ .]\d{2}[ .]\d{3}|\d{3}[ .]\d{3}[ .]\d{3}|\d{3}[ .]\d{2}[ .]\d{4})"
                         r"(?!\d)")

SYSTEM_TEMPLATE_VARIABLES: Mapping[str, frozenset[str]] = {
    "geen_ontvanger": frozenset({"case_ref", "role", "message_kind", "problem", "uiterlijk"}),
    "bezorging_mislukt": frozenset({"case_ref", "role", "message_kind", "partner", "service", "sinds",
                                    "pogingen", "uiterlijk"}),
    "dagoverzicht": frozenset({"organisatie", "datum", "aantal", "berichten"}),
    # Reliability (issue 11): app/sweep.py sets a case aside; integrations/outages.py reports channels.
    "zaak_vastgelopen": frozenset({"case_ref", "fout", "sinds", "uiterlijk"}),
    "kanaal_storing": frozenset({"partner", "kanaal", "service", "sinds", "pogingen", "uiterlijk"}),
    "kanaal_hersteld": frozenset({"partner", "kanaal", "service", "sinds", "hersteld"}),
}
"""Templates Regie itself fills (not a process definition), with the variables it provides."""

_NO_ENGLISH_NOTE = "(No English version of this message yet; the Dutch text follows.)"
_VALUE_WORDS = {"nl": {None: "onbekend", True: "ja", False: "nee"},
                "en": {None: "unknown", True: "yes", False: "no"}}


class MessageError(Exception):
    """A template cannot be rendered (unknown template, missing variable, syntax error)."""


class PrivacyRefused(MessageError):
    """A context value would put identifying or health data into a message; nothing was sent."""


@dataclass(frozen=True)
class RenderedMessage:
    """A message ready to send: one subject line and a plain-text body."""

    template: str
    language: Language
    subject: str
    body: str


@dataclass(frozen=True)
class ActLink:
    """A partner's own link to the partner page for one step (issued per message and recipient)."""

    url: str
    last_day: date
    """the link works through this Dutch calendar day"""


@dataclass(frozen=True)
class WhereToAct:
    """Where the partner acts: their own link when the message asks them to do a step, else the Prefect
    UI's inbox for the case, else the CLI command."""

    ui_url: str | None = None
    inbox_path: str = "/runs?flowRuns.tags.name={tag}"

    def line(self, case_ref: str, language: Language, link: ActLink | None = None) -> str:
        """The closing line of a message about `case_ref`."""
        if link is not None:
            until = long_date(link.last_day, language)
            return (f"Waar: op de partnerpagina van Regie, met uw eigen link (één keer te gebruiken, werkt tot en "
                    f"met {until}):\n{link.url}" if language == "nl" else
                    f"Where: on Regie's partner page, with your own link (use it once; it works through "
                    f"{until}):\n{link.url}")
        if self.ui_url:
            link = self.ui_url.rstrip("/") + self.inbox_path.format(tag=quote(f"case:{case_ref}", safe=""))
            return f"Waar: {link}" if language == "nl" else f"Where: {link}"
        command = f"regie case show {case_ref}"
        return (f"Waar: in Regie, met de opdracht: {command}" if language == "nl"
                else f"Where: in Regie, with the command: {command}")


def elfproef(digits: str) -> bool:
    """Whether nine digits pass the BSN eleven test (weights 9..2 and -1)."""
    if len(digits) != 9 or not digits.isdigit() or digits == "000000000":
        return False
    weights = (9, 8, 7, 6, 5, 4, 3, 2, -1)
    return sum(int(d) * w for d, w in zip(digits, weights)) % 11 == 0


def bsn_like(text: str) -> list[str]:
    """BSN-shaped numbers in a text: nine digits (also grouped with spaces or dots) passing the elfproef."""
    found = []
    for match in _BSN_SHAPED.finditer(text):
        digits = re.sub(r"\D", "", match.group(1))
        if elfproef(digits):
            found.append(match.group(1))
    return found


def health_words(text: str) -> list[str]:
    """Health words (see HEALTH_WORDS) found in a text."""
    return [m.group(0) for m in _HEALTH.finditer(text)]


class MessageRenderer:
    """Renders catalogue templates for one catalogue; built once, used from any thread."""

    def __init__(self, catalog: Catalog, where: WhereToAct | None = None):
        self.catalog = catalog
        self.where = where or WhereToAct()
        self._envs = {language: _environment(language) for language in ("nl", "en")}
        self._compiled: dict[tuple[str, str], tuple[jinja2.Template, jinja2.Template]] = {}
        self.variables: dict[str, frozenset[str]] = {}
        problems = []
        for name, template in catalog.templates.items():
            try:
                self._compile(name, template)
            except MessageError as exc:
                problems.append(str(exc))
        if problems:
            raise MessageError("berichtsjablonen die niet te gebruiken zijn:\n  " + "\n  ".join(problems))
        self._forbidden_keys = IDENTIFYING_NAMES | {
            name for name, field in catalog.data.items() if not field.privacy.may_leave_case_store}
        self._special_values = {str(v).lower() for field in catalog.data.values()
                                if field.privacy is Privacy.special and field.values for v in field.values}

    def _compile(self, name: str, template: Template) -> None:
        texts = {"nl": (template.subject, template.body)}
        if template.en is not None:
            texts["en"] = (template.en.subject, template.en.body)
        used = {}
        for language, (subject, body) in texts.items():
            env = self._envs[language]
            try:
                self._compiled[(name, language)] = (env.from_string(subject), env.from_string(body))
                used[language] = meta.find_undeclared_variables(env.parse(subject)) | \
                    meta.find_undeclared_variables(env.parse(body))
            except jinja2.TemplateSyntaxError as exc:
                raise MessageError(f"{name} ({language}): {exc.message} (regel {exc.lineno})") from None
        extra = used.get("en", set()) - used["nl"]
        if extra:
            raise MessageError(f"{name}: de Engelse tekst gebruikt {', '.join(sorted(extra))}, de Nederlandse niet; "
                               "een melding die de Nederlandse tekst vult, zou dat missen")
        self.variables[name] = frozenset(used["nl"])

    def check_privacy(self, context: Mapping[str, Any]) -> None:
        """Raise `PrivacyRefused` when a context key or value could carry personal or health data."""
        for key, value in context.items():
            if key.lower() in self._forbidden_keys:
                raise PrivacyRefused(f"contextsleutel {key!r} noemt identificerende of bijzondere persoonsgegevens")
            for text in _texts(value):
                if bsn_like(text):
                    raise PrivacyRefused(f"contextwaarde van {key!r} bevat een nummer dat op een BSN lijkt")
                if text.strip().lower() in self._special_values:
                    raise PrivacyRefused(f"contextwaarde van {key!r} is een waarde van een veld met bijzondere "
                                         "persoonsgegevens")
                words = health_words(text)
                if words:
                    # The word itself is not repeated: this text is stored with the case ref (outbox, ledger)
                    # and may show in a run's failure message.
                    raise PrivacyRefused(f"contextwaarde van {key!r} bevat een gezondheidswoord (niet herhaald)")

    def render(self, template: str, context: Mapping[str, Any], language: Language, case_ref: str,
               link: ActLink | None = None) -> RenderedMessage:
        """Subject and body of `template` for `case_ref` in `language` (Dutch if there is no English),
        ending with where to act: `link` when the message asks the recipient to do a step."""
        self.check_privacy(context)
        return self._render(template, context, language, case_ref, link)

    def render_digest(self, organisation: str, day: date, messages: Sequence[RenderedMessage],
                      language: Language) -> RenderedMessage:
        """One digest of already rendered (and so already guarded) messages."""
        own = {"organisatie": organisation, "datum": day.isoformat(), "aantal": len(messages)}
        self.check_privacy(own)
        separator = "\n" + "-" * 40 + "\n"
        items = separator.join(f"{n}. {m.subject}\n{m.body}" for n, m in enumerate(messages, start=1))
        return self._render("dagoverzicht", {**own, "berichten": separator + items}, language, None)

    def _render(self, template: str, context: Mapping[str, Any], language: Language, case_ref: str | None,
                link: ActLink | None = None) -> RenderedMessage:
        if template not in self.catalog.templates:
            raise MessageError(f"onbekend berichtsjabloon {template!r}")
        chosen: Language = language if (template, language) in self._compiled else "nl"
        subject_t, body_t = self._compiled[(template, chosen)]
        try:
            subject = " ".join(subject_t.render(context).split())
            body = body_t.render(context).strip()
        except jinja2.UndefinedError as exc:
            raise MessageError(f"berichtsjabloon {template!r} ({chosen}): {exc.message}") from None
        if chosen != language:
            body = f"{_NO_ENGLISH_NOTE}\n\n{body}"
        if case_ref is not None:
            body = f"{body}\n\n{self.where.line(case_ref, language, link)}"
        return RenderedMessage(template=template, language=language, subject=subject, body=body)


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

def _environment(language: Language) -> jinja2.Environment:
    words = _VALUE_WORDS[language]

    def finalize(value: Any) -> Any:
        # None, True and False would read as Python; dates (which arrive as ISO text, through the outbox's
        # JSON) as people here write them: 16-03-2026, an instant in Amsterdam time with the zone named.
        if value is None or isinstance(value, bool):
            return words[value]
        if isinstance(value, datetime):
            return moment(value)
        if isinstance(value, date):
            return day(value)
        if isinstance(value, str) and _ISO_DAY.fullmatch(value):
            try:
                return day(date.fromisoformat(value))
            except ValueError:  # looks like a date but is none (2026-02-31): show it as it came
                return value
        return value

    return jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, finalize=finalize,
                              keep_trailing_newline=False)


def _texts(value: Any) -> list[str]:
    """Every piece of text in a context value (values may be lists or mappings)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [t for k, v in value.items() for t in (*_texts(k), *_texts(v))]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [t for v in value for t in _texts(v)]
    if isinstance(value, int) and not isinstance(value, bool):
        return [str(value)]
    return []

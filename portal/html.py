"""The partner page's HTML: Dutch, plain (no JavaScript), escaped by jinja2, styled by one stylesheet.

Pages use relative addresses only (`../portal.css`, `action=""`), so the portal works the same on its
own port and behind a reverse proxy under a path of its own.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from app.links.forms import MAX_TEXT, words
from app.links.outcomes import Done, Refusal
from app.links.pages import LinkPage

HERE = Path(__file__).resolve().parent
STYLESHEET = (HERE / "static" / "portal.css").read_bytes()

_env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                          undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)

NOTHING_CHANGED = "Er is niets veranderd."
ASK = "Hebt u een nieuwe link nodig? Vraag het de klantregisseur van de gemeente."


def link_page(page: LinkPage, form_token: str) -> str:
    """A valid link: the step, the form, the signals on offer."""
    return _env.get_template("page.html").render(title=page.title, root="../", page=page,
                                                 role_words=words(page.role), form_token=form_token,
                                                 max_text=MAX_TEXT)


def done_page(done: Done) -> str:
    """What a partner sees after a submission changed the case."""
    if done.kind == "step":
        heading = "Dank u, de stap is afgerond"
        sentence = f"U hebt ‘{done.title}’ afgerond voor zaak {done.case_ref}."
    else:
        heading = "Dank u, uw melding is verstuurd"
        sentence = f"Uw melding ‘{done.title}’ voor zaak {done.case_ref} is ontvangen."
    return _env.get_template("done.html").render(title=heading, root="../", heading=heading, sentence=sentence,
                                                 done=done)


def refusal_page(refusal: Refusal) -> tuple[int, str]:
    """(HTTP status, page) for a link that does nothing; every page says that nothing changed."""
    what = f"‘{refusal.title}’ voor zaak {refusal.case_ref}" if refusal.case_ref else ""
    when = refusal.when
    texts: dict[str, tuple[int, str, list[str]]] = {
        "ongeldig": (404, "Deze link werkt niet", [
            "De link is niet geldig. Misschien is hij niet helemaal overgenomen uit het bericht.",
            "Open de link opnieuw vanuit het bericht van Regie. " + ASK, NOTHING_CHANGED]),
        "gebruikt": (410, "Deze link is al gebruikt", [
            f"Deze link is op {when} al gebruikt voor zaak {refusal.case_ref}: ‘{refusal.title}’. Een link "
            "werkt maar één keer.",
            NOTHING_CHANGED]),
        "ingetrokken": (410, "Deze link is vervangen", [
            f"Er is een nieuwere link verstuurd voor {what}. Gebruik de link uit het nieuwste bericht.",
            NOTHING_CHANGED]),
        "verlopen": (410, "Deze link is verlopen", [
            f"De link voor {what} werkte tot en met {when}.", ASK, NOTHING_CHANGED]),
        "afgerond": (410, "Deze stap is al klaar", [
            f"{what[0].upper() + what[1:] if what else 'De stap'} is al afgerond of is niet meer nodig. "
            "U hoeft niets meer te doen.", NOTHING_CHANGED]),
        "niet_nodig": (410, "Deze melding kan nu niet", [
            f"Zaak {refusal.case_ref} verwacht deze melding nu niet. Neem contact op met de klantregisseur.",
            NOTHING_CHANGED]),
        "bezig": (409, "Even geduld", [
            "Deze link wordt op dit moment al gebruikt. Open de link over een paar minuten opnieuw: dan ziet u "
            "of het gelukt is.", NOTHING_CHANGED]),
    }
    status, title, lines = texts[refusal.reason]
    return status, message_page(title, lines)


def message_page(title: str, lines: list[str], root: str = "../") -> str:
    """A page with a heading and a few sentences (refusals, errors)."""
    return _env.get_template("message.html").render(title=title, lines=lines, root=root)


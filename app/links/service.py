"""Issuing partner links and acting on them: the one place that decides what a link may do.

A link is bound to a case, a step (or, for a signal link, a message), a role and a recipient (a
partner id from the municipality's partner list). It works through the last day of its lifetime (the
profile's `partner_links.lifetime`, else `REGIE_LINK_LIFETIME`), once: the first submission that
changes the case uses it up. A newer link for the same step and recipient revokes the older one.

What a partner does through a link goes through the same `CaseService` calls as the inbox and the
CLI (`complete_step`, `deliver_message`), recorded in the history as done by `link:<role>:<partner>`.
Using a link is claimed in the store first, so two submissions at once cannot both act; when the
service refuses the change (the step closed meanwhile, the case changed), the claim is given back and
nothing is used up. On a step page the partner may also send the signals their role may send
(`senders:` in the catalogue) that the case listens for now; since that uses up the link too, the
partner gets a fresh link for the step on the confirmation page.

Errors for the portal are values (`Refusal`), not exceptions: every way a link can fail has its own
Dutch page. Operators' calls (`issue`, from `regie partner-link`) raise `LinkNotIssued`, also in Dutch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Literal

from app.cases import CaseService
from app.links import tokens
from app.links.outcomes import Done, Issued, LinkNotIssued, Refusal
from app.links.pages import Action, LinkPage, build_page, signal_specs, signal_title
from app.links.recipients import routed_recipient
from app.views import CaseView, TaskView
from engine.calendar import local_date, long_date, start_of_day
from engine.commands import NotifyRole
from engine.durations import parse_duration
from engine.errors import EngineError, MessageNotExpected
from engine.events import MessageReceived
from integrations.messages import ActLink
from store import links as link_store
from store import queries
from store.errors import CaseNotFound, StoreError
from store.links import LinkRecord

LEASE = timedelta(minutes=2)
"""How long a submission holds its link; a portal that died mid-submission frees it after this."""


class PartnerLinks:
    """Issues, checks and uses partner links for one case store."""

    def __init__(self, service: CaseService, *, key: Callable[[], bytes], base_url: str, lifetime: str,
                 env: Mapping[str, str] | None = None, lease: timedelta = LEASE):
        self.service = service
        self._key_source = key
        self._key: bytes | None = None
        self.base_url = base_url.rstrip("/")
        self.lifetime = lifetime
        self.env = os.environ if env is None else env
        self.lease = lease

    @property
    def key(self) -> bytes:
        """The signing key, read once when first needed (a Secret block needs the Prefect API)."""
        if self._key is None:
            self._key = self._key_source()
        return self._key

    # --- issuing -----------------------------------------------------------------------------------

    def for_notice(self, command: NotifyRole, recipient: str) -> ActLink | None:
        """The link a partner message carries: for a message about a task, to the role that must do it
        (a new task, its reminders); None for every other message (escalations, plain news)."""
        context = command.context
        task_id, step = context.get("task_id"), context.get("step")
        if not (isinstance(task_id, str) and isinstance(step, str) and context.get("role") == command.role):
            return None
        issued = self._issue(command.case_ref, kind="step", step=step, task_id=task_id, role=command.role,
                             recipient=recipient)
        return ActLink(issued.url, issued.last_day)

    def issue(self, case_ref: str, step: str, *, role: str | None = None, recipient: str | None = None) -> Issued:
        """A fresh link for an open step (by step or task id) or for a signal (a message the role may
        send); the recipient defaults to the partner the case's profile routes the role to."""
        view = self.service.show_case(case_ref, history=0)
        task = _open_task(view, step)
        if task is not None:
            role = role or task.role
            if role != task.role:
                raise LinkNotIssued(f"stap {task.step} van zaak {case_ref} is voor rol {task.role}, niet {role}")
            kind, target, task_id = "step", task.step, task.task_id
        else:
            message = self._catalog_message(step)
            if message is None:
                open_steps = ", ".join(t.task_id for t in view.open_tasks) or "geen"
                raise LinkNotIssued(f"zaak {case_ref} heeft geen open stap {step!r} (open: {open_steps}), en "
                                    f"{step!r} is geen bericht dat partners mogen sturen")
            if role is None or role not in message.senders:
                raise LinkNotIssued(f"noem met --role de rol die {step!r} stuurt (rollen die dat mogen: "
                                    f"{', '.join(message.senders) or 'geen'})")
            if not self._listens(case_ref, step, role, recipient or "-"):
                raise LinkNotIssued(f"zaak {case_ref} neemt {step!r} nu niet aan: niets in de zaak wacht erop")
            kind, target, task_id = "signal", step, None
        recipient = recipient or routed_recipient(self.service, case_ref, view.profile, role, self.env)
        return self._issue(case_ref, kind=kind, step=target, task_id=task_id, role=role, recipient=recipient)

    def _issue(self, case_ref: str, *, kind: Literal["step", "signal"], step: str, task_id: str | None, role: str,
               recipient: str) -> Issued:
        now = self.service.now()
        expires_at = start_of_day(self._last_day(case_ref, now) + timedelta(days=1))
        link = LinkRecord(id=tokens.new_link_id(), case_ref=case_ref, kind=kind, step=step, task_id=task_id,
                          role=role, recipient=recipient, issued_at=now, expires_at=expires_at)
        link_store.issue(self.service.engine, link)
        return Issued(url=self.url(link), last_day=_last_day(link),
                      case_ref=case_ref, step=step, role=role, recipient=recipient)

    def form_token(self, token: str, nonce: str) -> str:
        """What a page's forms carry so a post is known to come from that page (with the cookie `nonce`)."""
        return tokens.form_token(self.key, token, nonce)

    def form_token_ok(self, token: str, nonce: str, posted: str) -> bool:
        """Whether a posted form token belongs to this link and this browser's nonce (constant time)."""
        return tokens.same(posted, self.form_token(token, nonce))

    def url(self, link: LinkRecord) -> str:
        """The address of a link (the token is the last part of the path)."""
        return f"{self.base_url}/l/{tokens.make_token(self.key, link)}"

    def _last_day(self, case_ref: str, now: datetime) -> date:
        facts = queries.routing_facts(self.service.engine, case_ref)
        if facts is None:
            raise CaseNotFound(case_ref)
        profile = self.service.library.profiles.get(facts[0] or "")
        lifetime = (profile.partner_links.lifetime if profile else None) or self.lifetime
        return parse_duration(lifetime).after(local_date(now))

    # --- checking and using ------------------------------------------------------------------------

    def open(self, token: str) -> LinkPage | Refusal:
        """The page a valid link opens, or why it does nothing."""
        checked = self.check(token)
        if isinstance(checked, Refusal):
            return checked
        link, view, task = checked
        return self._page(link, view, task)

    def check(self, token: str) -> tuple[LinkRecord, CaseView, TaskView | None] | Refusal:
        """The link a token stands for, if it may act now (signature, revocation, use, expiry, step)."""
        link_id = tokens.link_id(token)
        link = link_store.get(self.service.engine, link_id) if link_id else None
        if link is None or not tokens.signed_for(self.key, token, link):
            return Refusal("ongeldig")
        now = self.service.now()
        if link.used_at is not None:
            kind, _, done = (link.outcome or f"{link.kind} {link.step}").partition(" ")
            title = self._title(replace(link, kind=kind, step=done.split(" ")[0])) if kind in ("step", "signal") \
                else self._title(link)
            return Refusal("gebruikt", link.case_ref, title, long_date(local_date(link.used_at)))
        if link.revoked_at is not None:
            return Refusal("ingetrokken", link.case_ref, self._title(link))
        if now >= link.expires_at:
            return Refusal("verlopen", link.case_ref, self._title(link), long_date(_last_day(link)))
        if link.claimed_until is not None and link.claimed_until > now:
            return Refusal("bezig", link.case_ref, self._title(link))  # another submission is acting on it
        try:
            view = self.service.show_case(link.case_ref, history=0)
        except CaseNotFound:
            return Refusal("ongeldig")
        task = _open_task(view, link.task_id) if link.kind == "step" and link.task_id else None
        if view.status != "active" or (link.kind == "step" and task is None):
            return Refusal("afgerond", link.case_ref, self._title(link))
        if link.kind == "signal" and not self._listens(link.case_ref, link.step, link.role, link.recipient):
            return Refusal("niet_nodig", link.case_ref, self._title(link))
        return link, view, task

    def submit(self, token: str, action: str, posted: Mapping[str, str]) -> Done | LinkPage | Refusal:
        """Act on a posted form: complete the step (`action` "stap") or send a signal (`action` is its
        message). The page again, with Dutch errors, when the form does not fit; nothing changes then."""
        checked = self.check(token)
        if isinstance(checked, Refusal):
            return checked
        link, view, task = checked
        page = self._page(link, view, task)
        chosen = next((a for a in page.actions if a.id == action), None)
        if chosen is None:
            return page  # an action this page does not offer (an old page, or a made-up post)
        data, errors = chosen.read(posted)
        if errors:
            return page.with_errors(action, posted, errors)
        if not link_store.claim(self.service.engine, link.id, self.service.now(), self.lease):
            again = self.check(token)  # used, revoked or expired a moment ago; else another post holds it
            return again if isinstance(again, Refusal) else Refusal("bezig", link.case_ref, self._title(link))
        actor = f"link:{link.role}:{link.recipient}"
        try:
            if chosen.kind == "step":
                changed = self.service.complete_step(case_ref=link.case_ref, task=link.task_id or link.step, data=data,
                                                     actor=actor)
            else:
                changed = self.service.deliver_message(case_ref=link.case_ref, message=chosen.id, data=data,
                                                       actor=actor)
        except (EngineError, StoreError):
            # The service changed nothing (the step closed meanwhile, the case moved on): the link stays
            # usable, and checking it again gives the partner the page that now applies.
            link_store.release(self.service.engine, link.id)
            again = self.check(token)
            return again if isinstance(again, Refusal) else self._page(*again)
        except BaseException:
            link_store.release(self.service.engine, link.id)
            raise
        outcome = f"{chosen.kind} {chosen.id} by {actor}"
        link_store.finish(self.service.engine, link.id, at=self.service.now(), outcome=outcome,
                          case_version=changed.version)
        return self._done(link, chosen, changed)

    def _done(self, link: LinkRecord, chosen: Action, changed: CaseView) -> Done:
        next_url, next_title = None, ""
        if chosen.kind == "signal" and link.kind == "step" and _open_task(changed, link.task_id or "") is not None:
            successor = replace(link, id=tokens.new_link_id(), issued_at=self.service.now())
            link_store.issue(self.service.engine, successor)
            next_url, next_title = self.url(successor), self._title(link)
        return Done(case_ref=link.case_ref, title=chosen.title, kind=chosen.kind, version=changed.version,
                    next_url=next_url, next_title=next_title)

    # --- what the page offers ----------------------------------------------------------------------

    def _page(self, link: LinkRecord, view: CaseView, task: TaskView | None) -> LinkPage:
        catalog = self.service.library.catalog
        signals = []
        wanted = [link.step] if link.kind == "signal" else \
            [name for name, message in (catalog.messages.items() if catalog else ()) if link.role in message.senders]
        for name in wanted:
            if link.kind == "signal" or self._listens(link.case_ref, name, link.role, link.recipient):
                signals.append((name, catalog.messages[name].description, signal_specs(catalog, name)))
        return build_page(case_ref=link.case_ref, role=link.role, task=task, signals=signals,
                          valid_until=long_date(_last_day(link)), today=local_date(self.service.now()))

    def _listens(self, case_ref: str, message: str, role: str, recipient: str) -> bool:
        """Whether the case would take this message now (a dry run of the engine; nothing is saved)."""
        event = MessageReceived(message=message, actor=f"link:{role}:{recipient}")
        try:
            self.service.prepare_change(case_ref, event)
        except MessageNotExpected:
            return False
        except EngineError:
            return True  # it listens, but wants data the real signal will bring
        return True

    def _catalog_message(self, name: str):  # noqa: ANN202 - engine.catalog.MessageKind | None
        catalog = self.service.library.catalog
        return catalog.messages.get(name) if catalog else None

    def _title(self, link: LinkRecord) -> str:
        """The step's name (or the signal's name), for pages that say what the link was for."""
        if link.kind == "signal":
            return signal_title(link.step)
        record = queries.load_case(self.service.engine, link.case_ref)
        if record is not None:
            process = self.service.process_for(record.definition, record.profile)
            for elements in process.elements.values():
                name = getattr(elements.get(link.step), "name", None)
                if name:
                    return name
        return link.step


def _last_day(link: LinkRecord) -> date:
    """The Dutch calendar day a link works through (it expires at the start of the next)."""
    return local_date(link.expires_at - timedelta(seconds=1))


def _open_task(view: CaseView, name: str) -> TaskView | None:
    """The open task a name means: by task id, or by step when only one of that step is open."""
    exact = [t for t in view.open_tasks if t.task_id == name]
    by_step = [t for t in view.open_tasks if t.step == name]
    if exact:
        return exact[0]
    return by_step[0] if len(by_step) == 1 else None

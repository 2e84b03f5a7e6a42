"""Partner links through the service layer: which messages carry one, how long it works, what it does once,
and every way it refuses (used, replaced, expired, tampered, the step done elsewhere) without changing
anything. The case is a gezinsmigrant in Portaaldorp (the Nederweert case file) whose language school
must start the lessons."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest

from app.links.outcomes import Done, LinkNotIssued, Refusal
from app.links.pages import STEP, LinkPage
from store import links as link_store
from store.links import LinkRecord
from tests.portal.conftest import CASE, Partners, lessons_to_start, token_of

SCHOOL = "planning@delta.example"
KR = "klantregie@portaaldorp.example"


def version(p: Partners) -> int:
    return p.service.show_case(CASE, history=0).version


def test_a_task_message_carries_a_link_for_its_role_and_other_messages_keep_the_usual_line(partners):
    partners.replay("lesrooster_gewijzigd", stop_before="lessen_starten")
    partners.deliver()
    task_mail = next(m for m in partners.mails_to(SCHOOL) if "Lessen starten" in m.subject)
    news_mail = next(m for m in partners.mails_to(SCHOOL) if "PIP vastgesteld" in m.subject)
    escalation = next(m for m in partners.smtp.mails if "wacht op kinderopvang of vervoer" in m.subject)
    own_task = next(m for m in partners.mails_to(KR) if "Aanmelden bij PVT" in m.subject)

    assert "partnerpagina van Regie" in task_mail.text and "/l/1" in task_mail.text
    assert "werkt tot en met 25 mei 2026" in task_mail.text  # issued 15 May; Portaaldorp's links work 10 days
    assert "/l/" not in news_mail.text and "regie case show PD-2026-0316" in news_mail.text
    assert "/l/" not in escalation.text
    assert "/l/1" in own_task.text  # the klantregisseur's own tasks carry one too: any role may act from a link


def test_the_page_shows_the_step_what_to_do_the_deadline_and_the_form_and_nothing_personal(school):
    page = school.links.open(token_of(school.link_in_last_mail_to(SCHOOL)))

    assert isinstance(page, LinkPage)
    assert (page.case_ref, page.role, page.title, page.due) == (CASE, "taalaanbieder", "Lessen starten", "5 juni 2026")
    assert "Neem de inburgeraar op in een groep" in page.instructions
    assert page.valid_until == "25 mei 2026"
    assert [(f.name, f.label, f.type, f.required) for f in page.step.fields] == \
        [("lesstart_datum", "Datum eerste les", "date", True)]
    # The school may report absence and a changed lesson schedule: the case listens for both now.
    assert [s.id for s in page.signals] == ["lesrooster_gewijzigd", "uitval_signaal"]
    shown = repr(page)
    assert "Amina" not in shown and "999990019" not in shown and "b1_route" not in shown


def test_submitting_the_form_completes_the_step_as_the_partner_via_the_link(school):
    token = token_of(school.link_in_last_mail_to(SCHOOL))
    before = version(school)

    done = school.links.submit(token, STEP, {"lesstart_datum": "25-05-2026"})

    assert isinstance(done, Done) and done.kind == "step" and done.version == before + 1
    view = school.service.show_case(CASE)
    assert "lessen_starten" not in [t.step for t in view.open_tasks]
    completed = next(h for h in view.history if h.kind == "task_completed" and h.ref == "lessen_starten")
    assert completed.actor == "link:taalaanbieder:taalschool_delta"
    assert "door link:taalaanbieder:taalschool_delta" in completed.detail


def test_after_the_step_the_inbox_entry_closes_as_done_elsewhere_and_the_next_one_is_told(school):
    token = token_of(school.link_in_last_mail_to(SCHOOL))
    task_id = next(t.task_id for t in school.service.show_case(CASE).open_tasks if t.step == "lessen_starten")

    school.links.submit(token, STEP, {"lesstart_datum": "2026-05-25"})
    school.deliver()

    assert (CASE, task_id, "completed") in school.channels.closed
    assert any("leerroute" in m.subject.lower() for m in school.mails_to(KR))


def test_a_link_works_once_a_replay_changes_nothing(school):
    token = token_of(school.link_in_last_mail_to(SCHOOL))
    school.links.submit(token, STEP, {"lesstart_datum": "2026-05-25"})
    after = version(school)

    again = school.links.submit(token, STEP, {"lesstart_datum": "2026-06-01"})

    assert isinstance(again, Refusal) and again.reason == "gebruikt" and again.when == "15 mei 2026"
    assert version(school) == after
    assert school.service.show_case(CASE).data["lesstart_datum"] == "2026-05-25"
    assert school.links.open(token) == again


def test_a_new_link_for_the_same_step_and_partner_replaces_the_old_one(school):
    old = token_of(school.link_in_last_mail_to(SCHOOL))

    issued = school.links.issue(CASE, "lessen_starten")

    assert issued.recipient == "taalschool_delta" and issued.role == "taalaanbieder"
    refused = school.links.submit(old, STEP, {"lesstart_datum": "2026-05-25"})
    assert isinstance(refused, Refusal) and refused.reason == "ingetrokken"
    assert "lessen_starten" in [t.step for t in school.service.show_case(CASE).open_tasks]
    assert isinstance(school.links.submit(token_of(issued.url), STEP, {"lesstart_datum": "2026-05-25"}), Done)


def test_a_link_for_another_partner_of_the_same_step_stays_valid(school):
    mine = token_of(school.link_in_last_mail_to(SCHOOL))

    school.links.issue(CASE, "lessen_starten", recipient="andere_school_via_telefoon")

    assert isinstance(school.links.open(mine), LinkPage)


def test_a_link_expires_after_its_last_day(school):
    token = token_of(school.link_in_last_mail_to(SCHOOL))
    school.at(date(2026, 5, 25), hour=23)
    assert isinstance(school.links.open(token), LinkPage)

    school.at(date(2026, 5, 26), hour=0)
    refused = school.links.submit(token, STEP, {"lesstart_datum": "2026-05-25"})

    assert isinstance(refused, Refusal) and (refused.reason, refused.when) == ("verlopen", "25 mei 2026")
    assert "lessen_starten" in [t.step for t in school.service.show_case(CASE).open_tasks]


def test_a_link_lives_as_long_as_regie_says_where_the_profile_says_nothing(partners_on, engine, library):
    partners = partners_on(engine, lifetime="P3W")
    profile = library.profiles["portaaldorp"]
    object.__setattr__(profile.partner_links, "lifetime", None)  # this test only: a profile without the setting
    try:
        partners.replay("lesrooster_gewijzigd", stop_before="lessen_starten")
        issued = partners.links.issue(CASE, "lessen_starten")
    finally:
        object.__setattr__(profile.partner_links, "lifetime", "P10D")

    assert issued.last_day == date(2026, 6, 5)  # 15 May + three weeks


def test_a_tampered_token_is_refused_and_changes_nothing(school):
    token = token_of(school.link_in_last_mail_to(SCHOOL))
    before = version(school)

    for bad in (token[:-1] + ("x" if token[-1] != "x" else "y"), token[:20] + token[21:] + "A", "1" + "A" * 70,
                "niet-een-link"):
        refused = school.links.submit(bad, STEP, {"lesstart_datum": "2026-05-25"})
        assert isinstance(refused, Refusal) and refused.reason == "ongeldig" and refused.case_ref == ""

    assert version(school) == before


def test_a_step_done_elsewhere_closes_its_link(school):
    token = token_of(school.link_in_last_mail_to(SCHOOL))
    school.service.complete_step(case_ref=CASE, task="lessen_starten", data={"lesstart_datum": "2026-05-25"},
                                 actor="kr-017")

    refused = school.links.open(token)

    assert isinstance(refused, Refusal) and refused.reason == "afgerond" and refused.title == "Lessen starten"


def test_a_form_that_does_not_fit_gets_dutch_errors_and_leaves_the_link_usable(school):
    token = token_of(school.link_in_last_mail_to(SCHOOL))
    before = version(school)

    page = school.links.submit(token, STEP, {"lesstart_datum": "31-02-2026"})

    assert isinstance(page, LinkPage) and page.failed == STEP
    assert page.step.fields[0].error == "Vul een bestaande datum in, bijvoorbeeld 16-03-2026."
    assert page.step.fields[0].value == "31-02-2026"
    assert version(school) == before
    assert isinstance(school.links.submit(token, STEP, {"lesstart_datum": "2026-05-25"}), Done)


def test_fields_the_form_does_not_have_are_ignored(school):
    token = token_of(school.link_in_last_mail_to(SCHOOL))

    school.links.submit(token, STEP, {"lesstart_datum": "2026-05-25", "leerroute": "z_route", "naam": "X"})

    data = school.service.show_case(CASE).data
    assert data["leerroute"] == "b1_route" and data["lesstart_datum"] == "2026-05-25" and "naam" not in data
    assert school.service.personal_data(CASE)["naam"] == "Amina Yusuf"


def test_a_signal_from_the_step_page_reaches_the_case_and_gives_a_fresh_link_for_the_step(school):
    token = token_of(school.link_in_last_mail_to(SCHOOL))

    done = school.links.submit(token, "uitval_signaal", {"uitval_soort": "verzuim"})

    assert isinstance(done, Done) and done.kind == "signal" and done.next_title == "Lessen starten"
    view = school.service.show_case(CASE)
    received = next(h for h in view.history if h.kind == "message_received" and h.ref == "uitval_signaal")
    assert received.actor == "link:taalaanbieder:taalschool_delta"
    assert isinstance(school.links.open(token), Refusal)
    assert isinstance(school.links.submit(token_of(done.next_url), STEP, {"lesstart_datum": "2026-05-25"}), Done)
    school.deliver()
    assert any("dreigende uitval" in m.subject for m in school.mails_to(KR))


def test_a_signal_needs_its_data_and_a_signal_the_role_may_not_send_is_not_offered(school):
    token = token_of(school.link_in_last_mail_to(SCHOOL))
    before = version(school)

    missing = school.links.submit(token, "uitval_signaal", {})
    not_ours = school.links.submit(token, "frictie_gemeld", {})
    not_a_signal = school.links.submit(token, "verlenging_toegekend", {"nieuwe_einddatum_termijn": "2030-01-01"})

    assert isinstance(missing, LinkPage) and missing.signals[1].fields[0].error == "Kies een van de mogelijkheden."
    assert isinstance(not_ours, LinkPage) and not_ours.failed is None
    assert isinstance(not_a_signal, LinkPage) and not_a_signal.failed is None
    assert version(school) == before


def test_an_operator_issues_a_signal_link_for_a_role_that_may_send_it(school):
    issued = school.links.issue(CASE, "lesrooster_gewijzigd", role="taalaanbieder")

    page = school.links.open(token_of(issued.url))
    assert isinstance(page, LinkPage) and page.step is None and [s.id for s in page.signals] == ["lesrooster_gewijzigd"]
    done = school.links.submit(token_of(issued.url), "lesrooster_gewijzigd", {"lesrooster_ingangsdatum": "2026-06-01"})
    assert isinstance(done, Done) and done.next_url is None


@pytest.mark.parametrize("step, role, recipient, error", [
    ("lessen_starten", "jobcoach", None, "is voor rol taalaanbieder, niet jobcoach"),
    ("verlenging_toegekend", "taalaanbieder", None, "geen bericht dat partners mogen sturen|--role"),
    ("frictie_gemeld", "werkgever", None, "neemt 'frictie_gemeld' nu niet aan: niets in de zaak wacht erop"),
    ("uitval_signaal", None, None, "noem met --role de rol die 'uitval_signaal' stuurt"),
    ("bestaat_niet", None, None, "heeft geen open stap 'bestaat_niet'"),
])
def test_an_operator_gets_a_clear_refusal_for_a_link_that_cannot_be(school, step, role, recipient, error):
    with pytest.raises(LinkNotIssued, match=error):
        school.links.issue(CASE, step, role=role, recipient=recipient)


def test_two_submissions_at_once_complete_the_step_once(partners_on, any_engine):
    school = lessons_to_start(partners_on(any_engine))
    token = token_of(school.link_in_last_mail_to(SCHOOL))
    before = version(school)
    results: list[object] = []
    start = threading.Barrier(4)

    def submit() -> None:
        start.wait()
        results.append(school.links.submit(token, STEP, {"lesstart_datum": "2026-05-25"}))

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert sum(isinstance(r, Done) for r in results) == 1
    assert all(isinstance(r, Refusal) and r.reason in ("bezig", "gebruikt") for r in results if not isinstance(r, Done))
    assert version(school) == before + 1


def test_a_portal_that_died_mid_submission_frees_the_link_when_its_lease_runs_out(school):
    token = token_of(school.link_in_last_mail_to(SCHOOL))
    link = next(row for row in link_store.for_case(school.service.engine, CASE)
                if row.used_at is None and row.revoked_at is None and row.step == "lessen_starten")
    assert link_store.claim(school.service.engine, link.id, school.clock(), school.links.lease)  # then it "died"

    busy = school.links.submit(token, STEP, {"lesstart_datum": "2026-05-25"})
    school.clock.advance(minutes=3)
    done = school.links.submit(token, STEP, {"lesstart_datum": "2026-05-25"})

    assert isinstance(busy, Refusal) and busy.reason == "bezig"
    assert isinstance(done, Done)


def test_a_change_the_service_refuses_gives_the_link_back_unused(school):
    token = token_of(school.link_in_last_mail_to(SCHOOL))
    service = school.service
    real = service.complete_step

    def inbox_got_there_first(**kwargs):
        # The operator completes the step in the inbox just as the partner presses the button.
        real(case_ref=CASE, task="lessen_starten", data={"lesstart_datum": "2026-05-26"}, actor="prefect-inbox")
        return real(**kwargs)

    service.complete_step = inbox_got_there_first  # type: ignore[method-assign]
    try:
        refused = school.links.submit(token, STEP, {"lesstart_datum": "2026-05-25"})
    finally:
        del service.complete_step

    assert isinstance(refused, Refusal) and refused.reason == "afgerond"
    assert service.show_case(CASE).data["lesstart_datum"] == "2026-05-26"
    link = next(row for row in link_store.for_case(service.engine, CASE)
                if row.step == "lessen_starten" and row.revoked_at is None)
    assert link.used_at is None and link.claimed_until is None


def test_links_are_claimed_once_and_revoked_by_a_newer_one_in_either_database(any_engine, clock):
    with any_engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO cases (case_ref, municipality, definition, status, state, version, created_at, updated_at) "
            "VALUES ('PD-1', 'portaaldorp', 'x@1', 'active', '{}', 1, '2026-03-02T08:00:00+00:00', "
            "'2026-03-02T08:00:00+00:00')")
    now = clock()

    def link(n: int, recipient: str = "delta") -> LinkRecord:
        return LinkRecord(id=f"{n:032x}", case_ref="PD-1", kind="step", step="lessen_starten", task_id="l-1",
                          role="taalaanbieder", recipient=recipient, issued_at=now, expires_at=now + timedelta(days=3))

    assert link_store.issue(any_engine, link(1)) == 0
    assert link_store.issue(any_engine, link(2, "andere")) == 0
    assert link_store.issue(any_engine, link(3)) == 1
    assert link_store.get(any_engine, f"{1:032x}").revoked_at is not None
    assert link_store.get(any_engine, f"{2:032x}").revoked_at is None
    assert not link_store.claim(any_engine, f"{1:032x}", now, timedelta(minutes=2))
    assert link_store.claim(any_engine, f"{3:032x}", now, timedelta(minutes=2))
    assert not link_store.claim(any_engine, f"{3:032x}", now, timedelta(minutes=2))
    link_store.finish(any_engine, f"{3:032x}", at=now, outcome="step lessen_starten", case_version=2)
    assert not link_store.claim(any_engine, f"{3:032x}", now + timedelta(hours=1), timedelta(minutes=2))
    assert not link_store.claim(any_engine, f"{2:032x}", now + timedelta(days=3), timedelta(minutes=2))
    assert link_store.get(any_engine, f"{3:032x}").case_version == 2

"""The "needs attention" list: urgent reviews, emergency call-backs (every try kept, open until
answered), bookings awaiting review, first visits with no questionnaire, failed emails."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from sqlalchemy import select

from booking.accounts.models import User
from booking.audit.models import AuditEvent
from booking.extensions import db
from booking.intake.models import CallBack, CallBackAttempt, Intake
from booking.intake.questionnaire import question_by_id
from booking.intake.screening import screen
from booking.notify.models import OutboxMessage, OutboxStatus
from booking.scheduling.models import AppointmentStatus
from tests.desk.helpers import (
    MAYA_EMAIL,
    NOW,
    SECRET_ANSWER,
    TODAY,
    add,
    call_back_for,
    local,
    visit,
)
from tests.helpers import STAFF_PASSWORD, sign_in


def dead_message(recipient: str, created_at=NOW) -> None:
    db.session.add(OutboxMessage(
        dedupe_key=f"test:{recipient}:{created_at.isoformat()}", kind="booking_confirmed",
        recipient=recipient, subject="Your visit is booked", text_body="...",
        status=OutboxStatus.DEAD, attempts=8, created_at=created_at,
    ))


def test_lists_call_backs_reviews_and_failed_emails_without_clinical_answers(app, desk, clinic):
    def setup():
        call_back_for(clinic.ben)
        visit(clinic, local(TODAY, 11), status=AppointmentStatus.AWAITING_REVIEW)
        dead_message("ana@example.com")
        dead_message("old@example.com", created_at=NOW - timedelta(days=30))

    add(app, setup)
    page = desk.get("/staff/desk/attention").get_data(as_text=True)
    assert "Call back now: emergency screenings (1)" in page
    assert "Ben Walker" in page and 'href="tel:555.777.1234"' in page
    assert "Bookings awaiting review (1)" in page and "Ana Silva" in page
    assert "Emails that failed to send (1)" in page and "ana@example.com" in page
    assert "old@example.com" not in page
    assert SECRET_ANSWER not in page
    # The desk's menu counts them.
    day = desk.get("/staff/desk/day").get_data(as_text=True)
    assert '<span class="desk-count">3</span>' in day


def test_mark_a_call_back_as_called_needs_a_note(app, desk, clinic):
    call_back = add(app, lambda: call_back_for(clinic.ben))
    url = f"/staff/desk/call-backs/{call_back}/attempts"
    refused = desk.post(url, data={"note": "", "outcome": "answered"})
    assert refused.status_code == 303
    assert "Write a short note about the call." in desk.get(refused.location).get_data(
        as_text=True)
    with app.app_context():
        assert db.session.get(CallBack, call_back).called_at is None

    done = desk.post(url, data={"note": "Spoke to Ben: he is at the ER now."})
    assert done.status_code == 303
    page = desk.get(done.location).get_data(as_text=True)
    assert "Marked the call to Ben Walker as made." in page
    assert "No call-backs waiting." in page
    with app.app_context():
        row = db.session.get(CallBack, call_back)
        desk_user = db.session.scalar(select(User).where(User.email == "desk@example.com"))
        assert row.called_at == NOW
        assert row.called_by_id == desk_user.id
        assert row.note == "Spoke to Ben: he is at the ER now."
    again = desk.post(url, data={"note": "again"})
    assert "already marked as called" in desk.get(again.location).get_data(as_text=True)


def test_an_empty_list_says_so(app, desk, clinic):
    page = desk.get("/staff/desk/attention").get_data(as_text=True)
    assert "No call-backs waiting." in page
    assert "None awaiting review." in page
    assert "No failed emails." in page


def attempts_of(app, call_back: int) -> list[CallBackAttempt]:
    with app.app_context():
        return list(db.session.scalars(
            select(CallBackAttempt).where(CallBackAttempt.call_back_id == call_back)
            .order_by(CallBackAttempt.id)
        ))


def call_back_item(page: str, call_back: int) -> str:
    """The attention list's entry of one call-back."""
    match = re.search(rf'<li id="call-back-{call_back}">(.*?)</form>', page, re.S)
    assert match, f"call-back {call_back} is not listed"
    return match.group(1)


def test_no_answer_keeps_the_call_back_open_with_every_try_listed(app, desk, clinic):
    call_back = add(app, lambda: call_back_for(clinic.ben))
    url = f"/staff/desk/call-backs/{call_back}/attempts"
    page = desk.get("/staff/desk/attention").get_data(as_text=True)
    assert "Not tried yet" in call_back_item(page, call_back)

    # 8:00 AM: no answer, nothing to say. 10:40 AM: no answer, a voicemail left.
    first = desk.post(url, data={"outcome": "no_answer", "note": ""})
    assert first.status_code == 303
    page = desk.get(first.location).get_data(as_text=True)
    assert "Noted: no answer from Ben Walker. The call-back stays open: try again." in page
    assert "Tried 1 time, last 8:00 AM by Dana" in call_back_item(page, call_back)
    with time_machine.travel(local(TODAY, 10, 40), tick=False):
        desk.post(url, data={"outcome": "no_answer", "note": "Left a voicemail to ring us."})
        page = desk.get("/staff/desk/attention").get_data(as_text=True)
    item = call_back_item(page, call_back)
    assert "Tried 2 times, last 10:40 AM by Dana" in item
    assert "Left a voicemail to ring us." in item
    assert item.count("No answer") >= 2
    assert "Call back now: emergency screenings (1)" in page  # still open
    assert '<span class="desk-count">1</span>' in page
    with app.app_context():
        assert db.session.get(CallBack, call_back).called_at is None

    with time_machine.travel(local(TODAY, 11, 5), tick=False):
        done = desk.post(url, data={"outcome": "answered", "note": "Ben is at the ER."})
        page = desk.get(done.location).get_data(as_text=True)
    assert "Marked the call to Ben Walker as made." in page
    assert "No call-backs waiting." in page

    attempts = attempts_of(app, call_back)
    assert [(a.answered, a.note) for a in attempts] == [
        (False, ""), (False, "Left a voicemail to ring us."), (True, "Ben is at the ER."),
    ]
    assert [a.attempted_at for a in attempts] == [
        NOW, local(TODAY, 10, 40), local(TODAY, 11, 5),
    ]
    with app.app_context():
        desk_user = db.session.scalar(select(User).where(User.email == "desk@example.com"))
        assert {a.by_id for a in attempts} == {desk_user.id}
        row = db.session.get(CallBack, call_back)
        assert (row.called_at, row.called_by_id, row.note) == (
            local(TODAY, 11, 5), desk_user.id, "Ben is at the ER.")


def test_each_try_is_audited_without_the_note(app, desk, clinic):
    call_back = add(app, lambda: call_back_for(clinic.ben))
    url = f"/staff/desk/call-backs/{call_back}/attempts"
    desk.post(url, data={"outcome": "no_answer", "note": "Voicemail: said we worry."})
    desk.post(url, data={"outcome": "answered", "note": "Reached him at home."})
    attempts = attempts_of(app, call_back)
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.subject_type == "call_back")
            .order_by(AuditEvent.id)
        ).all()
        assert [e.action for e in events] == ["call_back.no_answer", "call_back.called"]
        assert [e.details for e in events] == [
            {"patient_id": clinic.ben, "attempt_id": attempts[0].id, "answered": False},
            {"patient_id": clinic.ben, "attempt_id": attempts[1].id, "answered": True},
        ]
        assert all(e.subject_id == call_back and e.actor_id for e in events)


def test_an_answered_call_needs_a_note_but_no_answer_does_not(app, desk, clinic):
    call_back = add(app, lambda: call_back_for(clinic.ben))
    url = f"/staff/desk/call-backs/{call_back}/attempts"
    refused = desk.post(url, data={"outcome": "answered", "note": "   "})
    assert "Write a short note about the call." in desk.get(refused.location).get_data(
        as_text=True)
    assert attempts_of(app, call_back) == []
    # A post without an outcome (an older page) means answered.
    desk.post(url, data={"note": ""})
    assert attempts_of(app, call_back) == []
    desk.post(url, data={"outcome": "no_answer"})
    assert [a.answered for a in attempts_of(app, call_back)] == [False]
    desk.post(url, data={"outcome": "maybe", "note": "?"})
    assert len(attempts_of(app, call_back)) == 1


def test_a_reached_call_back_takes_no_more_tries(app, desk, clinic):
    call_back = add(app, lambda: call_back_for(clinic.ben))
    url = f"/staff/desk/call-backs/{call_back}/attempts"
    desk.post(url, data={"outcome": "answered", "note": "Reached."})
    again = desk.post(url, data={"outcome": "no_answer"})
    assert "already marked as called" in desk.get(again.location).get_data(as_text=True)
    assert len(attempts_of(app, call_back)) == 1


def test_the_call_back_links_the_desk_to_the_patient_and_a_practitioner_to_the_intake(
    app, desk, clinic
):
    call_back = add(app, lambda: call_back_for(clinic.ben))
    with app.app_context():
        intake_id = db.session.get(CallBack, call_back).intake_id
    page = desk.get("/staff/desk/attention").get_data(as_text=True)
    item = call_back_item(page, call_back)
    assert f'href="/staff/desk/patients/{clinic.ben}#screening-{intake_id}"' in item
    assert "/staff/clinician/intakes/" not in item
    assert SECRET_ANSWER not in page

    maya = sign_in(app.test_client(), MAYA_EMAIL, STAFF_PASSWORD)
    page = maya.get("/staff/desk/attention").get_data(as_text=True)
    item = call_back_item(page, call_back)
    assert f'href="/staff/clinician/intakes/{intake_id}"' in item
    assert "Read the intake" in item


def test_first_visits_without_a_questionnaire_need_the_desk_from_72_hours_before(
    app, desk, clinic
):
    from booking.intake.models import Intake

    def setup():
        soon = visit(clinic, local(TODAY + timedelta(days=2), 10), service=clinic.first_visit)
        visit(clinic, local(TODAY + timedelta(days=4), 10), service=clinic.first_visit)  # later
        screened = visit(clinic, local(TODAY + timedelta(days=1), 10),
                         service=clinic.first_visit, patient=clinic.ben)
        db.session.add(Intake(
            patient_id=clinic.ben, appointment_id=screened, kind="first_visit",
            questionnaire_version="v1", answers={}, ruleset_version="r1", tier="clear",
            screening={"flags": []},
        ))
        # A follow-up tomorrow with no check-in: the other list, which needs the desk too.
        follow_up = visit(clinic, local(TODAY + timedelta(days=1), 14))
        return soon, follow_up

    soon, follow_up = add(app, setup)
    page = desk.get("/staff/desk/attention").get_data(as_text=True)
    assert "First visits with no questionnaire (1)" in page
    section = page.split('id="unscreened-heading"')[1].split("</section>")[0]
    assert f"/staff/desk/appointments/{soon}" in section
    assert "Ben Walker" not in section
    assert f"/staff/desk/appointments/{follow_up}" not in section
    assert "Follow-ups with no check-in (1)" in page
    check_ins = page.split('id="no-check-in-heading"')[1].split("</section>")[0]
    assert f"/staff/desk/appointments/{follow_up}" in check_ins
    day = desk.get("/staff/desk/day?date=2026-11-25").get_data(as_text=True)
    assert '<span class="desk-count">2</span>' in day
    assert 'desk-tier-missing">No questionnaire</span>' in day
    card = desk.get(f"/staff/desk/appointments/{soon}").get_data(as_text=True)
    assert 'desk-tier-missing">No questionnaire</span>' in card
# --- urgent reviews -------------------------------------------------------------------------

EXAMPLE_C = {"one_leg_weakening": "yes", "one_leg_weakening_onset": "worse"}  # urgent review


def held_visit(clinic, when, answers, patient=None) -> int:
    """A visit awaiting review with the intake (screened by the real rules) that held it."""
    patient = patient or clinic.ana
    visit_id = visit(clinic, when, status=AppointmentStatus.AWAITING_REVIEW, patient=patient)
    given = {**answers, "date_of_birth": "1980-01-01"}
    screening = screen(given, NOW)
    db.session.add(Intake(
        patient_id=patient, appointment_id=visit_id, kind="first_visit",
        questionnaire_version="v1", answers=given, ruleset_version=screening.ruleset_version,
        tier=screening.tier.value, screening=screening.to_dict(),
        no_needling=screening.no_needling,
    ))
    db.session.flush()
    return visit_id


def section(page: str, heading_id: str) -> str:
    found = re.search(rf'<section[^>]*aria-labelledby="{heading_id}">(.*?)</section>', page, re.S)
    assert found, heading_id
    return found.group(1)


def test_urgent_reviews_show_at_once_at_the_top(app, desk, clinic):
    def setup():
        call_back_for(clinic.ben)
        held_visit(clinic, local(TODAY, 11), {"cancer_history": "yes"})  # Ana: today
        # Ben: in nine days, but one leg is getting weaker: the clinic calls today.
        held_visit(clinic, local(TODAY + timedelta(days=9), 10), EXAMPLE_C, patient=clinic.ben)

    add(app, setup)
    page = desk.get("/staff/desk/attention").get_data(as_text=True)

    headings = re.findall(r"<h2[^>]*>([^<]+)</h2>", page)
    assert headings[0] == "Urgent reviews: call today (1)"
    urgent = section(page, "urgent-reviews-heading")
    assert "Ben Walker" in urgent and "Ana Silva" not in urgent
    assert "<strong>Urgent</strong>: medical review" in urgent
    assert "Wednesday, December 2, 2026" in urgent
    others = section(page, "review-heading")
    assert "Other bookings awaiting review (1)" in others
    assert "Ana Silva" in others and "Ben Walker" not in others
    # The desk learns "urgent", never why.
    for clinical in ("one_leg", "weaker", "cancer", question_by_id("one_leg_weakening").text):
        assert clinical not in page
    day = desk.get("/staff/desk/day").get_data(as_text=True)
    assert '<span class="desk-count">3</span>' in day  # counted once each


def test_without_urgent_reviews_the_page_starts_with_call_backs(app, desk, clinic):
    add(app, lambda: held_visit(clinic, local(TODAY, 11), {"cancer_history": "yes"}))
    page = desk.get("/staff/desk/attention").get_data(as_text=True)

    assert "Urgent reviews" not in page
    headings = re.findall(r"<h2[^>]*>([^<]+)</h2>", page)
    assert headings[0].startswith("Call back now")
    assert "Bookings awaiting review (1)" in page

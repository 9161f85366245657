"""The "needs attention" list: urgent reviews, emergency call-backs, bookings awaiting review,
failed emails."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from booking.accounts.models import User
from booking.extensions import db
from booking.intake.models import CallBack, Intake
from booking.intake.questionnaire import question_by_id
from booking.intake.screening import screen
from booking.notify.models import OutboxMessage, OutboxStatus
from booking.scheduling.models import AppointmentStatus
from tests.desk.helpers import NOW, SECRET_ANSWER, TODAY, add, call_back_for, local, visit


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
    url = f"/staff/desk/call-backs/{call_back}/called"
    refused = desk.post(url, data={"note": ""})
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

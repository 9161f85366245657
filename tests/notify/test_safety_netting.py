"""Safety-netting in the emails, received by a real SMTP server on SQLite and PostgreSQL: the home
page's emergency notice in confirmations and reminders; after-care only for a visit that took
place, with the needling advice only when needles were used; TENTATIVE calendar files while a
visit awaits review; urgent reviews in the patient's email and the staff alert."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from booking.accounts.models import User
from booking.clinical.models import ReviewOutcome
from booking.clinical.outcomes import OutcomeEntry, record_outcome
from booking.clinical.review import decide_review
from booking.extensions import db
from booking.frontdesk.visits import change_status
from booking.intake.completion import Hold, finish_booking
from booking.intake.questionnaire import question_by_id
from booking.intake.screening import screen
from booking.intake.service import Consent, IntakeSubmission, record_intake
from booking.notify.models import OutboxMessage, OutboxStatus
from booking.notify.outbox import NO_LONGER_APPLIES
from booking.patients.models import Patient
from booking.scheduling.changes import cancel_appointment, move_appointment
from booking.scheduling.models import AppointmentStatus, Service
from booking.scheduling.service import hold_slot
from tests.notify.visits import (
    NOW,
    UID_DOMAIN,
    VISIT,
    appointment,
    book,
    calendar_of,
    deliver,
    everything_in,
    has_calendar,
    html_of,
    make_clinic,
    manage_path,
    text_of,
)

CLINIC_INBOX = "hello@riverside-clinic.example"  # CLINIC_EMAIL's default
REMINDER_AT = datetime(2026, 6, 9, 14, 0, tzinfo=UTC)  # 10:00 EDT the day before VISIT
AFTER_CARE_AT = VISIT + timedelta(hours=3)  # two hours after the hour-long first visit ends
NEW_START = datetime(2026, 6, 11, 18, 0, tzinfo=UTC)  # Thursday 11 June, 2:00 PM EDT

# The home page's emergency notice, as every confirmation and reminder repeats it.
EMERGENCY_NOTICE = (
    "Seek emergency care now if you have back pain and:",
    "new problems controlling or passing urine, or controlling your bowels,",
    "numbness between your legs, around your bottom or genitals,",
    "weakness in your legs that is quickly getting worse.",
    "Go to an emergency department or call 911 now.",
)
AFTER_CARE_ALWAYS = (
    "Feeling sore afterwards is common",
    "24 to 72 hours",
    "Drink plenty of water",
    "Keep moving in ways that feel comfortable",
)
NEEDLING_ADVICE = (
    "sudden breathlessness or chest pain after needling near the chest or upper back: call 911",
    "spreading redness, heat or pus where a needle went in, or you get a fever: "
    "see a doctor the same day",
)
URGENT_PATIENT_WORDS = (
    "A clinician will call you today.",
    "If nobody has called you by this evening, please see an urgent-care doctor today.",
)


@pytest.fixture
def clinic(mail_app, time_machine):
    time_machine.move_to(NOW)
    with mail_app.app_context():
        return make_clinic()


@pytest.fixture
def client(mail_app):
    return mail_app.test_client()


def words(html: str) -> str:
    """What a reader sees of an HTML body: tags dropped, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace(" :", ":").replace(" ,", ",")


def bodies(message) -> tuple[str, str]:
    """The plain-text body and the HTML body as read, both with spaces collapsed."""
    return " ".join(text_of(message).split()), words(html_of(message))


def only(messages, subject_start: str):
    found = [m for m in messages if m["Subject"].startswith(subject_start)]
    assert len(found) == 1, [m["Subject"] for m in messages]
    return found[0]


def status_of(message) -> str:
    _, calendar = calendar_of(message)
    [event] = calendar.events
    return str(event["STATUS"])


def make_practitioner_user() -> User:
    user = User(email="maya@clinic.example", name="Maya", fs_uniquifier="maya-1")
    db.session.add(user)
    db.session.flush()
    return user


# --- the emergency notice -------------------------------------------------------------------


def test_confirmation_and_reminder_carry_the_home_pages_emergency_notice(
    mail_app, smtp_server, clinic, client, time_machine
):
    with mail_app.app_context():
        book(clinic, VISIT, NOW)
    deliver(mail_app)
    time_machine.move_to(REMINDER_AT)
    deliver(mail_app)

    confirmation = only(smtp_server.messages, "Your visit is booked")
    reminder = only(smtp_server.messages, "Reminder: your visit")
    for message in (confirmation, reminder):
        for body in bodies(message):
            for line in EMERGENCY_NOTICE:
                assert line in body, (message["Subject"], line)
    # The same words as the home page's notice, so the two never drift apart.
    home = words(client.get("/").get_data(as_text=True))
    for line in EMERGENCY_NOTICE:
        assert line in home


# --- after-care -----------------------------------------------------------------------------


def after_care_messages(smtp_server):
    return [m for m in smtp_server.messages if m["Subject"].startswith("After your")]


def after_care_row(mail_app) -> OutboxMessage:
    with mail_app.app_context():
        [row] = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "after_care")
        ).all()
        db.session.expunge(row)
        return row


@pytest.mark.parametrize("desk_marks", [None, "no_show"], ids=["left-confirmed", "no-show"])
def test_no_after_care_for_a_visit_nobody_saw_take_place(
    mail_app, smtp_server, clinic, time_machine, desk_marks
):
    with mail_app.app_context():
        visit_id = book(clinic, VISIT, NOW)
    deliver(mail_app)
    if desk_marks:
        time_machine.move_to(VISIT + timedelta(minutes=20))
        with mail_app.app_context():
            assert change_status(appointment(visit_id), desk_marks, VISIT + timedelta(minutes=20))
            db.session.commit()

    for moment in (AFTER_CARE_AT, VISIT + timedelta(days=2)):
        time_machine.move_to(moment)
        deliver(mail_app)

    assert after_care_messages(smtp_server) == []
    row = after_care_row(mail_app)
    assert (row.status, row.last_error) == (OutboxStatus.DEAD, NO_LONGER_APPLIES)


@pytest.mark.parametrize("desk_marks", ["check_in", "complete"])
def test_after_care_follows_a_visit_checked_in_or_completed(
    mail_app, smtp_server, clinic, time_machine, desk_marks
):
    with mail_app.app_context():
        visit_id = book(clinic, VISIT, NOW)
    deliver(mail_app)
    moment = VISIT - timedelta(minutes=10) if desk_marks == "check_in" else VISIT + timedelta(
        hours=1
    )
    time_machine.move_to(moment)
    with mail_app.app_context():
        assert change_status(appointment(visit_id), desk_marks, moment)
        db.session.commit()

    time_machine.move_to(AFTER_CARE_AT)
    deliver(mail_app)

    [message] = after_care_messages(smtp_server)
    assert message["To"] == clinic.patient_email
    for body in bodies(message):
        for line in AFTER_CARE_ALWAYS:
            assert line in body
        # Nobody recorded needles at this visit: no needling advice.
        assert "needl" not in body.lower()
        assert "breathless" not in body.lower()


@pytest.mark.parametrize(
    ("muscles", "needled"),
    [(["multifidus", "gluteus_medius"], True), ([], False)],
    ids=["muscles-needled", "no-muscles-treated"],
)
def test_after_care_gives_the_needling_advice_only_when_needles_were_used(
    mail_app, smtp_server, clinic, time_machine, muscles, needled
):
    with mail_app.app_context():
        visit_id = book(clinic, VISIT, NOW)
    queued_text = after_care_row(mail_app).text_body
    deliver(mail_app)
    time_machine.move_to(VISIT + timedelta(hours=1))
    with mail_app.app_context():
        visit = appointment(visit_id)
        change_status(visit, "complete", VISIT + timedelta(hours=1))
        entry = OutcomeEntry(
            pain_now=4, bad_days_week=3, relief_days_week=None, activity_ratings={},
            muscles_treated=muscles, muscles_other="", response="", soreness="", plan="",
        )
        record_outcome(visit, entry, make_practitioner_user(), VISIT + timedelta(hours=1))
        db.session.commit()

    time_machine.move_to(AFTER_CARE_AT)
    deliver(mail_app)

    [message] = after_care_messages(smtp_server)
    for body in bodies(message):
        for line in AFTER_CARE_ALWAYS:
            assert line in body
        for line in NEEDLING_ADVICE:
            assert (line in body) is needled, line
    # Written when it went, from the outcome recorded after the booking queued it.
    assert "breathlessness" not in queued_text
    row = after_care_row(mail_app)
    assert row.status is OutboxStatus.SENT
    assert ("breathlessness" in row.text_body) is needled


# --- calendar files while a visit awaits review ---------------------------------------------


def test_a_held_visit_is_tentative_in_every_calendar_file_and_confirmed_once_approved(
    mail_app, smtp_server, clinic, client
):
    with mail_app.app_context():
        visit_id = book(clinic, VISIT, NOW, status=AppointmentStatus.AWAITING_REVIEW)
    deliver(mail_app)
    held = only(smtp_server.messages, "We are holding your visit")
    assert not has_calendar(held)
    smtp_server.clear()

    # The visit page's download.
    download = client.get(f"{manage_path(held)}/calendar.ics")
    [event] = Calendar.from_ical(download.get_data()).events
    assert str(event["STATUS"]) == "TENTATIVE"

    # A move of the held visit updates the (tentative) entry.
    with mail_app.app_context():
        move_appointment(appointment(visit_id), NEW_START, NOW)
        db.session.commit()
    deliver(mail_app)
    [moved] = smtp_server.messages
    attachment, calendar = calendar_of(moved)
    assert attachment.get_param("method") == "REQUEST"
    [event] = calendar.events
    assert str(event["UID"]) == f"appointment-{visit_id}@{UID_DOMAIN}"
    assert str(event["STATUS"]) == "TENTATIVE"
    assert event["SEQUENCE"] == 1
    assert "It is marked tentative" in text_of(moved)
    smtp_server.clear()

    # Approved: the same entry, confirmed.
    with mail_app.app_context():
        decide_review(appointment(visit_id), ReviewOutcome.APPROVED, "Fine to treat.",
                      make_practitioner_user())
        db.session.commit()
    deliver(mail_app)
    [approved] = smtp_server.messages
    attachment, calendar = calendar_of(approved)
    [event] = calendar.events
    assert str(event["UID"]) == f"appointment-{visit_id}@{UID_DOMAIN}"
    assert str(event["STATUS"]) == "CONFIRMED"
    download = client.get(f"{manage_path(approved)}/calendar.ics")
    [event] = Calendar.from_ical(download.get_data()).events
    assert str(event["STATUS"]) == "CONFIRMED"


def test_a_confirmed_visit_stays_confirmed_in_its_calendar_files(
    mail_app, smtp_server, clinic, client
):
    with mail_app.app_context():
        visit_id = book(clinic, VISIT, NOW)
    deliver(mail_app)
    confirmation = only(smtp_server.messages, "Your visit is booked")
    with mail_app.app_context():
        move_appointment(appointment(visit_id), NEW_START, NOW)
        db.session.commit()
    deliver(mail_app)
    moved = only(smtp_server.messages, "Your visit has moved")

    assert status_of(confirmation) == "CONFIRMED"
    assert status_of(moved) == "CONFIRMED"
    assert "tentative" not in text_of(moved).lower()
    download = client.get(f"{manage_path(moved)}/calendar.ics")
    [event] = Calendar.from_ical(download.get_data()).events
    assert str(event["STATUS"]) == "CONFIRMED"


def test_cancelling_a_held_visit_removes_the_entry_the_patient_may_have_added(
    mail_app, smtp_server, clinic
):
    with mail_app.app_context():
        visit_id = book(clinic, VISIT, NOW, status=AppointmentStatus.AWAITING_REVIEW)
        cancel_appointment(appointment(visit_id), "Feeling better", by="patient")
        db.session.commit()
    deliver(mail_app)

    cancelled = only(smtp_server.messages, "Your visit on")
    attachment, calendar = calendar_of(cancelled)
    assert attachment.get_param("method") == "CANCEL"
    [event] = calendar.events
    assert str(event["UID"]) == f"appointment-{visit_id}@{UID_DOMAIN}"
    assert str(event["STATUS"]) == "CANCELLED"
    assert "removes it from your calendar, if you added it" in text_of(cancelled)


# --- urgent reviews -------------------------------------------------------------------------

CONTACT = {
    "first_name": "Ann",
    "last_name": "Quixotelby",
    "date_of_birth": date(1988, 3, 14),  # 38: worked example C
    "email": "ann.quixotelby@example.com",
    "phone": "555 010 9999",
}
EXAMPLE_C = {"one_leg_weakening": "yes", "one_leg_weakening_onset": "worse"}
NOT_URGENT = {"cancer_history": "yes"}


def book_online(clinic, answers: dict) -> int:
    """Book VISIT as the online flow does (finish_booking: the hold confirmed, then the intake
    stored, one transaction); commit. Returns the appointment's id."""
    given = {**answers, "date_of_birth": CONTACT["date_of_birth"].isoformat()}
    submission = IntakeSubmission(
        "first_visit", given, screen(given, NOW), Consent("2026-11", "Ann Quixotelby", NOW)
    )
    service = db.session.get(Service, clinic.first_visit_id)
    hold = hold_slot(service, VISIT, NOW, clinic.practitioner_id)
    outcome = finish_booking(
        Hold(hold.id, hold.hold_key), CONTACT, service, clinic.practitioner_id, NOW, submission
    )
    assert outcome.appointment.status == AppointmentStatus.AWAITING_REVIEW
    visit_id = outcome.appointment.id
    db.session.commit()
    return visit_id


def clinical_words() -> list[str]:
    question = question_by_id("one_leg_weakening").text
    return [question, "one_leg", "cancer", "medical review", "medical_review"]


def test_an_urgent_review_says_so_to_the_patient_and_staff_and_nothing_clinical(
    mail_app, smtp_server, clinic
):
    with mail_app.app_context():
        book_online(clinic, EXAMPLE_C)
        # Queued with the booking, before the intake was stored; urgent once it was.
        rows = db.session.scalars(select(OutboxMessage)).all()
        assert {row.status for row in rows} == {OutboxStatus.PENDING}

    assert deliver(mail_app).sent == 2  # the patient, the clinic's inbox

    patient = only(smtp_server.messages, "We are holding your visit")
    for body in bodies(patient):
        for line in URGENT_PATIENT_WORDS:
            assert line in body
        assert "contact you before the visit" not in body
        for line in EMERGENCY_NOTICE:
            assert line in body
    alert = only(smtp_server.messages, "Urgent review")
    assert alert["To"] == CLINIC_INBOX
    assert alert["Subject"] == (
        "Urgent review, call the patient today: booking on Wednesday, June 10, 2026 at 10:00 AM"
    )
    for body in bodies(alert):
        assert "Urgent review: call the patient today." in body
    everything = everything_in(alert).lower()
    for detail in ["quixotelby", clinic.patient_email, "leg", "weak", *clinical_words()]:
        assert detail.lower() not in everything, detail
    for detail in clinical_words():
        assert detail.lower() not in everything_in(patient).lower(), detail


def test_a_review_that_is_not_urgent_does_not_say_today(mail_app, smtp_server, clinic):
    with mail_app.app_context():
        book_online(clinic, NOT_URGENT)
    deliver(mail_app)

    patient = only(smtp_server.messages, "We are holding your visit")
    alert = only(smtp_server.messages, "Booking awaiting review")
    for body in bodies(patient):
        assert "A clinician will contact you before the visit to confirm it." in body
        assert "today" not in body
    for body in bodies(alert):
        assert "Urgent" not in body and "today" not in body


def test_an_urgent_answer_given_after_the_emails_went_brings_urgent_ones(
    mail_app, smtp_server, clinic
):
    with mail_app.app_context():
        visit_id = book_online(clinic, NOT_URGENT)
    deliver(mail_app)
    smtp_server.clear()

    # New answers for the same visit (a check-in, or the desk on the phone): urgent now.
    with mail_app.app_context():
        visit = appointment(visit_id)
        answers = {**NOT_URGENT, **EXAMPLE_C, "date_of_birth": "1988-03-14"}
        submission = IntakeSubmission("first_visit", answers, screen(answers, NOW))
        record_intake(submission, db.session.get(Patient, visit.patient_id), visit)
        db.session.commit()
    deliver(mail_app)

    alert = only(smtp_server.messages, "Urgent review")
    assert alert["To"] == CLINIC_INBOX
    patient = only(smtp_server.messages, "We are holding your visit")
    for line in URGENT_PATIENT_WORDS:
        assert line in text_of(patient)

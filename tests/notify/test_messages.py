"""The emails that follow bookings, received by a real SMTP server (aiosmtpd), on SQLite and
PostgreSQL: headers, bodies, calendar files, send times, and nothing clinical in any of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from booking.accounts.models import User
from booking.extensions import db
from booking.intake.models import CallBack, Intake
from booking.intake.questionnaire import FIRST_VISIT_STEPS, all_questions
from booking.notify.models import OutboxMessage, OutboxStatus
from booking.notify.outbox import SendReport
from booking.notify.receivers import queue_call_back_alert
from booking.scheduling.changes import cancel_appointment, move_appointment
from booking.scheduling.models import AppointmentStatus
from booking.scheduling.signals import review_decided
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
    subjects,
    text_of,
)
from tests.smtp import SENDER

CLINIC_INBOX = "hello@riverside-clinic.example"  # CLINIC_EMAIL's default


@pytest.fixture
def clinic(mail_ctx, time_machine):
    time_machine.move_to(NOW)
    return make_clinic()


def outbox_rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


# --- booking confirmed ----------------------------------------------------------------------


def test_confirmation_arrives_with_headers_both_parts_link_and_calendar_request(
    mail_app, smtp_server, clinic
):
    visit_id = book(clinic, VISIT, NOW)

    assert deliver(mail_app) == SendReport(sent=1)

    [message] = smtp_server.messages
    assert message["From"] == SENDER
    assert message["To"] == clinic.patient_email
    assert message["Subject"] == "Your visit is booked: Wednesday, June 10, 2026 at 10:00 AM"
    text, html = text_of(message), html_of(message)
    for body in (text, html):
        assert "Wednesday, June 10, 2026, 10:00 AM to 11:00 AM" in body
        assert "(New York time)" in body
        assert "12 Riverside Avenue, Suite 3, Springfield" in body
        assert "(555) 010-2030" in body
    path = manage_path(message)
    assert path.startswith("/visit/")
    assert f'href="http://127.0.0.1:5000{path}"' in html

    attachment, calendar = calendar_of(message)
    assert attachment.get_param("method") == "REQUEST"
    assert attachment.get_filename() == "invite.ics"
    assert calendar["METHOD"] == "REQUEST"
    assert calendar.walk("VTIMEZONE"), "the calendar names its time zone"
    [event] = calendar.events
    assert str(event["UID"]) == f"appointment-{visit_id}@{UID_DOMAIN}"
    assert event["SEQUENCE"] == 0
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert event.start.replace(tzinfo=None) == datetime(2026, 6, 10, 10, 0)
    assert event.start == VISIT
    assert event.end == VISIT + timedelta(hours=1)
    assert str(event["ORGANIZER"]) == "mailto:clinic@example.com"
    assert str(event["ATTENDEE"]) == f"mailto:{clinic.patient_email}"
    assert str(event["STATUS"]) == "CONFIRMED"


def test_booking_queues_confirmation_reminder_and_after_care_with_versioned_keys(clinic):
    visit_id = book(clinic, VISIT, NOW)

    rows = {row.kind: row for row in outbox_rows()}
    assert set(rows) == {"confirmation", "reminder", "after_care"}
    assert rows["confirmation"].dedupe_key == f"appointment:{visit_id}:confirmation:0"
    assert rows["reminder"].dedupe_key == f"appointment:{visit_id}:reminder:0"
    assert rows["after_care"].dedupe_key == f"appointment:{visit_id}:after-care:0"
    # 10:00 in New York (EDT) the day before; two hours after the visit ends.
    assert rows["reminder"].next_attempt_at == datetime(2026, 6, 9, 14, 0, tzinfo=UTC)
    assert rows["after_care"].next_attempt_at == VISIT + timedelta(hours=3)
    assert all(row.appointment_id == visit_id for row in rows.values())


def test_visit_after_the_fall_back_is_at_nine_in_the_calendar_and_the_email(
    mail_app, smtp_server, clinic, time_machine
):
    booked_on = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)  # Friday, still EDT
    visit = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # Monday 09:00 EST, after Sunday's change
    time_machine.move_to(booked_on)
    book(clinic, visit, booked_on)

    deliver(mail_app)

    [message] = smtp_server.messages
    assert message["Subject"] == "Your visit is booked: Monday, November 2, 2026 at 9:00 AM"
    assert "Monday, November 2, 2026, 9:00 AM to 10:00 AM (New York time)" in text_of(message)
    _, calendar = calendar_of(message)
    [event] = calendar.events
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert event.start.replace(tzinfo=None) == datetime(2026, 11, 2, 9, 0)
    assert event.start == visit
    # The reminder: 10:00 on the fall-back Sunday, which is 15:00 UTC (EST), not 14:00.
    [reminder] = [row for row in outbox_rows() if row.kind == "reminder"]
    assert reminder.next_attempt_at == datetime(2026, 11, 1, 15, 0, tzinfo=UTC)


# --- reminders and after-care ---------------------------------------------------------------


def test_reminder_goes_at_ten_the_day_before_once(mail_app, smtp_server, clinic, time_machine):
    book(clinic, VISIT, NOW)
    deliver(mail_app)
    smtp_server.clear()
    reminder_at = datetime(2026, 6, 9, 14, 0, tzinfo=UTC)

    time_machine.move_to(reminder_at - timedelta(minutes=1))
    assert deliver(mail_app) == SendReport()
    time_machine.move_to(reminder_at)
    assert deliver(mail_app) == SendReport(sent=1)
    time_machine.move_to(reminder_at + timedelta(hours=2))
    assert deliver(mail_app) == SendReport()

    [message] = smtp_server.messages
    assert message["Subject"] == "Reminder: your visit on Wednesday, June 10, 2026 at 10:00 AM"
    assert manage_path(message).startswith("/visit/")
    assert not has_calendar(message)


def test_no_reminder_is_queued_when_booked_after_its_time(clinic, time_machine):
    late = datetime(2026, 6, 9, 19, 0, tzinfo=UTC)  # 15:00 the day before the visit
    time_machine.move_to(late)
    book(clinic, VISIT, late)

    assert "reminder" not in {row.kind for row in outbox_rows()}


def test_after_care_follows_a_first_visit_only(mail_app, smtp_server, clinic, time_machine):
    first = book(clinic, VISIT, NOW)
    follow_up = book(clinic, VISIT + timedelta(days=1), NOW, service_id=clinic.follow_up_id)
    deliver(mail_app)
    smtp_server.clear()
    for visit_id in (first, follow_up):  # both took place (after-care needs that)
        appointment(visit_id).status = AppointmentStatus.COMPLETED
    db.session.commit()

    time_machine.move_to(VISIT + timedelta(hours=3))
    deliver(mail_app)
    time_machine.move_to(VISIT + timedelta(days=2, hours=3))
    deliver(mail_app)

    [message] = [m for m in smtp_server.messages if m["Subject"].startswith("After your")]
    assert message["Subject"] == "After your first visit at Riverside Back Pain Clinic"
    assert [row.kind for row in outbox_rows()].count("after_care") == 1
    text = text_of(message)
    assert "24 to 72 hours" in text
    assert "Drink plenty of water" in text
    assert "Keep moving in ways that feel comfortable" in text
    # Booking the next visit: the follow-up service with the same practitioner.
    assert f"/book/follow-up/times?practitioner={clinic.practitioner_id}" in text


def test_after_care_is_not_sent_after_a_no_show(mail_app, smtp_server, clinic, time_machine):
    visit_id = book(clinic, VISIT, NOW)
    deliver(mail_app)
    smtp_server.clear()
    appointment(visit_id).status = AppointmentStatus.NO_SHOW
    db.session.commit()

    time_machine.move_to(VISIT + timedelta(hours=3))
    assert deliver(mail_app) == SendReport(skipped=2)  # the after-care and the late reminder

    assert smtp_server.messages == []
    [after_care] = [row for row in outbox_rows() if row.kind == "after_care"]
    assert after_care.status is OutboxStatus.DEAD


# --- awaiting review, review outcome, staff alerts ------------------------------------------


def test_awaiting_review_tells_the_patient_and_alerts_staff_without_patient_detail(
    mail_app, smtp_server, clinic
):
    practitioner_user = User(email="maya@clinic.example", name="Maya", fs_uniquifier="maya-1")
    db.session.add(practitioner_user)
    db.session.flush()
    from booking.scheduling.models import Practitioner

    db.session.get(Practitioner, clinic.practitioner_id).user_id = practitioner_user.id
    db.session.commit()
    book(clinic, VISIT, NOW, status=AppointmentStatus.AWAITING_REVIEW)

    assert deliver(mail_app).sent == 3

    by_recipient = {message["To"]: message for message in smtp_server.messages}
    assert set(by_recipient) == {clinic.patient_email, CLINIC_INBOX, "maya@clinic.example"}
    patient_message = by_recipient[clinic.patient_email]
    assert patient_message["Subject"].startswith("We are holding your visit:")
    assert "not confirmed yet" in text_of(patient_message)
    assert not has_calendar(patient_message), "no calendar entry until it is confirmed"
    assert manage_path(patient_message)
    for staff in (CLINIC_INBOX, "maya@clinic.example"):
        alert = by_recipient[staff]
        assert alert["Subject"] == "Booking awaiting review: Wednesday, June 10, 2026 at 10:00 AM"
        everything = everything_in(alert)
        assert "/staff/" in everything
        for detail in ("Ann", "Quixotelby", clinic.patient_email, "/visit/"):
            assert detail not in everything


def test_an_approved_review_sends_the_calendar_request(mail_app, smtp_server, clinic):
    visit_id = book(clinic, VISIT, NOW, status=AppointmentStatus.AWAITING_REVIEW)
    deliver(mail_app)
    smtp_server.clear()
    visit = appointment(visit_id)
    visit.status = AppointmentStatus.CONFIRMED
    review_decided.send(visit, outcome="approved")
    db.session.commit()

    deliver(mail_app)

    [message] = smtp_server.messages
    assert message["Subject"] == "Your visit is confirmed: Wednesday, June 10, 2026 at 10:00 AM"
    attachment, calendar = calendar_of(message)
    assert attachment.get_param("method") == "REQUEST"
    [event] = calendar.events
    assert str(event["UID"]) == f"appointment-{visit_id}@{UID_DOMAIN}"


def test_a_declined_review_sends_the_outcome_instead_of_a_plain_cancellation(
    mail_app, smtp_server, clinic
):
    visit_id = book(clinic, VISIT, NOW, status=AppointmentStatus.AWAITING_REVIEW)
    deliver(mail_app)
    smtp_server.clear()
    visit = appointment(visit_id)
    # What the practitioners' review does on a decline: cancel, then say it was the review.
    cancel_appointment(visit, "Declined after review", by="clinic")
    review_decided.send(visit, outcome="declined")
    db.session.commit()

    deliver(mail_app)

    [message] = smtp_server.messages
    assert message["Subject"] == "We could not confirm your visit on Wednesday, June 10, 2026"
    assert "see your doctor" in text_of(message)
    assert "Please call us on (555) 010-2030" in text_of(message)
    # It removes the tentative entry the patient may have added from the visit page.
    attachment, calendar = calendar_of(message)
    assert attachment.get_param("method") == "CANCEL"
    [event] = calendar.events
    assert str(event["UID"]) == f"appointment-{visit_id}@{UID_DOMAIN}"
    assert str(event["STATUS"]) == "CANCELLED"
    assert "Declined after review" not in everything_in(message)


def test_a_call_back_alert_reaches_the_clinic_inbox_without_patient_detail(
    mail_app, smtp_server, clinic
):
    intake = Intake(
        patient_id=clinic.patient_id, kind="first_visit", questionnaire_version="t",
        answers={"bladder_start": "yes"}, ruleset_version="t", tier="emergency",
        screening={"tier": "emergency"},
    )
    db.session.add(intake)
    db.session.flush()
    call_back = CallBack(patient_id=clinic.patient_id, intake_id=intake.id)
    db.session.add(call_back)
    db.session.flush()
    queue_call_back_alert(call_back)
    queue_call_back_alert(call_back)  # queued once whatever the number of calls
    db.session.commit()

    deliver(mail_app)

    [message] = smtp_server.messages
    assert message["To"] == CLINIC_INBOX
    assert message["Subject"] == "Call-back needed"
    everything = everything_in(message)
    assert "/staff/" in everything
    for detail in ("Ann", "Quixotelby", clinic.patient_email, "bladder", "emergency"):
        assert detail not in everything


# --- nothing clinical, nothing lost ---------------------------------------------------------


DISTINCTIVE_ANSWERS = {
    "goals": "Return to competitive xylophone marching without flinching",
    "pain_areas": ["buttock_left", "thigh_left"],
    "pattern": ["morning_stiffness_eases", "buttock_after_sitting"],
    "pain_now": 7,
    "cancer_history": "yes",
    "weight_loss": "not_sure",
}


def test_no_email_carries_intake_answers_questions_or_screening(
    mail_app, smtp_server, clinic, time_machine
):
    visit_id = book(clinic, VISIT, NOW)
    db.session.add(Intake(
        patient_id=clinic.patient_id, appointment_id=visit_id, kind="first_visit",
        questionnaire_version="2026-11.1", answers=DISTINCTIVE_ANSWERS, ruleset_version="t",
        tier="medical_review",
        screening={"tier": "medical_review", "flags": [{"id": "cancer_history",
                   "summary": "History of cancer: needs medical review"}]},
        no_needling=True,
    ))
    db.session.commit()
    move_appointment(appointment(visit_id), VISIT + timedelta(days=1), NOW)
    db.session.commit()
    review_id = book(clinic, VISIT + timedelta(days=2), NOW,
                     status=AppointmentStatus.AWAITING_REVIEW)
    cancel_appointment(appointment(review_id), "Feeling unwell", by="patient")
    db.session.commit()
    for moment in (NOW, VISIT + timedelta(days=1, hours=-5), VISIT + timedelta(days=1, hours=4)):
        time_machine.move_to(moment)
        if moment > VISIT + timedelta(days=1):
            appointment(visit_id).status = AppointmentStatus.CHECKED_IN  # it took place
            db.session.commit()
        deliver(mail_app)

    kinds = {row.kind for row in outbox_rows() if row.status is OutboxStatus.SENT}
    assert kinds >= {"confirmation", "rescheduled", "reminder", "after_care", "awaiting_review",
                     "staff_review_alert", "cancelled"}
    forbidden = [q.text for q in all_questions(FIRST_VISIT_STEPS)] + [
        "xylophone", "flinching", "cancer", "History of", "medical_review", "medical review",
        "buttock", "Feeling unwell", "needling", "Morning", "stiff",
    ]
    assert len(smtp_server.messages) >= 7
    for message in smtp_server.messages:
        everything = everything_in(message)
        found = [text for text in forbidden if text.lower() in everything.lower()]
        assert found == [], (message["Subject"], found)


def test_confirmation_survives_a_mail_server_outage_and_arrives_once(
    mail_app, smtp_server, clinic, time_machine
):
    book(clinic, VISIT, NOW)
    smtp_server.stop()

    assert deliver(mail_app) == SendReport(failed=1)
    time_machine.move_to(NOW + timedelta(minutes=2))
    assert deliver(mail_app) == SendReport(failed=1)
    smtp_server.start()
    time_machine.move_to(NOW + timedelta(minutes=10))
    assert deliver(mail_app) == SendReport(sent=1)
    time_machine.move_to(NOW + timedelta(hours=1))
    assert deliver(mail_app) == SendReport()

    assert subjects(smtp_server.messages) == [
        "Your visit is booked: Wednesday, June 10, 2026 at 10:00 AM"
    ]
    [confirmation] = [row for row in outbox_rows() if row.kind == "confirmation"]
    assert confirmation.status is OutboxStatus.SENT
    assert confirmation.attempts == 2

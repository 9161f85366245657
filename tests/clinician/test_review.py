"""The review queue: approve, decline or note a call, with a note, audited; the patient's email;
and the mark on bookings still undecided within 24 hours of the visit.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from booking.audit.models import AuditEvent
from booking.clinical.models import ReviewDecision, ReviewOutcome
from booking.db import now_utc
from booking.extensions import db
from booking.notify.models import OutboxMessage
from booking.scheduling.models import Appointment, AppointmentStatus
from booking.scheduling.signals import review_decided
from tests.clinician.helpers import add_intake, add_visit, make_patient

CLINIC_PHONE = "(555) 010-2030"


@pytest.fixture
def held(app, world) -> int:
    """A first visit in three days, held because screening asked for a clinician's review."""
    with app.app_context():
        patient = make_patient(first_name="Hugo", last_name="Lambert", email="hugo@example.com")
        visit = add_visit(world.maya, world.first_visit, now_utc() + timedelta(days=3), patient,
                          AppointmentStatus.AWAITING_REVIEW)
        add_intake(patient, visit, cancer_history="yes", weight_loss="not_sure")
        db.session.commit()
        return visit.id


def decide(client, appointment_id: int, decision: str, note: str, **query):
    prefix = f"review-{appointment_id}"
    return client.post(
        f"/staff/clinician/reviews/{appointment_id}",
        query_string=query,
        data={f"{prefix}-decision": decision, f"{prefix}-note": note},
    )


@pytest.fixture
def decisions_sent():
    """Every review_decided signal sent during the test, as (appointment id, outcome)."""
    sent: list[tuple[int, str]] = []

    def listen(appointment, outcome, **_):
        sent.append((appointment.id, outcome))

    review_decided.connect(listen)
    yield sent
    review_decided.disconnect(listen)


def review_emails(appointment_id: int) -> list[OutboxMessage]:
    return db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.appointment_id == appointment_id,
            OutboxMessage.kind.like("review%"),
        )
    ).all()


def text_of(response) -> str:
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_queue_shows_why_each_booking_is_held(maya, held):
    text = text_of(maya.get("/staff/clinician/reviews"))
    assert "Hugo Lambert" in text
    assert "History of cancer" in text
    assert "Unexplained weight loss in recent months (patient not sure)" in text
    assert "Record decision" in text


def test_approve_confirms_emails_and_audits(app, maya, held, decisions_sent):
    response = decide(maya, held, "approved", "Cancer treated 2015, discharged; fine to treat.")
    assert response.status_code == 302
    assert decisions_sent == [(held, "approved")]
    with app.app_context():
        appointment = db.session.get(Appointment, held)
        assert appointment.status is AppointmentStatus.CONFIRMED
        decision = db.session.scalar(select(ReviewDecision))
        assert decision.outcome is ReviewOutcome.APPROVED
        assert decision.note.startswith("Cancer treated")
        assert decision.decided_by_id is not None
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "review_decided")
        )
        assert event.subject_id == held
        assert event.details["outcome"] == "approved"
        assert "note" not in event.details  # the note is clinical: it stays in its own table
        (email,) = review_emails(held)
        assert email.recipient == "hugo@example.com"
        assert "confirmed" in email.subject.lower()
        assert email.ics and "METHOD:REQUEST" in email.ics
        assert "cancer" not in (email.text_body + email.subject).lower()
    assert "Hugo Lambert" not in text_of(maya.get("/staff/clinician/reviews"))


def test_decline_cancels_and_emails_advice_with_the_clinics_number(
    app, maya, held, decisions_sent
):
    response = decide(maya, held, "declined", "Weight loss needs GP work-up first.")
    assert response.status_code == 302
    assert decisions_sent == [(held, "declined")]
    with app.app_context():
        appointment = db.session.get(Appointment, held)
        assert appointment.status is AppointmentStatus.CANCELLED
        assert appointment.cancel_reason == "Declined after clinical review"
        assert "weight" not in appointment.cancel_reason.lower()
        (email,) = review_emails(held)
        assert email.recipient == "hugo@example.com"
        body = email.text_body.lower()
        assert re.sub(r"\D", "", CLINIC_PHONE) in re.sub(r"\D", "", email.text_body)
        assert "weight" not in body and "cancer" not in body
        assert db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "review_decided")
        ).details["outcome"] == "declined"


def test_declined_email_advises_seeing_a_doctor(app, maya, held):
    decide(maya, held, "declined", "Needs a GP first.")
    with app.app_context():
        (email,) = review_emails(held)
        assert "doctor" in email.text_body.lower()


def test_called_the_patient_keeps_it_in_the_queue_with_the_note(app, maya, held, decisions_sent):
    decide(maya, held, "called", "Left a voicemail, will try again at 4pm.")
    assert decisions_sent == []
    with app.app_context():
        assert db.session.get(Appointment, held).status is AppointmentStatus.AWAITING_REVIEW
        assert review_emails(held) == []
        assert db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "review_decided")
        ).details["outcome"] == "called"
    text = text_of(maya.get("/staff/clinician/reviews"))
    assert "Hugo Lambert" in text
    assert "Left a voicemail, will try again at 4pm." in text
    assert "Maya Chen" in text  # who wrote the note


@pytest.mark.parametrize("note", ["", "   "])
def test_a_note_is_required(app, maya, held, note, decisions_sent):
    response = decide(maya, held, "approved", note)
    assert response.status_code == 422
    assert "Write a note" in text_of(response)
    assert decisions_sent == []
    with app.app_context():
        assert db.session.get(Appointment, held).status is AppointmentStatus.AWAITING_REVIEW
        assert db.session.scalar(select(ReviewDecision)) is None
        assert review_emails(held) == []


def test_a_decision_must_be_chosen(app, maya, held):
    prefix = f"review-{held}"
    response = maya.post(f"/staff/clinician/reviews/{held}", data={f"{prefix}-note": "Hmm."})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Choose approve, decline or called the patient." in html
    assert "Hmm." in html  # what was typed is kept
    with app.app_context():
        assert db.session.get(Appointment, held).status is AppointmentStatus.AWAITING_REVIEW
        assert db.session.scalar(select(ReviewDecision)) is None


def test_the_database_refuses_a_decision_without_a_note(app, held):
    with app.app_context():
        db.session.add(ReviewDecision(appointment_id=held, outcome=ReviewOutcome.CALLED,
                                      note="  "))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_a_second_decision_changes_nothing(app, signed_in, held, decisions_sent):
    decide(signed_in("maya@example.com"), held, "approved", "Fine.")
    response = decide(signed_in("sam@example.com"), held, "declined", "Too late.")
    assert response.status_code == 302
    assert decisions_sent == [(held, "approved")]
    with app.app_context():
        assert db.session.get(Appointment, held).status is AppointmentStatus.CONFIRMED
        assert len(db.session.scalars(select(ReviewDecision)).all()) == 1


def test_front_desk_cannot_decide(app, signed_in, held):
    response = decide(signed_in("desk@example.com"), held, "approved", "Looks fine to me.")
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(Appointment, held).status is AppointmentStatus.AWAITING_REVIEW


def test_viewing_the_queue_is_audited(app, maya, held):
    maya.get("/staff/clinician/reviews")
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "review_queue_viewed")
        )
        assert event.details == {"appointment_ids": [held]}


def test_queue_defaults_to_own_bookings(app, world, signed_in, held):
    assert "Hugo Lambert" not in text_of(signed_in("sam@example.com").get(
        "/staff/clinician/reviews"))
    assert "Hugo Lambert" in text_of(signed_in("sam@example.com").get(
        "/staff/clinician/reviews?practitioner=all"))
    assert "Hugo Lambert" in text_of(signed_in("admin@example.com").get(
        "/staff/clinician/reviews"))


# --- Urgent reviews ---------------------------------------------------------------------------


def queue_items(client) -> dict[str, str]:
    """Each booking in the queue, in order: the patient's name and the item's text."""
    html = client.get("/staff/clinician/reviews").get_data(as_text=True)
    items = re.findall(
        r'<li class="review panel[^"]*" id="review-\d+">(.*?)</li>\s*(?=<li class="review|</ol>)',
        html,
        flags=re.S,
    )
    found = {}
    for item in items:
        name = re.search(r"<h2>([^<]+)</h2>", item).group(1)
        found[name] = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", item))
    return found


@pytest.fixture
def urgent_later(app, world, held) -> int:
    """Besides Hugo (in three days, not urgent): Nina, tomorrow, not urgent; Uma in ten days,
    one leg getting weaker (worked example C): an urgent review."""
    with app.app_context():
        nina = make_patient(first_name="Nina", last_name="Soon")
        soon = add_visit(world.maya, world.first_visit, now_utc() + timedelta(days=1, hours=2),
                         nina, AppointmentStatus.AWAITING_REVIEW)
        add_intake(nina, soon, weight_loss="yes")
        uma = make_patient(first_name="Uma", last_name="Later")
        later = add_visit(world.maya, world.first_visit, now_utc() + timedelta(days=10), uma,
                          AppointmentStatus.AWAITING_REVIEW)
        add_intake(uma, later, one_leg_weakening="yes", one_leg_weakening_onset="worse")
        db.session.commit()
        return later.id


def test_urgent_reviews_come_first_whatever_their_date(maya, urgent_later):
    items = queue_items(maya)

    assert list(items) == ["Uma Later", "Nina Soon", "Hugo Lambert"]
    assert "Urgent: call today." in items["Uma Later"]
    assert "Urgent" not in items["Nina Soon"] + items["Hugo Lambert"]


def test_the_latest_answers_decide_whether_a_review_is_urgent(app, maya, world, urgent_later):
    with app.app_context():
        visit = db.session.get(Appointment, urgent_later)
        # Answered again the next day: the weakness has been unchanged for weeks (a note only),
        # but a history of cancer still holds the booking for a review, not an urgent one.
        add_intake(visit.patient, visit, submitted_at=now_utc() + timedelta(minutes=5),
                   one_leg_weakening="yes", one_leg_weakening_onset="stable",
                   cancer_history="yes")
        db.session.commit()

    items = queue_items(maya)

    assert list(items) == ["Nina Soon", "Hugo Lambert", "Uma Later"]
    assert not any("Urgent" in text for text in items.values())


# --- Undecided within 24 hours ----------------------------------------------------------------


def test_queue_marks_the_bookings_the_desk_is_told_about(app, world, maya):
    with app.app_context():
        patient = make_patient(first_name="Ivy")
        add_visit(world.maya, world.follow_up, now_utc() + timedelta(hours=20), patient,
                  AppointmentStatus.AWAITING_REVIEW)
        db.session.commit()
    assert "less than 24 hours away" in text_of(maya.get("/staff/clinician/reviews"))

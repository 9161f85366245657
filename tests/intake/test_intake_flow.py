"""The intake inside the booking flow, through the pages with the test client, on both engines.

Each tier leads to its outcome and stored records; answers survive Back, validation errors and
a time taken meanwhile; stored intakes never change.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from booking.accounts.models import User
from booking.clinic.service import get_clinic
from booking.clinical.models import ReviewOutcome
from booking.clinical.review import decide_review
from booking.db import now_utc
from booking.extensions import db
from booking.intake.models import CallBack, ConsentText, Intake, IntakeImmutableError
from booking.intake.questionnaire import (
    CHECK_IN_STEPS,
    FIRST_VISIT_STEPS,
    QUESTIONNAIRE_VERSION,
    Step,
)
from booking.intake.screening import RULESET_VERSION
from booking.intake.service import FIRST_CONSENT_VERSION
from booking.notify.links import manage_token
from booking.notify.models import OutboxMessage
from booking.patients.models import Patient
from booking.scheduling.models import Appointment, AppointmentStatus, VisitKind
from booking.scheduling.service import find_free_slots
from tests.clinician.helpers import add_intake
from tests.factories import make_appointment, make_patient, make_practitioner, make_service
from tests.helpers import sign_in_returning_patient

EVERY_DAY = {day: [("08:00", "18:00")] for day in range(7)}
EMERGENCY_PAGE = "/book/intake/outcome"
CONTACT = {
    "first_name": "Robin",
    "last_name": "Hale",
    "date_of_birth": "1980-05-17",  # 46 in late 2026: the age rules stay quiet
    "email": "robin@example.com",
    "phone": "555 010 2030",
}
CLINIC_PHONE = "555-0100"


# --- Setting up and walking the flow ---------------------------------------------------------


@pytest.fixture
def app(make_app) -> Flask:
    return make_app(CLINIC_PHONE=CLINIC_PHONE)


@pytest.fixture
def services(app: Flask) -> dict[str, int]:
    """A first-visit and a follow-up service, one practitioner working every day."""
    with app.app_context():
        first = make_service(slug="first-visit", minutes=60, kind=VisitKind.FIRST_VISIT)
        follow = make_service(slug="follow-up", minutes=30, kind=VisitKind.FOLLOW_UP)
        make_practitioner(services=[first, follow], hours=EVERY_DAY)
        db.session.commit()
        return {"first": first.id, "follow": follow.id}


def free_starts(app: Flask, service_id: int, count: int = 1) -> list[str]:
    with app.app_context():
        from booking.scheduling.models import Service

        service = db.session.get(Service, service_id)
        today = now_utc().date()
        slots = find_free_slots(service, today + timedelta(days=1), today + timedelta(days=8),
                                now_utc())
        return [slot.start.isoformat() for slot in slots[:count]]


def hold(client, service_id: int, start: str):
    return client.post(
        "/book/hold", data={"service": str(service_id), "practitioner": "any", "start": start}
    )


def start_booking(client, app: Flask, service_id: int, contact: dict | None = None) -> str:
    """Hold the first free time and send the contact details; returns the next page's path."""
    (start,) = free_starts(app, service_id)
    response = hold(client, service_id, start)
    assert response.status_code == 303 and response.location.endswith("/book/details")
    response = client.post("/book/details", data=contact or CONTACT)
    assert response.status_code == 303
    return response.location


def returning_patient(app: Flask, contact: dict | None = None) -> int:
    """A patient who had their first visit: their record and a clear first-visit intake."""
    contact = contact or CONTACT
    with app.app_context():
        patient = make_patient(**{**contact, "date_of_birth": date.fromisoformat(
            contact["date_of_birth"])})
        add_intake(patient)
        db.session.commit()
        return patient.id


def start_follow_up(client, app: Flask, service_id: int, email: str = CONTACT["email"]) -> str:
    """Sign in with the emailed link, hold the first free follow-up time and go on with the
    details the clinic holds (nothing typed), which books it; returns the next page (the
    confirmation)."""
    sign_in_returning_patient(client, email)
    (start,) = free_starts(app, service_id)
    response = hold(client, service_id, start)
    assert response.status_code == 303 and response.location.endswith("/book/details")
    response = client.post("/book/details")
    assert response.status_code == 303
    return response.location


def default_answers(steps: tuple[Step, ...]) -> dict[str, Any]:
    """A plain "clear" answer to every required question (and a few optional ones)."""
    answers: dict[str, Any] = {}
    for step in steps:
        for question in step.questions:
            if question.follow_up_of or not question.required:
                continue
            if question.kind in ("yes_no", "yes_no_unsure"):
                answers[question.id] = "no"
    answers.update(
        pain_areas=["low_back_left", "buttock_left"],
        duration="over_3_months",
        pattern=["morning_stiffness_eases", "buttock_after_sitting"],
        pain_now="5",
        pain_worst_week="7",
        pain_average_week="4",
        bad_days_week="3",
        relief_days_week="2",
        activity_1="Gardening",
        activity_1_score="4",
        goals="Play with my grandchildren",
    )
    return answers


def step_data(step: Step, answers: dict[str, Any], action: str = "next") -> dict[str, Any]:
    ids = {question.id for question in step.questions}
    return {**{k: v for k, v in answers.items() if k in ids}, "action": action}


def answer_steps(client, steps, answers, first_path: str):
    """Send every step with Continue, until the last or the emergency advice; returns the last
    response."""
    path = first_path
    response = None
    for step in steps:
        assert path.endswith(f"/book/intake/{step.id}"), path
        response = client.post(path, data=step_data(step, answers))
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        path = response.location
        if path.endswith(EMERGENCY_PAGE):
            break
    return response


def give_consent(client, name: str = "Robin Hale"):
    page = client.get("/book/intake/consent").get_data(as_text=True)
    version = re.search(r'name="version"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="version"', page
    )
    return client.post(
        "/book/intake/consent",
        data={"version": version.group(1), "agree": "y", "name": name, "action": "next"},
    )


def book_first_visit(client, app, services, **overrides):
    answers = {**default_answers(FIRST_VISIT_STEPS), **overrides}
    path = start_booking(client, app, services["first"])
    response = answer_steps(client, FIRST_VISIT_STEPS, answers, path)
    if response.location.endswith(EMERGENCY_PAGE):
        return response
    assert response.location.endswith("/book/intake/consent")
    return give_consent(client)


def only_intake(app: Flask) -> Intake:
    with app.app_context():
        intakes = db.session.scalars(select(Intake)).all()
        assert len(intakes) == 1
        db.session.expunge_all()
        return intakes[0]


def assert_nothing_stored(app: Flask) -> None:
    """The booking is still only a hold: no patient, intake or call-back was written."""
    assert [a.status for a in appointments(app)] == [AppointmentStatus.HELD]
    with app.app_context():
        for model in (Patient, Intake, CallBack):
            assert db.session.scalar(select(model)) is None, model


def appointments(app: Flask) -> list[Appointment]:
    with app.app_context():
        rows = db.session.scalars(select(Appointment).order_by(Appointment.id)).all()
        db.session.expunge_all()
        return list(rows)


# --- Each tier ---------------------------------------------------------------------------------


def test_clear_first_visit_is_confirmed_with_intake_stored(client, app, services):
    response = book_first_visit(client, app, services)

    assert response.status_code == 303 and response.location.endswith("/book/confirmed")
    page = client.get("/book/confirmed").get_data(as_text=True)
    assert "You're booked" in page
    (appointment,) = appointments(app)
    assert appointment.status == AppointmentStatus.CONFIRMED
    intake = only_intake(app)
    assert intake.tier == "clear"
    assert intake.kind == "first_visit"
    assert intake.appointment_id == appointment.id
    assert intake.patient_id == appointment.patient_id
    assert intake.ruleset_version == RULESET_VERSION
    assert intake.screening["ruleset_version"] == RULESET_VERSION
    assert intake.questionnaire_version == QUESTIONNAIRE_VERSION
    assert intake.consent_version == FIRST_CONSENT_VERSION
    assert intake.consent_name == "Robin Hale"
    assert intake.consent_at is not None
    assert intake.answers["pain_areas"] == ["low_back_left", "buttock_left"]
    assert intake.answers["pain_now"] == 5
    assert intake.answers["date_of_birth"] == "1980-05-17"
    assert intake.no_needling is False


def test_precaution_pregnant_nine_weeks_is_confirmed_with_flags(client, app, services):
    response = book_first_visit(client, app, services, pregnant="yes", pregnancy_weeks="9")

    assert response.location.endswith("/book/confirmed")
    (appointment,) = appointments(app)
    assert appointment.status == AppointmentStatus.CONFIRMED
    intake = only_intake(app)
    assert intake.tier == "precaution"
    assert intake.no_needling is False
    rules = {flag["rule_id"] for flag in intake.screening["flags"]}
    assert "pregnancy_first_trimester" in rules
    assert intake.answers["pregnancy_weeks"] == 9


def test_precaution_needle_fear_means_no_needling(client, app, services):
    book_first_visit(client, app, services, needle_fear="yes", fainted_needles="yes")

    intake = only_intake(app)
    assert (intake.tier, intake.no_needling) == ("precaution", True)
    assert appointments(app)[0].status == AppointmentStatus.CONFIRMED


def test_medical_review_awaits_review_and_keeps_its_time(client, app, services):
    response = book_first_visit(
        client, app, services, one_leg_weakening="yes", one_leg_weakening_onset="worse"
    )

    assert response.location.endswith("/book/confirmed")
    page = client.get("/book/confirmed").get_data(as_text=True)
    assert "You're booked" not in page
    (appointment,) = appointments(app)
    assert appointment.status == AppointmentStatus.AWAITING_REVIEW
    assert appointment.hold_expires_at is None  # it does not run out like a hold
    assert appointment.hold_key is None
    intake = only_intake(app)
    assert intake.tier == "medical_review"
    assert intake.appointment_id == appointment.id


def page_text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


URGENT_WORDS = (
    "A clinician will call you today",
    "If nobody has called you by this evening, please see an urgent-care doctor today.",
)


def test_an_urgent_review_tells_the_patient_we_call_today(client, app, services):
    # Worked example C: age 46 here; one leg getting weaker, worse: a review, urgent.
    book_first_visit(
        client, app, services, one_leg_weakening="yes", one_leg_weakening_onset="worse"
    )

    page = page_text(client.get("/book/confirmed"))
    assert "Your time is reserved" in page
    for words in URGENT_WORDS:
        assert words in page
    assert "contact you before your visit" not in page
    assert "Is one leg or foot getting weaker" not in page  # no answers echoed
    with app.app_context():
        emails = {row.kind: row for row in db.session.scalars(select(OutboxMessage))}
        # Queued with the booking, worded once the intake was stored: both say so.
        assert "Urgent review" in emails["staff_review_alert"].subject
        assert "Urgent review" in emails["staff_review_alert"].text_body
        assert "leg" not in emails["staff_review_alert"].text_body.lower()
        patient_email = " ".join(emails["awaiting_review"].text_body.split())
        assert "A clinician will call you today." in patient_email
        assert URGENT_WORDS[1] in patient_email


def test_a_review_that_is_not_urgent_is_for_before_the_visit(client, app, services):
    book_first_visit(client, app, services, cancer_history="yes")

    page = page_text(client.get("/book/confirmed"))
    assert "Your time is reserved" in page
    assert "A clinician will contact you before your visit" in page
    assert "today" not in page
    assert (appointments(app)[0].status) == AppointmentStatus.AWAITING_REVIEW
    with app.app_context():
        alert = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "staff_review_alert")
        )
        assert alert.subject.startswith("Booking awaiting review")


def test_emergency_stops_the_booking_right_after_the_safety_questions(client, app, services):
    # Worked example A: age 46, bladder_start yes (new), saddle_numbness yes (new).
    answers = {
        **default_answers(FIRST_VISIT_STEPS),
        "bladder_start": "yes",
        "bladder_start_onset": "new",
        "saddle_numbness": "yes",
        "saddle_numbness_onset": "new",
    }
    path = start_booking(client, app, services["first"])
    pain, safety, *later = FIRST_VISIT_STEPS
    assert safety.safety and not any(step.safety for step in later)
    assert client.post(path, data=step_data(pain, answers)).location.endswith("/intake/safety")

    response = client.post("/book/intake/safety", data=step_data(safety, answers))

    # The very next page is the emergency advice: no needling, function or consent questions.
    assert response.status_code == 303
    assert response.location.endswith(EMERGENCY_PAGE)
    page = client.get(EMERGENCY_PAGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Go to an emergency department now" in html
    assert 'href="tel:911"' in html
    assert "cauda equina syndrome" in html
    assert "nerve compression" in html
    assert CLINIC_PHONE in html
    assert "Is it newly hard to start peeing" in html
    assert "Is there numbness or tingling between your legs" in html
    assert "New in the last 2 weeks".lower() in html.lower()
    assert "Do you have a fever" not in html  # only the answers that led there

    (appointment,) = appointments(app)
    assert appointment.status == AppointmentStatus.EXPIRED  # the hold was given back
    assert appointment.hold_key is None
    intake = only_intake(app)
    assert intake.tier == "emergency"
    assert intake.appointment_id is None  # no visit was booked, so none is claimed
    assert {"bladder_start", "saddle_numbness", "pain_now"} <= intake.answers.keys()
    later_ids = {q.id for step in later for q in step.questions}
    assert later_ids.isdisjoint(intake.answers)  # never asked
    assert intake.consent_version is None
    with app.app_context():
        given = intake.submitted_at.astimezone(get_clinic().zone)
        assert f"{given:%B} {given.day}, {given.year} at {given:%-I:%M %p}" in html
        (call_back,) = db.session.scalars(select(CallBack)).all()
        assert call_back.intake_id == intake.id
        assert call_back.patient_id == intake.patient_id
        assert call_back.called_at is None
        # The clinic's inbox is alerted, with no clinical detail in the message.
        (alert,) = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "staff_call_back_alert")
        ).all()
        assert alert.recipient == get_clinic().email
        assert "bladder" not in alert.text_body.lower()
        assert "numb" not in alert.text_body.lower()
    # The booking is over: the flow is gone and the pages send the patient back to the start.
    assert client.get("/book/intake/consent").status_code == 302
    assert client.get("/book/intake/needling").status_code == 302


def test_booking_again_after_an_emergency_is_held_for_review(client, app, services):
    book_first_visit(client, app, services, bladder_leak="yes", bladder_leak_onset="new")
    assert only_intake(app).tier == "emergency"

    again = app.test_client()  # the same person, answering "no" to everything this time
    response = book_first_visit(again, app, services)

    assert response.status_code == 303 and response.location.endswith("/book/confirmed")
    with app.app_context():
        latest = db.session.scalars(select(Intake).order_by(Intake.id.desc())).first()
        assert latest.tier == "medical_review"
        assert [f["rule_id"] for f in latest.screening["flags"]] == ["recent_emergency"]
        booked = db.session.get(Appointment, latest.appointment_id)
        assert booked.status == AppointmentStatus.AWAITING_REVIEW


@pytest.mark.parametrize(
    ("call_made", "days_later", "tier"),
    [
        (True, 13, "medical_review"),  # called back, but the emergency is recent
        (False, 20, "medical_review"),  # long ago, but nobody has called back yet
        (True, 15, "clear"),  # called back, and over 14 days ago
    ],
)
def test_an_earlier_emergency_holds_the_next_booking_while_recent_or_uncalled(
    client, app, services, call_made, days_later, tier
):
    book_first_visit(client, app, services, bladder_leak="yes", bladder_leak_onset="new")
    if call_made:
        with app.app_context():
            call_back = db.session.scalar(select(CallBack))
            call_back.called_at = call_back.raised_at
            db.session.commit()
    with time_machine.travel(datetime.now(UTC) + timedelta(days=days_later), tick=False):
        response = book_first_visit(app.test_client(), app, services)
    assert response.location.endswith("/book/confirmed")
    with app.app_context():
        latest = db.session.scalars(select(Intake).order_by(Intake.id.desc())).first()
        assert latest.tier == tier


def test_emergency_page_needs_the_patients_session(client, app, services):
    book_first_visit(client, app, services, bladder_leak="not_sure", bladder_leak_onset="worse")
    other = app.test_client()
    response = other.get("/book/intake/outcome")
    assert response.status_code == 302  # nothing to show to anyone else


def test_no_health_detail_in_any_address(client, app, services):
    locations = []
    (start,) = free_starts(app, services["first"])
    locations.append(hold(client, services["first"], start).location)
    locations.append(client.post("/book/details", data=CONTACT).location)
    answers = {
        **default_answers(FIRST_VISIT_STEPS),
        "bladder_start": "yes",
        "bladder_start_onset": "new",
    }
    for step in FIRST_VISIT_STEPS:
        locations.append(client.post(locations[-1], data=step_data(step, answers)).location)
        if step.safety:
            break
    assert locations[-1].endswith(EMERGENCY_PAGE)
    for location in locations:
        assert "?" not in location
        assert not re.search(r"emergency|bladder|tier|yes|review", location)


# --- Keeping what was typed --------------------------------------------------------------------


def test_validation_error_keeps_every_answer(client, app, services):
    path = start_booking(client, app, services["first"])
    answers = default_answers(FIRST_VISIT_STEPS)
    data = step_data(FIRST_VISIT_STEPS[0], answers)
    data["pain_now"] = "11"  # out of range
    del data["duration"]  # missing

    response = client.post(path, data=data)

    assert response.status_code == 422
    assert_nothing_stored(app)
    html = response.get_data(as_text=True)
    assert 'id="error-summary"' in html
    assert 'href="#pain_now"' in html and 'href="#duration"' in html
    assert "Choose a number from 0 to 10." in html
    assert 'id="pain_now-error"' in html
    assert re.search(r'id="pain_now"[^>]*value="11"', html)
    assert re.search(r'value="low_back_left"\s+checked', html)
    assert re.search(r'value="buttock_left"\s+checked', html)
    assert re.search(r'value="buttock_after_sitting"\s+checked', html)
    assert re.search(r'id="pain_worst_week"[^>]*value="7"', html)
    assert re.search(r'id="activity_1"', html) is None  # another step's question
    # The page is not left: nothing was accepted yet, but nothing was lost either.
    assert client.get(path).status_code == 200
    assert re.search(r'id="pain_now"[^>]*value="11"', client.get(path).get_data(as_text=True))


def test_back_keeps_answers_without_checking_them(client, app, services):
    path = start_booking(client, app, services["first"])
    answers = default_answers(FIRST_VISIT_STEPS)
    pain = FIRST_VISIT_STEPS[0]
    response = client.post(path, data=step_data(pain, answers))
    assert response.location.endswith("/book/intake/safety")

    half_done = {"bladder_start": "yes", "bowel_control": "not_sure", "action": "back"}
    response = client.post("/book/intake/safety", data=half_done)

    assert response.status_code == 303 and response.location.endswith("/book/intake/pain")
    html = client.get("/book/intake/pain").get_data(as_text=True)
    assert re.search(r'id="pain_now"[^>]*value="5"', html)
    html = client.get("/book/intake/safety").get_data(as_text=True)
    assert re.search(r'value="yes"\s+checked', html)  # bladder_start
    assert re.search(r'id="bowel_control-not_sure"[^>]*value="not_sure"\s+checked', html)
    assert 'id="error-summary"' not in html  # Back does not check
    # Back from the first step returns to the contact details, still filled in.
    response = client.post("/book/intake/pain", data=step_data(pain, answers, action="back"))
    assert response.location.endswith("/book/details")
    details = client.get("/book/details").get_data(as_text=True)
    assert 'value="Robin"' in details and 'value="1980-05-17"' in details


def test_consent_waits_for_every_step(client, app, services):
    path = start_booking(client, app, services["first"])
    client.post(path, data=step_data(FIRST_VISIT_STEPS[0], default_answers(FIRST_VISIT_STEPS)))

    response = client.get("/book/intake/consent")

    assert response.status_code == 303 and response.location.endswith("/book/intake/safety")


def test_consent_errors_keep_the_typed_name(client, app, services):
    answers = default_answers(FIRST_VISIT_STEPS)
    answer_steps(client, FIRST_VISIT_STEPS, answers, start_booking(client, app, services["first"]))

    response = client.post(
        "/book/intake/consent",
        data={"version": FIRST_CONSENT_VERSION, "name": "Robin Hale", "action": "next"},
    )

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Tick the box to agree to treatment." in html
    assert 'value="Robin Hale"' in html
    assert_nothing_stored(app)


def test_consent_to_a_replaced_text_is_asked_again(client, app, services):
    answers = default_answers(FIRST_VISIT_STEPS)
    answer_steps(client, FIRST_VISIT_STEPS, answers, start_booking(client, app, services["first"]))
    client.get("/book/intake/consent")  # shows (and creates) the first version
    with app.app_context():
        for old in db.session.scalars(select(ConsentText)):
            old.active = False
        db.session.add(ConsentText(version="2027-01", text="A newer text.\n\nSecond part."))
        db.session.commit()

    response = client.post(
        "/book/intake/consent",
        data={"version": FIRST_CONSENT_VERSION, "agree": "y", "name": "Robin Hale"},
    )

    assert response.status_code == 422
    assert "The consent text was updated" in response.get_data(as_text=True)
    assert_nothing_stored(app)
    response = give_consent(client)
    assert response.location.endswith("/book/confirmed")
    assert only_intake(app).consent_version == "2027-01"


def test_taken_time_keeps_answers_and_returns_to_consent(client, app, services):
    answers = default_answers(FIRST_VISIT_STEPS)
    answer_steps(client, FIRST_VISIT_STEPS, answers, start_booking(client, app, services["first"]))
    # The hold runs out and someone else books the time meanwhile.
    with app.app_context():
        held = db.session.scalars(select(Appointment)).one()
        held.status = AppointmentStatus.EXPIRED
        held.hold_expires_at = now_utc() - timedelta(minutes=1)
        db.session.flush()
        make_appointment(held.practitioner, held.service, held.starts_at)
        db.session.commit()

    response = give_consent(client)

    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "no longer free" in html
    with app.app_context():
        assert db.session.scalars(select(Intake)).all() == []
    new_start = re.search(r'name="start" value="([^"]+)"', html).group(1)
    response = hold(client, services["first"], new_start)
    assert response.status_code == 303 and response.location.endswith("/book/intake/consent")
    assert 'value="Robin Hale"' in client.get("/book/intake/consent").get_data(as_text=True)
    response = give_consent(client)
    assert response.location.endswith("/book/confirmed")
    intake = only_intake(app)
    booked = [a for a in appointments(app) if a.status == AppointmentStatus.CONFIRMED]
    assert [a.id for a in booked if a.patient_id] == [intake.appointment_id]
    assert intake.answers["pain_now"] == 5


def test_times_offered_after_a_lost_race_are_the_chosen_practitioners(client, app, services):
    """They were anyone's, posted back with the chosen practitioner: "someone else booked"."""
    with app.app_context():
        from booking.scheduling.models import Practitioner, Service

        first = db.session.get(Service, services["first"])
        chosen = db.session.scalars(select(Practitioner)).one()
        make_practitioner(services=[first], hours=EVERY_DAY)  # free at the very same times
        db.session.commit()
        chosen_id = chosen.id
    (start,) = free_starts(app, services["first"])
    client.post("/book/hold", data={"service": str(services["first"]),
                                    "practitioner": str(chosen_id), "start": start})
    client.post("/book/details", data=CONTACT)
    answer_steps(client, FIRST_VISIT_STEPS, default_answers(FIRST_VISIT_STEPS),
                 "/book/intake/pain")
    with app.app_context():  # someone else books the chosen practitioner's time meanwhile
        held = db.session.scalars(select(Appointment)).one()
        held.status = AppointmentStatus.EXPIRED
        db.session.flush()
        make_appointment(held.practitioner, held.service, held.starts_at)
        db.session.commit()

    html = give_consent(client).get_data(as_text=True)

    offered = re.search(r'name="start" value="([^"]+)"', html).group(1)
    assert offered != start  # the other practitioner's free time at that moment is not offered
    response = client.post("/book/hold", data={"service": str(services["first"]),
                                               "practitioner": str(chosen_id), "start": offered})
    assert response.status_code == 303 and response.location.endswith("/book/intake/consent")


def test_double_submit_shows_the_booking_made(client, app, services):
    answers = default_answers(FIRST_VISIT_STEPS)
    answer_steps(client, FIRST_VISIT_STEPS, answers, start_booking(client, app, services["first"]))
    cookie = client.get_cookie("session").value

    assert give_consent(client).location.endswith("/book/confirmed")
    client.set_cookie("session", cookie)  # the second click still carries the old session
    response = client.post(
        "/book/intake/consent",
        data={"version": FIRST_CONSENT_VERSION, "agree": "y", "name": "Robin Hale"},
    )

    assert response.status_code == 303 and response.location.endswith("/book/confirmed")
    assert len(appointments(app)) == 1


# --- Follow-ups and returning patients ---------------------------------------------------------


def test_a_follow_up_booked_online_is_confirmed_with_no_check_in_asked(client, app, services):
    """The returning patient's details are known: after them the visit is booked and
    confirmed; its check-in comes in the 72 hours before it (tests/intake/test_check_in.py)."""
    patient_id = returning_patient(app)

    path = start_follow_up(client, app, services["follow"])

    assert path.endswith("/book/confirmed")
    page = client.get(path).get_data(as_text=True)
    assert "You&#39;re booked" in page or "You're booked" in page
    assert "Health questions" not in page
    (booked,) = appointments(app)
    assert (booked.status, booked.patient_id) == (AppointmentStatus.CONFIRMED, patient_id)
    with app.app_context():
        assert [i.kind for i in db.session.scalars(select(Intake))] == ["first_visit"]
        kinds = {m.kind for m in db.session.scalars(select(OutboxMessage))}
        assert "confirmation" in kinds


def test_a_follow_up_booking_never_shows_the_check_in_steps(client, app, services):
    returning_patient(app)
    sign_in_returning_patient(client, CONTACT["email"])
    (start,) = free_starts(app, services["follow"])
    hold(client, services["follow"], start)

    # Before the details are sent, and instead of them: the questions are not on offer.
    assert client.get("/book/intake/progress").location.endswith("/book/")
    details = client.get("/book/details").get_data(as_text=True)
    assert "Book this visit" in details and "Health questions" not in details
    assert appointments(app)[0].status == AppointmentStatus.HELD


# --- A flag a practitioner already approved ------------------------------------------------------


def decide_first_visit(app: Flask, outcome: ReviewOutcome) -> None:
    """A practitioner decides the one booking held for review (as the review page does)."""
    with app.app_context():
        (held,) = db.session.scalars(
            select(Appointment).where(Appointment.status == AppointmentStatus.AWAITING_REVIEW)
        ).all()
        practitioner = User(email="maya@clinic.example", name="Maya", fs_uniquifier="maya-1")
        db.session.add(practitioner)
        db.session.flush()
        decide_review(held, outcome, "Known and stable; seen by her doctor.", practitioner)
        db.session.commit()


def check_in_after_first_visit(client, app, services, outcome: ReviewOutcome, **changes):
    """A first visit held for review and decided; then the follow-up's check-in, answered with
    `changes`. Returns the follow-up and its check-in."""
    book_first_visit(client, app, services, **FIRST_VISIT_HELD)
    assert appointments(app)[0].status == AppointmentStatus.AWAITING_REVIEW
    decide_first_visit(app, outcome)
    start_follow_up(client, app, services["follow"])
    follow_up = appointments(app)[-1]
    with app.app_context():
        token = manage_token(db.session.get(Appointment, follow_up.id))
    answers = {**default_answers(CHECK_IN_STEPS), **changes}
    path = client.get(f"/visit/{token}/questions").location  # the check-in's window is open
    for step in CHECK_IN_STEPS:
        assert path.endswith(f"/questions/{step.id}"), path
        response = client.post(path, data=step_data(step, answers))
        assert response.status_code == 303, response.get_data(as_text=True)[:1500]
        path = response.location
    with app.app_context():
        intake = db.session.scalars(
            select(Intake).where(Intake.kind == "check_in", Intake.appointment_id == follow_up.id)
        ).one()
        db.session.expunge_all()
    return appointments(app)[-1], intake


# Known, unchanged: both legs (review when stable) and sexual function (review alone).
FIRST_VISIT_HELD = {
    "both_legs": "yes",
    "both_legs_onset": "stable",
    "sexual_function": "yes",
    "sexual_function_onset": "stable",
}


def test_an_approved_unchanged_flag_does_not_hold_the_follow_up(client, app, services):
    follow_up, intake = check_in_after_first_visit(
        client, app, services, ReviewOutcome.APPROVED, **FIRST_VISIT_HELD
    )

    assert follow_up.status == AppointmentStatus.CONFIRMED
    assert intake.tier == "clear"
    flags = {f["rule_id"]: f for f in intake.screening["flags"]}
    for rule_id in ("cauda_equina_both_legs", "cauda_equina_sexual_function"):
        assert flags[rule_id]["level"] == "note"  # still shown to the practitioner, with why
        assert re.search(r"; approved before \(\w+ \d+, \d{4}\), unchanged$",
                         flags[rule_id]["summary"])


@pytest.mark.parametrize("onset", ["worse", "new"])
def test_an_approved_flag_that_is_now_worse_holds_the_follow_up(client, app, services, onset):
    follow_up, intake = check_in_after_first_visit(
        client, app, services, ReviewOutcome.APPROVED,
        **{**FIRST_VISIT_HELD, "sexual_function_onset": onset},
    )

    assert follow_up.status == AppointmentStatus.AWAITING_REVIEW
    assert intake.tier == "medical_review"
    levels = {f["rule_id"]: f["level"] for f in intake.screening["flags"]}
    assert levels == {"cauda_equina_both_legs": "note", "cauda_equina_sexual_function": "review"}


def test_a_flag_never_approved_still_holds_the_follow_up(client, app, services):
    follow_up, intake = check_in_after_first_visit(
        client, app, services, ReviewOutcome.APPROVED, **FIRST_VISIT_HELD, fever_now="yes"
    )

    assert follow_up.status == AppointmentStatus.AWAITING_REVIEW
    assert [f["rule_id"] for f in intake.screening["flags"] if f["level"] == "review"] == [
        "fever"
    ]


def test_a_declined_review_approves_nothing(client, app, services):
    follow_up, intake = check_in_after_first_visit(
        client, app, services, ReviewOutcome.DECLINED, **FIRST_VISIT_HELD
    )

    assert follow_up.status == AppointmentStatus.AWAITING_REVIEW
    assert intake.tier == "medical_review"


# --- Stored intakes never change ---------------------------------------------------------------


@pytest.fixture
def stored_intake(client, app, services) -> int:
    book_first_visit(client, app, services)
    return only_intake(app).id


def test_orm_refuses_to_change_a_stored_intake(app, stored_intake):
    with app.app_context():
        intake = db.session.get(Intake, stored_intake)
        intake.tier = "emergency"
        with pytest.raises(IntakeImmutableError):
            db.session.flush()
        db.session.rollback()
        intake = db.session.get(Intake, stored_intake)
        intake.answers = {**intake.answers, "pain_now": 0}
        with pytest.raises(IntakeImmutableError):
            db.session.flush()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE intake SET tier = 'emergency' WHERE id = :id",
        "UPDATE intake SET consent_name = 'Someone Else' WHERE id = :id",
        "UPDATE intake SET answers = screening WHERE id = :id",
        "UPDATE intake SET appointment_id = NULL, tier = 'emergency' WHERE id = :id",
        "UPDATE intake SET appointment_id = NULL, no_needling = NOT no_needling WHERE id = :id",
        "UPDATE intake SET tier = tier WHERE id = :id",
    ],
)
def test_database_refuses_to_change_a_stored_intake(app, stored_intake, statement):
    with app.app_context():
        with pytest.raises(IntegrityError, match="intake_immutable"):
            db.session.execute(text(statement), {"id": stored_intake})
        db.session.rollback()
        assert db.session.get(Intake, stored_intake).tier == "clear"


def test_database_refuses_to_move_an_intake_to_another_appointment(app, stored_intake):
    with app.app_context():
        other = db.session.scalars(select(Appointment)).one()
        with pytest.raises(IntegrityError, match="intake_immutable"):
            db.session.execute(
                text("UPDATE intake SET appointment_id = :other + 1000 WHERE id = :id"),
                {"id": stored_intake, "other": other.id},
            )


def test_deleting_the_appointment_still_unlinks_the_intake(app, stored_intake):
    # ON DELETE SET NULL is an update made by the database itself: the triggers allow it.
    with app.app_context():
        db.session.execute(text("DELETE FROM appointment"))
        db.session.commit()
        intake = db.session.get(Intake, stored_intake)
        assert intake.appointment_id is None
        assert intake.tier == "clear"


# --- The pages themselves ----------------------------------------------------------------------


def test_questions_are_drawn_for_use_without_javascript(client, app, services):
    path = start_booking(client, app, services["first"])
    html = client.get(path).get_data(as_text=True)
    assert "<legend>Where do you feel pain?</legend>" in html
    assert 'type="checkbox" id="pain_areas" name="pain_areas"' in html
    assert re.search(r'type="number"[^>]*id="pain_now"[^>]*min="0" max="10"', html, re.S)
    assert "Enter a number from 0 to 10." in html
    assert 'name="action" value="back"' in html

    client.post(path, data=step_data(FIRST_VISIT_STEPS[0], default_answers(FIRST_VISIT_STEPS)))
    html = client.get("/book/intake/safety").get_data(as_text=True)
    assert html.count('type="radio" id="bladder_start" name="bladder_start"') == 1
    assert 'id="bladder_start-not_sure"' in html
    # Follow-ups sit under their question, introduced in plain words, shown without JavaScript.
    follow_up = html.index('data-follow-up-of="bladder_start"')
    assert html.index('name="bladder_start"') < follow_up < html.index('name="bladder_leak"')
    assert '<span class="follow-up-lead">If yes or not sure:</span>' in html
    assert " hidden" not in html[follow_up - 200 : follow_up + 200]
    assert "Cache-Control" in dict(client.get("/book/intake/safety").headers)


def test_questions_that_read_the_same_have_their_own_names(client, app, services):
    answers = default_answers(FIRST_VISIT_STEPS)
    path = start_booking(client, app, services["first"])
    *before, function = FIRST_VISIT_STEPS
    for step in before:
        path = client.post(path, data=step_data(step, answers)).location
    data = {**step_data(function, answers), "activity_2_score": "eleven"}

    html = client.post(path, data=data).get_data(as_text=True)

    assert '<span class="visually-hidden"> (1 of 3)</span></label>' in html
    assert "How well can you do it now? (2 of 3) Choose a number from 0 to 10." in html


def test_intake_pages_need_a_booking_in_progress(client, services):
    assert client.get("/book/intake/pain").status_code == 302
    assert client.get("/book/intake/consent").status_code == 302


def test_unknown_step_is_not_found(client, app, services):
    start_booking(client, app, services["first"])
    assert client.get("/book/intake/nonsense").status_code == 404
    # A follow-up booking asks no questions: the intake pages send the patient away.
    client2 = app.test_client()
    returning_patient(app, {**CONTACT, "email": "b@example.com"})
    start_follow_up(client2, app, services["follow"], "b@example.com")
    assert client2.get("/book/intake/pain").status_code == 302
    assert client2.get("/book/intake/consent").status_code == 302


def session_of(app: Flask, client) -> dict:
    """The session cookie as the server signed it (signed, not encrypted: anyone can read it)."""
    cookie = client.get_cookie("session")
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


def test_the_cookie_carries_a_token_never_a_detail_or_an_answer(client, app, services):
    """1,000 Chinese characters once made a 6.5 KB cookie and a patient who could not finish."""
    goals = ("我想每天散步一个小时" * 100)[:1000]
    answers = {**default_answers(FIRST_VISIT_STEPS), "goals": goals, "activity_1": "Gardening"}
    path = start_booking(client, app, services["first"])
    secrets = [*CONTACT.values(), goals[:10], "Gardening", "low_back_left", "pain_now"]
    for step in FIRST_VISIT_STEPS:
        response = client.post(path, data=step_data(step, answers))
        assert response.status_code == 303
        path = response.location
        cookie = client.get_cookie("session").value
        assert len(cookie) < 300
        decoded = repr(session_of(app, client))
        assert not [secret for secret in secrets if secret in decoded]
        assert set(session_of(app, client)) <= {"booking_draft", "_fresh", "csrf_token"}

    assert give_consent(client).location.endswith("/book/confirmed")
    assert only_intake(app).answers["goals"] == goals
    assert "booking_draft" not in session_of(app, client)


def test_a_refused_step_keeps_what_was_typed(client, app, services):
    path = start_booking(client, app, services["first"])
    typed = {**step_data(FIRST_VISIT_STEPS[0], default_answers(FIRST_VISIT_STEPS)),
             "pain_now": "11"}

    assert client.post(path, data=typed).status_code == 422

    html = client.get(path).get_data(as_text=True)  # a new request: read from the draft
    assert re.search(r'id="pain_now"[^>]*value="11"', html)
    assert re.search(r'id="pain_worst_week"[^>]*value="7"', html)


def drafts(app: Flask) -> list:
    from booking.intake.drafts import BookingDraft

    with app.app_context():
        rows = db.session.scalars(select(BookingDraft)).all()
        db.session.expunge_all()
        return rows


def test_a_booked_draft_keeps_nothing_typed_only_where_it_ended(
    client, app, services
):
    book_first_visit(client, app, services)

    (draft,) = drafts(app)
    assert (draft.details, draft.questionnaire, draft.hold_key) == ({}, {}, None)
    assert draft.booked_appointment_id == only_intake(app).appointment_id


def test_a_draft_ends_with_its_hold_and_a_grace_period(client, app, services):
    from booking.intake.drafts import DRAFT_GRACE

    path = start_booking(client, app, services["first"])
    client.post(path, data=step_data(FIRST_VISIT_STEPS[0], default_answers(FIRST_VISIT_STEPS)))
    (draft,) = drafts(app)
    with app.app_context():
        hold_ends = db.session.scalars(select(Appointment)).one().hold_expires_at
    assert draft.expires_at >= hold_ends + DRAFT_GRACE - timedelta(seconds=5)

    with time_machine.travel(draft.expires_at + timedelta(seconds=1), tick=False):
        assert client.get(path).location.endswith("/book/")
    assert drafts(app) == []  # gone with everything typed in it
    assert "booking_draft" not in session_of(app, client)


def test_signing_out_deletes_the_draft(client, app, services):
    returning_patient(app)
    start_follow_up_hold = free_starts(app, services["follow"])[0]
    sign_in_returning_patient(client, CONTACT["email"])
    assert hold(client, services["follow"], start_follow_up_hold).status_code == 303
    assert len(drafts(app)) == 1

    client.post("/returning/sign-out")

    assert drafts(app) == []


def test_consent_text_is_created_once(app):
    from booking.intake.service import current_consent

    with app.app_context():
        first = current_consent()
        again = current_consent()
        assert first.id == again.id and first.version == FIRST_CONSENT_VERSION
        assert "24 to 72 hours" in first.text and "stop" in first.text

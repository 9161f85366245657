"""A first visit booked by the front desk gets its questionnaire: through the visit's signed link,
or filled in by the desk with the patient on the phone; on both engines.

The outcome applies as online: clear stays confirmed, review turns the visit into "awaiting
review" (with the emails), emergency cancels it right after the safety step and raises the
call-back. Answers in progress live in the database, never in the cookie.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from booking.accounts.models import RoleName, User
from booking.audit.models import AuditEvent
from booking.extensions import db
from booking.intake.models import CallBack, Intake, QuestionnaireDraft
from booking.intake.questionnaire import FIRST_VISIT_STEPS, Step
from booking.notify.models import OutboxMessage
from booking.scheduling.models import Appointment, AppointmentStatus, VisitKind
from tests.factories import make_appointment, make_patient, make_practitioner, make_service
from tests.helpers import STAFF_PASSWORD, make_staff, make_staff_app, sign_in

NOW = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # Monday 8:00 in New York
DESK_EMAIL = "desk@example.com"
EMERGENCY_PAGE = "/visit/questions/emergency"
THANKS = "Thank you, your answers are with your practitioner"
SECRET_GOAL = "Dance-at-my-daughters-wedding"  # an answer the desk never sees once stored


@pytest.fixture
def app(make_app) -> Flask:
    return make_staff_app(make_app, STAFF_IDLE_MINUTES=10**6)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def clinic(app: Flask) -> dict[str, int]:
    with app.app_context():
        first = make_service(slug="first-visit", name="First visit", minutes=60,
                             kind=VisitKind.FIRST_VISIT)
        follow = make_service(slug="follow-up", name="Follow-up", minutes=30)
        maya = make_practitioner([first, follow], name="Maya Chen", slug="maya")
        ana = make_patient(first_name="Ana", last_name="Silva", email="ana@example.com",
                           date_of_birth=date(1971, 4, 2))
        make_staff(DESK_EMAIL, RoleName.FRONT_DESK, name="Dana")
        db.session.commit()
        return {"first": first.id, "follow": follow.id, "maya": maya.id, "ana": ana.id}


@pytest.fixture
def desk(app: Flask, clinic) -> FlaskClient:
    return sign_in(app.test_client(), DESK_EMAIL, STAFF_PASSWORD)


@pytest.fixture
def visit_id(app: Flask, desk: FlaskClient, clinic) -> int:
    """Ana's first visit, booked by the desk on Tuesday at 13:00, the questions link emailed."""
    booked = desk.post("/staff/desk/book", data={
        "patient": clinic["ana"], "service": clinic["first"], "practitioner": "any",
        "day": "2026-11-24", "time": "13:00", "send_intake": "y",
    })
    assert booked.status_code == 303
    with app.app_context():
        visit = db.session.scalar(
            select(Appointment).where(Appointment.patient_id == clinic["ana"]))
        assert (visit.status, visit.source) == (AppointmentStatus.CONFIRMED, "desk")
        return visit.id


def intake_request(app: Flask) -> OutboxMessage:
    with app.app_context():
        (message,) = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "intake_request"))
        db.session.expunge(message)
        return message


def questions_path(app: Flask) -> str:
    """The questionnaire link of the intake-request email, as a path."""
    text = intake_request(app).text_body
    match = re.search(r"https?://[^/\s]+(/visit/[^/\s]+/questions)\s", text)
    assert match, text
    return match.group(1)


def default_answers() -> dict[str, Any]:
    """A plain "clear" answer to every required question."""
    answers: dict[str, Any] = {
        q.id: "no"
        for step in FIRST_VISIT_STEPS
        for q in step.questions
        if q.required and not q.follow_up_of and q.kind in ("yes_no", "yes_no_unsure")
    }
    answers.update(
        pain_areas=["low_back_left"], duration="over_3_months", pattern=["worse_sitting"],
        pain_now="5", pain_worst_week="7", pain_average_week="4", bad_days_week="3",
        relief_days_week="2", activity_1="Gardening", activity_1_score="4", goals=SECRET_GOAL,
    )
    return answers


def step_data(step: Step, answers: dict[str, Any]) -> dict[str, Any]:
    ids = {question.id for question in step.questions}
    return {**{k: v for k, v in answers.items() if k in ids}, "action": "next"}


def answer_all(client: FlaskClient, start: str, name: str = "Ana Silva", **overrides):
    """Open the questions, send every step, then consent; the last response."""
    answers = {**default_answers(), **overrides}
    response = client.get(start)
    assert response.status_code == 303, response.status_code
    path = response.location
    for step in FIRST_VISIT_STEPS:
        assert path.endswith(f"/questions/{step.id}"), path
        response = client.post(path, data=step_data(step, answers))
        assert response.status_code == 303, response.get_data(as_text=True)[:1500]
        path = response.location
        if path.endswith((EMERGENCY_PAGE, "/questions/outcome")):
            return response
    assert path.endswith("/questions/consent"), path
    page = client.get(path).get_data(as_text=True)
    version = re.search(r'name="version"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="version"', page)
    return client.post(path, data={"version": version.group(1), "agree": "y", "name": name,
                                   "action": "next"})


def load(app: Flask, model, **where):
    with app.app_context():
        rows = db.session.scalars(select(model).filter_by(**where)).all()
        db.session.expunge_all()
        return list(rows)


def the_visit(app: Flask, visit_id: int) -> Appointment:
    with app.app_context():
        visit = db.session.get(Appointment, visit_id)
        db.session.expunge(visit)
        return visit


# --- The link in the email and on the visit page ----------------------------------------------


def test_the_intake_request_email_carries_the_questions_link(app, visit_id, client):
    text = intake_request(app).text_body
    assert "15 minutes early" not in text
    assert "or call us" in text.lower()
    path = questions_path(app)
    visit_page = path.removesuffix("/questions")
    page = client.get(visit_page).get_data(as_text=True)
    assert "Answer the health questions" in page and f'href="{path}"' in page
    assert client.get(path).location.endswith("/questions/pain")


def test_clear_answers_keep_the_visit_confirmed(app, visit_id, client):
    response = answer_all(client, questions_path(app))

    assert response.status_code == 303 and response.location.endswith("/questions/done")
    page = client.get(response.location).get_data(as_text=True)
    assert THANKS in page
    assert the_visit(app, visit_id).status == AppointmentStatus.CONFIRMED
    (intake,) = load(app, Intake)
    assert (intake.appointment_id, intake.tier, intake.kind) == (visit_id, "clear", "first_visit")
    assert intake.entered_by_id is None
    assert (intake.consent_name, intake.consent_version) == ("Ana Silva", "2026-11")
    assert intake.answers["date_of_birth"] == "1971-04-02"  # from the patient's record
    assert load(app, QuestionnaireDraft) == []  # the draft is gone once stored
    visit_page = client.get(questions_path(app).removesuffix("/questions"))
    assert "Answer the health questions" not in visit_page.get_data(as_text=True)


def test_review_holds_the_visit_for_review_with_the_emails(app, visit_id, client):
    response = answer_all(client, questions_path(app),
                          one_leg_weakening="yes", one_leg_weakening_onset="worse")

    page = client.get(response.location).get_data(as_text=True)
    # One leg getting weaker, worse: an urgent review, so the patient hears "today".
    assert "A clinician will call you today" in page
    assert "see an urgent-care doctor today" in page
    assert the_visit(app, visit_id).status == AppointmentStatus.AWAITING_REVIEW
    (intake,) = load(app, Intake)
    assert (intake.tier, intake.appointment_id) == ("medical_review", visit_id)
    kinds = {(m.kind, m.recipient) for m in load(app, OutboxMessage, appointment_id=visit_id)}
    assert ("awaiting_review", "ana@example.com") in kinds
    assert any(kind == "staff_review_alert" for kind, _ in kinds)
    for message in load(app, OutboxMessage):  # no health detail in any email
        assert "one leg" not in message.text_body.lower()
        assert "foot" not in message.text_body.lower()


def test_emergency_cancels_the_visit_right_after_the_safety_step(app, visit_id, client):
    start = questions_path(app)
    response = answer_all(client, start, bladder_start="yes", bladder_start_onset="new",
                          saddle_numbness="yes", saddle_numbness_onset="new")

    assert response.request.path.endswith("/questions/safety")  # straight after the safety step
    assert response.location.endswith(EMERGENCY_PAGE)
    html = client.get(EMERGENCY_PAGE).get_data(as_text=True)
    assert "Go to an emergency department now" in html and 'href="tel:911"' in html
    assert "cauda equina syndrome" in html
    assert "We have cancelled your visit" in html
    assert "Is it newly hard to start peeing" in html

    visit = the_visit(app, visit_id)
    assert visit.status == AppointmentStatus.CANCELLED
    assert visit.cancel_reason == "Emergency care advised"
    (intake,) = load(app, Intake)
    assert (intake.tier, intake.appointment_id) == ("emergency", None)
    assert "needle_fear" not in intake.answers  # never asked
    (call_back,) = load(app, CallBack)
    assert call_back.intake_id == intake.id and call_back.called_at is None
    kinds = {m.kind for m in load(app, OutboxMessage)}
    assert {"staff_call_back_alert", "cancelled"} <= kinds
    assert client.get(start).status_code == 404  # the visit changed: its link has ended


# --- Which links stand -------------------------------------------------------------------------


def test_the_link_is_refused_for_a_tampered_token_another_visit_or_a_changed_visit(
    app, visit_id, client, clinic
):
    start = questions_path(app)
    token = start.split("/")[2]
    assert client.get(f"/visit/{token[:-2]}xx/questions").status_code == 404
    with app.app_context():
        from booking.notify.links import manage_token
        from booking.patients.models import Patient
        from booking.scheduling.models import Practitioner, Service

        follow_up = make_appointment(
            db.session.get(Practitioner, clinic["maya"]), db.session.get(Service, clinic["follow"]),
            datetime(2026, 11, 25, 15, tzinfo=UTC), patient=db.session.get(Patient, clinic["ana"]),
        )
        other = manage_token(follow_up)
        db.session.commit()
    # A follow-up's link opens its check-in (tests/intake/test_check_in.py), never these steps.
    assert client.get(f"/visit/{other}/questions").location.endswith("/questions/progress")
    assert client.get(f"/visit/{other}/questions/pain").status_code == 404

    with app.app_context():
        db.session.get(Appointment, visit_id).sequence += 1  # the visit changed (moved)
        db.session.commit()
    assert client.get(start).status_code == 404
    assert client.post(f"{start}/pain", data={"action": "next"}).status_code == 404


def test_answered_links_say_so_and_store_no_second_intake(app, visit_id, client):
    start = questions_path(app)
    answer_all(client, start)

    page = client.get(f"{start}/pain")
    assert page.status_code == 200
    assert "You have already answered the health questions" in page.get_data(as_text=True)
    again = client.post(f"{start}/consent", data={"agree": "y", "name": "Ana"})
    assert "already answered" in again.get_data(as_text=True)
    assert len(load(app, Intake)) == 1


def test_answers_stay_in_the_database_never_in_the_cookie(app, visit_id, client):
    start = questions_path(app)
    pain, safety, *_ = FIRST_VISIT_STEPS
    path = client.get(start).location
    client.post(path, data=step_data(pain, default_answers()))

    cookie = client.get_cookie("session")
    if cookie is not None:
        session = app.session_interface.get_signing_serializer(app).loads(cookie.value)
        flat = repr(session)
        for key in ("answers", "pain_now", "pain_areas", "low_back_left", "booking_flow"):
            assert key not in flat, session
    (draft,) = load(app, QuestionnaireDraft, appointment_id=visit_id)
    assert draft.answers["pain_now"] == "5" and draft.done_steps == ["pain"]
    # Coming back later (another device) resumes from the database.
    assert app.test_client().get(start).location.endswith("/questions/safety")


def test_an_invalid_answer_is_422_and_keeps_what_was_typed(app, visit_id, client):
    pain = FIRST_VISIT_STEPS[0]
    path = client.get(questions_path(app)).location
    response = client.post(path, data={**step_data(pain, default_answers()), "pain_now": "11"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'value="11"' in page and 'value="over_3_months" checked' in page
    assert response.headers["Cache-Control"] == "no-store"
    assert load(app, Intake) == []
    # Kept in the draft although the 422 rolled the request back: it is there on coming back.
    assert 'value="11"' in client.get(path).get_data(as_text=True)


# --- The desk, with the patient on the phone ---------------------------------------------------


def test_the_desk_fills_it_in_and_then_sees_the_tier_only(app, desk, visit_id):
    card = f"/staff/desk/appointments/{visit_id}"
    page = desk.get(card).get_data(as_text=True)
    assert "Fill in the questionnaire with the patient" in page
    assert f'href="{card}/questions"' in page

    response = answer_all(desk, f"{card}/questions", name="Ana Silva",
                          cancer_history="yes")

    assert response.status_code == 303 and response.location.endswith(f"{card}/questions/outcome")
    outcome = desk.get(response.location).get_data(as_text=True)
    assert "Questionnaire saved" in outcome
    (intake,) = load(app, Intake)
    (staff,) = load(app, User, email=DESK_EMAIL)
    assert intake.entered_by_id == staff.id
    assert (intake.consent_name, intake.appointment_id) == ("Ana Silva", visit_id)
    assert the_visit(app, visit_id).status == AppointmentStatus.AWAITING_REVIEW
    (event,) = load(app, AuditEvent, action="intake.entered_by_staff")
    assert event.actor_id == staff.id and event.subject_id == intake.id
    assert SECRET_GOAL not in repr(event.details) and "one_leg" not in repr(event.details)

    page = desk.get(card).get_data(as_text=True)
    assert "Medical review" in page
    assert "Fill in the questionnaire with the patient" not in page
    for shown in (page, outcome):
        assert SECRET_GOAL not in shown and "Gardening" not in shown
    # Its questions are closed now: back to the visit card, no answers shown.
    closed = desk.get(f"{card}/questions/pain")
    assert closed.status_code == 303 and closed.location.endswith(card)


def test_the_desk_sees_the_emergency_advice_to_give_at_once(app, desk, visit_id):
    card = f"/staff/desk/appointments/{visit_id}"
    response = answer_all(desk, f"{card}/questions", bowel_control="yes",
                          bowel_control_onset="worse")

    assert response.location.endswith(f"{card}/questions/outcome")
    page = desk.get(response.location).get_data(as_text=True)
    assert "emergency department" in page and "911" in page
    assert the_visit(app, visit_id).status == AppointmentStatus.CANCELLED
    (intake,) = load(app, Intake)
    assert intake.entered_by_id is not None and intake.appointment_id is None
    assert len(load(app, CallBack)) == 1

"""A follow-up's check-in: asked in the 72 hours before the visit, through the visit's own link
(in the reminder and on the visit page) or by the desk on the phone; asked again when the visit
moves by more than 72 hours; "No check-in" for the practitioner and the desk while it is missing.
On both engines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from booking.accounts.models import User
from booking.extensions import db
from booking.intake.completion import questionnaire_answered
from booking.intake.models import CallBack, Intake, QuestionnaireDraft
from booking.intake.questionnaire import CHECK_IN_STEPS, Step
from booking.intake.service import check_in_done, check_in_open, check_ins_done
from booking.notify.links import manage_token
from booking.notify.models import OutboxMessage
from booking.scheduling.changes import move_appointment
from booking.scheduling.models import Appointment, AppointmentStatus
from tests.clinician.helpers import World, add_intake, build_world, local
from tests.factories import make_patient
from tests.helpers import STAFF_PASSWORD, make_staff_app, sign_in

NOW = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # Monday 8:00 in New York
VISIT_DAY = date(2026, 11, 27)  # Friday: the follow-up at 13:00, its check-in opens Tuesday 13:00
INSIDE = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # Thursday 10:00: when the reminder goes out
EMERGENCY_PAGE = "/visit/questions/emergency"


@pytest.fixture
def app(make_app) -> Flask:
    return make_staff_app(make_app, STAFF_IDLE_MINUTES=10**6)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(app: Flask) -> World:
    with app.app_context():
        found = build_world()
        db.session.commit()
    return found


@pytest.fixture
def desk(app: Flask, world: World) -> FlaskClient:
    return sign_in(app.test_client(), world.desk_email, STAFF_PASSWORD)


@pytest.fixture
def visit_id(app: Flask, world: World, desk: FlaskClient) -> int:
    """Ana (assessed at her first visit) has a follow-up with Maya on Friday at 13:00, booked
    by the desk."""
    with app.app_context():
        ana = make_patient(first_name="Ana", last_name="Silva", email="ana@example.com",
                           date_of_birth=date(1971, 4, 2))
        add_intake(ana, submitted_at=NOW - timedelta(days=20))
        db.session.commit()
        ana_id = ana.id
    booked = desk.post("/staff/desk/book", data={
        "patient": ana_id, "service": world.follow_up, "practitioner": str(world.maya),
        "day": VISIT_DAY.isoformat(), "time": "13:00",
    })
    assert booked.status_code == 303, booked.get_data(as_text=True)[:1000]
    with app.app_context():
        visit = db.session.scalar(select(Appointment).where(Appointment.patient_id == ana_id))
        assert visit.status == AppointmentStatus.CONFIRMED
        assert visit.starts_at == local(VISIT_DAY, 13)
        return visit.id


def the_visit(app: Flask, visit_id: int) -> Appointment:
    with app.app_context():
        visit = db.session.get(Appointment, visit_id)
        db.session.expunge(visit)
        return visit


def questions_path(app: Flask, visit_id: int) -> str:
    with app.app_context():
        return f"/visit/{manage_token(db.session.get(Appointment, visit_id))}/questions"


def check_in_answers() -> dict[str, Any]:
    answers: dict[str, Any] = {
        q.id: "no"
        for step in CHECK_IN_STEPS
        for q in step.questions
        if q.required and not q.follow_up_of and q.kind in ("yes_no", "yes_no_unsure")
    }
    answers.update(pain_now="3", bad_days_week="1", relief_days_week="5")
    return answers


def step_data(step: Step, answers: dict[str, Any]) -> dict[str, Any]:
    ids = {question.id for question in step.questions}
    return {**{k: v for k, v in answers.items() if k in ids}, "action": "next"}


def answer_check_in(client: FlaskClient, start: str, **overrides):
    """Open the check-in and send every step (there is no consent step); the last response."""
    answers = {**check_in_answers(), **overrides}
    response = client.get(start)
    assert response.status_code == 303, response.get_data(as_text=True)[:1000]
    path = response.location
    for step in CHECK_IN_STEPS:
        assert path.endswith(f"/questions/{step.id}"), path
        response = client.post(path, data=step_data(step, answers))
        assert response.status_code == 303, response.get_data(as_text=True)[:1500]
        path = response.location
        if path.endswith((EMERGENCY_PAGE, "/questions/outcome")):
            return response
    return response


def check_ins(app: Flask) -> list[Intake]:
    with app.app_context():
        found = db.session.scalars(
            select(Intake).where(Intake.kind == "check_in").order_by(Intake.id)).all()
        db.session.expunge_all()
        return list(found)


def move(app: Flask, visit_id: int, new_start: datetime) -> None:
    with app.app_context():
        move_appointment(db.session.get(Appointment, visit_id), new_start, NOW)
        db.session.commit()


# --- The rule -----------------------------------------------------------------------------------


def test_the_window_is_the_72_hours_before_the_start(app, visit_id):
    visit = the_visit(app, visit_id)
    opens = visit.starts_at - timedelta(hours=72)
    assert not check_in_open(visit, opens - timedelta(seconds=1))
    assert check_in_open(visit, opens)
    assert check_in_open(visit, visit.starts_at - timedelta(seconds=1))
    assert not check_in_open(visit, visit.starts_at)


def test_a_check_in_counts_from_72_hours_before_the_current_start(app, visit_id):
    with app.app_context():
        visit = db.session.get(Appointment, visit_id)
        opens = visit.starts_at - timedelta(hours=72)
        add_intake(visit.patient, visit, kind="check_in", submitted_at=opens - timedelta(minutes=1),
                   pain_now=3)
        assert not check_in_done(visit)
        add_intake(visit.patient, visit, kind="check_in", submitted_at=opens, pain_now=3)
        assert check_in_done(visit) and questionnaire_answered(visit)
        assert check_ins_done([visit]) == {visit.id}
        assert check_ins_done([]) == set()


# --- Through the visit's link -------------------------------------------------------------------


def test_before_the_window_the_link_says_when_it_opens(app, visit_id, client):
    page = client.get(questions_path(app, visit_id))

    assert page.status_code == 200
    text = page.get_data(as_text=True)
    opens = ("Your check-in opens on Tuesday, November 24, 2026 at 1:00 PM: "
             "we will email you the link")
    assert opens in text
    assert check_ins(app) == []
    visit_page = client.get(questions_path(app, visit_id).removesuffix("/questions"))
    assert "Your check-in opens on Tuesday, November 24" in visit_page.get_data(as_text=True)
    assert "Answer your check-in" not in visit_page.get_data(as_text=True)


def test_inside_the_window_it_runs_and_stores_a_check_in_for_the_visit(app, visit_id, client):
    path = questions_path(app, visit_id)
    with time_machine.travel(INSIDE, tick=False):
        visit_page = client.get(path.removesuffix("/questions")).get_data(as_text=True)
        assert "Answer your check-in" in visit_page

        done = answer_check_in(client, path)

        assert done.location.endswith("/questions/done")
        thanks = client.get(done.location).get_data(as_text=True)
        assert "Thank you, your answers are with your practitioner" in thanks
        (intake,) = check_ins(app)
        assert (intake.appointment_id, intake.tier, intake.consent_version) == (
            visit_id, "clear", None)
        assert intake.answers["pain_now"] == 3 and intake.submitted_at == INSIDE
        assert the_visit(app, visit_id).status == AppointmentStatus.CONFIRMED
        with app.app_context():
            assert db.session.scalars(select(QuestionnaireDraft)).all() == []
        # Done once per window: the link says so and stores nothing more.
        again = client.get(path)
        assert "You have already answered your check-in" in again.get_data(as_text=True)
        assert len(check_ins(app)) == 1
        assert "Answer your check-in" not in client.get(
            path.removesuffix("/questions")).get_data(as_text=True)


def test_an_emergency_answer_cancels_the_visit_right_after_the_safety_step(app, visit_id, client):
    with time_machine.travel(INSIDE, tick=False):
        response = answer_check_in(client, questions_path(app, visit_id),
                                   bladder_start="yes", bladder_start_onset="new")

        assert response.location.endswith(EMERGENCY_PAGE)
        assert "cauda equina" in client.get(EMERGENCY_PAGE).get_data(as_text=True).lower()
        visit = the_visit(app, visit_id)
        assert visit.status == AppointmentStatus.CANCELLED
        (intake,) = check_ins(app)
        assert intake.tier == "emergency" and "fever_now" not in intake.answers
        with app.app_context():
            assert len(db.session.scalars(select(CallBack)).all()) == 1


def test_a_review_answer_holds_the_visit_for_review(app, visit_id, client):
    with time_machine.travel(INSIDE, tick=False):
        answer_check_in(client, questions_path(app, visit_id),
                        one_leg_weakening="yes", one_leg_weakening_onset="worse")
        assert the_visit(app, visit_id).status == AppointmentStatus.AWAITING_REVIEW


def test_after_the_start_the_check_in_is_closed(app, visit_id, client):
    path = questions_path(app, visit_id)
    with time_machine.travel(local(VISIT_DAY, 13), tick=False):
        assert client.get(path).status_code == 404


def test_a_move_of_more_than_72_hours_asks_again_and_of_less_does_not(app, visit_id, client):
    with time_machine.travel(INSIDE, tick=False):
        answer_check_in(client, questions_path(app, visit_id))
        # Two hours later the same day: the check-in given on Thursday still counts.
        move(app, visit_id, local(VISIT_DAY, 15))
        assert "already answered your check-in" in client.get(
            questions_path(app, visit_id)).get_data(as_text=True)
        with app.app_context():
            assert check_in_done(db.session.get(Appointment, visit_id))

        # Next Tuesday: more than 72 hours away from the check-in's window.
        move(app, visit_id, local(date(2026, 12, 1), 13))
        with app.app_context():
            assert not check_in_done(db.session.get(Appointment, visit_id))
        later = client.get(questions_path(app, visit_id)).get_data(as_text=True)
        assert "Your check-in opens on Saturday, November 28, 2026 at 1:00 PM" in later

    with time_machine.travel(datetime(2026, 11, 30, 15, 0, tzinfo=UTC), tick=False):
        done = answer_check_in(client, questions_path(app, visit_id), pain_now="2")
        assert done.location.endswith("/questions/done")
        assert [i.answers["pain_now"] for i in check_ins(app)] == [3, 2]


# --- Links and badges ---------------------------------------------------------------------------


def test_the_reminder_of_a_follow_up_carries_the_check_in_link(app, visit_id):
    with app.app_context():
        (reminder,) = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "reminder")).all()
        assert reminder.next_attempt_at <= local(VISIT_DAY, 13) - timedelta(hours=24)
        assert reminder.next_attempt_at >= local(VISIT_DAY, 13) - timedelta(hours=72)
        link = re.search(r"https?://[^/\s]+(/visit/[^/\s]+/questions)\s", reminder.text_body)
        assert link, reminder.text_body
        assert "Answer your check-in" in reminder.html_body
        path = link.group(1)
    assert path == questions_path(app, visit_id)


def test_the_practitioner_sees_no_check_in_once_the_window_opens(app, world, visit_id):
    maya = sign_in(app.test_client(), world.maya_email, STAFF_PASSWORD)
    day = f"/staff/clinician/day?date={VISIT_DAY.isoformat()}"
    missing = '<li class="badge badge-missing">No check-in</li>'
    assert missing not in maya.get(day).get_data(as_text=True)  # Monday: not open yet
    with time_machine.travel(INSIDE, tick=False):
        assert missing in maya.get(day).get_data(as_text=True)
    with time_machine.travel(local(VISIT_DAY, 14), tick=False):  # and still once it started
        assert missing in maya.get(day).get_data(as_text=True)


def test_the_desk_sees_no_check_in_and_fills_it_in_with_the_patient(app, world, desk, visit_id):
    card = f"/staff/desk/appointments/{visit_id}"
    board = f"/staff/desk/day?date={VISIT_DAY.isoformat()}"
    text = desk.get(card).get_data(as_text=True)
    assert "Fill in the check-in with the patient" not in text
    assert "No check-in" not in desk.get(board).get_data(as_text=True)
    refused = desk.get(f"{card}/questions")
    assert refused.status_code == 303 and refused.location.endswith(card)

    with time_machine.travel(INSIDE, tick=False):
        text = desk.get(card).get_data(as_text=True)
        assert "Fill in the check-in with the patient" in text and "No check-in" in text
        assert "No check-in" in desk.get(board).get_data(as_text=True)

        response = answer_check_in(desk, f"{card}/questions")

        assert response.location.endswith(f"{card}/questions/outcome")
        (intake,) = check_ins(app)
        with app.app_context():
            entered_by = db.session.get(User, intake.entered_by_id)
            assert entered_by is not None and entered_by.email == world.desk_email
        text = desk.get(card).get_data(as_text=True)
        assert "No check-in" not in text and "Fill in the check-in" not in text
        assert "No check-in" not in desk.get(board).get_data(as_text=True)
        again = desk.get(f"{card}/questions")
        assert again.status_code == 303 and again.location.endswith(card)

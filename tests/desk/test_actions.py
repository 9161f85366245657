"""Front-desk actions through the pages: status changes, move, cancel, booking callers, time off.

Every test runs on SQLite and on PostgreSQL (the `app` fixture is parametrised over both).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from sqlalchemy import select

from booking.audit.models import AuditEvent
from booking.extensions import db
from booking.notify.models import OutboxMessage
from booking.patients.models import Patient
from booking.scheduling.models import Appointment, AppointmentStatus, TimeOff
from tests.desk.helpers import (
    DESK_EMAIL,
    DESK_TEST_CONFIG,
    NOW,
    TODAY,
    add,
    call_back_for,
    local,
    visit,
)
from tests.helpers import STAFF_PASSWORD, csrf_token_in, make_staff_app, sign_in

TOMORROW = date(2026, 11, 24)


def load(app, appointment_id: int) -> Appointment:
    with app.app_context():
        row = db.session.get(Appointment, appointment_id)
        db.session.expunge(row)
        return row


def audit_actions(app, subject_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.subject_id == subject_id)
            .order_by(AuditEvent.id)
        ))


# --- Check in, complete, no-show ----------------------------------------------------------


def test_check_in_a_confirmed_visit_on_its_day(app, desk, clinic):
    appointment = add(app, lambda: visit(clinic, local(TODAY, 9)))
    response = desk.post(f"/staff/desk/appointments/{appointment}/check-in")
    assert response.status_code == 303
    row = load(app, appointment)
    assert row.status == AppointmentStatus.CHECKED_IN
    assert row.sequence == 0  # the patient's calendar entry does not change
    assert "appointment.check_in" in audit_actions(app, appointment)
    assert "Checked in." in desk.get(response.location).get_data(as_text=True)


@pytest.mark.parametrize(
    "status, day, reason",
    [
        (AppointmentStatus.CONFIRMED, TOMORROW, "on the day of their visit only"),
        (AppointmentStatus.AWAITING_REVIEW, TODAY, "not possible for a visit that is awaiting"),
        (AppointmentStatus.CANCELLED, TODAY, "not possible for a visit that is cancelled"),
    ],
)
def test_check_in_is_refused_otherwise(app, desk, clinic, status, day, reason):
    appointment = add(app, lambda: visit(clinic, local(day, 9), status=status))
    response = desk.post(f"/staff/desk/appointments/{appointment}/check-in")
    assert response.status_code == 409
    assert reason in response.get_data(as_text=True)
    assert load(app, appointment).status == status
    assert audit_actions(app, appointment) == []


def test_no_show_only_once_the_visit_has_started_and_it_can_be_undone(app, desk, clinic):
    appointment = add(app, lambda: visit(clinic, local(TODAY, 9)))
    url = f"/staff/desk/appointments/{appointment}"
    early = desk.post(f"{url}/no-show")
    assert early.status_code == 409
    assert "has not started yet" in early.get_data(as_text=True)
    with time_machine.travel(local(TODAY, 9, 20), tick=False):
        assert desk.post(f"{url}/no-show").status_code == 303
        assert load(app, appointment).status == AppointmentStatus.NO_SHOW
        assert desk.post(f"{url}/undo").status_code == 303
    assert load(app, appointment).status == AppointmentStatus.CONFIRMED
    assert audit_actions(app, appointment) == ["appointment.no_show", "appointment.undo"]


def test_complete_only_once_the_visit_has_started_checked_in_or_not(app, desk, clinic):
    checked_in = add(app, lambda: visit(clinic, local(TODAY, 9)))
    confirmed = add(app, lambda: visit(clinic, local(TODAY, 10), patient=clinic.ben))
    # 8:00: checked in early, but not completed an hour before the visit starts.
    assert desk.post(f"/staff/desk/appointments/{checked_in}/check-in").status_code == 303
    refused = desk.post(f"/staff/desk/appointments/{checked_in}/complete")
    assert refused.status_code == 409
    assert "This visit has not started yet." in refused.get_data(as_text=True)
    assert load(app, checked_in).status == AppointmentStatus.CHECKED_IN
    assert desk.post(f"/staff/desk/appointments/{confirmed}/complete").status_code == 409
    with time_machine.travel(local(TODAY, 9, 1), tick=False):
        assert desk.post(f"/staff/desk/appointments/{checked_in}/complete").status_code == 303
    assert load(app, checked_in).status == AppointmentStatus.COMPLETED
    with time_machine.travel(local(TODAY, 10, 5), tick=False):
        assert desk.post(f"/staff/desk/appointments/{confirmed}/complete").status_code == 303
        assert load(app, confirmed).status == AppointmentStatus.COMPLETED
        # Completed stays completed: no undo, no no-show.
        assert desk.post(f"/staff/desk/appointments/{confirmed}/undo").status_code == 409
        assert desk.post(f"/staff/desk/appointments/{confirmed}/no-show").status_code == 409


# --- Cancel --------------------------------------------------------------------------------


def test_cancel_needs_a_reason_then_cancels_and_tells_the_calendar(app, desk, clinic):
    appointment = add(app, lambda: visit(clinic, local(TOMORROW, 9)))
    url = f"/staff/desk/appointments/{appointment}/cancel"
    missing = desk.post(url, data={"reason": "  "})
    assert missing.status_code == 422
    assert "Say why the visit is cancelled." in missing.get_data(as_text=True)
    assert load(app, appointment).status == AppointmentStatus.CONFIRMED

    assert desk.post(url, data={"reason": "Patient has the flu"}).status_code == 303
    row = load(app, appointment)
    assert row.status == AppointmentStatus.CANCELLED
    assert row.cancel_reason == "Patient has the flu"
    assert row.sequence == 1
    assert "appointment.cancelled" in audit_actions(app, appointment)
    again = desk.post(url, data={"reason": "twice"})
    assert again.status_code == 409


# --- Move ----------------------------------------------------------------------------------


def test_move_to_a_free_time(app, desk, clinic):
    appointment = add(app, lambda: visit(clinic, local(TOMORROW, 10)))
    page = desk.get(f"/staff/desk/appointments/{appointment}").get_data(as_text=True)
    assert 'name="time" value="11:00"' in page  # the free times are buttons
    response = desk.post(f"/staff/desk/appointments/{appointment}/move",
                         data={"day": "2026-11-24", "time": "11:00", "practitioner": ""})
    assert response.status_code == 303
    row = load(app, appointment)
    assert row.starts_at == local(TOMORROW, 11)
    assert row.sequence == 1
    assert "appointment.moved" in audit_actions(app, appointment)
    assert "Moved to Tuesday, November 24 at 11:00 AM" in desk.get(response.location).get_data(
        as_text=True)


def test_move_to_another_practitioner(app, desk, clinic):
    appointment = add(app, lambda: visit(clinic, local(TOMORROW, 10)))
    response = desk.post(f"/staff/desk/appointments/{appointment}/move",
                         data={"day": "2026-11-24", "time": "10:00",
                               "practitioner": str(clinic.sam)})
    assert response.status_code == 303
    assert load(app, appointment).practitioner_id == clinic.sam
    assert "with Sam Okafor" in desk.get(response.location).get_data(as_text=True)


def test_move_onto_a_taken_time_is_refused_and_nothing_changes(app, desk, clinic):
    appointment = add(app, lambda: visit(clinic, local(TOMORROW, 10)))
    add(app, lambda: visit(clinic, local(TOMORROW, 11), patient=clinic.ben))
    data = {"day": "2026-11-24", "time": "11:00", "practitioner": str(clinic.maya)}
    response = desk.post(f"/staff/desk/appointments/{appointment}/move", data=data)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "That time is taken" in page
    assert 'name="time" value="11:30"' in page  # the nearest free times are offered
    row = load(app, appointment)
    assert (row.starts_at, row.sequence) == (local(TOMORROW, 10), 0)
    assert audit_actions(app, appointment) == []
    # The drag-to-move script posts the same form and gets the refusal as JSON.
    scripted = desk.post(f"/staff/desk/appointments/{appointment}/move", data=data,
                         headers={"Accept": "application/json"})
    assert scripted.status_code == 409
    assert scripted.get_json() == {"ok": False, "message": scripted.get_json()["message"]}
    assert "taken" in scripted.get_json()["message"]
    assert load(app, appointment).starts_at == local(TOMORROW, 10)


def test_move_by_script_answers_json_when_it_works(app, desk, clinic):
    appointment = add(app, lambda: visit(clinic, local(TOMORROW, 10)))
    response = desk.post(f"/staff/desk/appointments/{appointment}/move",
                         data={"day": "2026-11-24", "time": "14:00",
                               "practitioner": str(clinic.maya)},
                         headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.get_json()["ok"] is True
    assert load(app, appointment).starts_at == local(TOMORROW, 14)


@pytest.mark.parametrize("time_asked", ["07:00", "10:15"])
def test_move_to_a_time_the_clinic_does_not_offer_is_refused(app, desk, clinic, time_asked):
    appointment = add(app, lambda: visit(clinic, local(TOMORROW, 10)))
    response = desk.post(f"/staff/desk/appointments/{appointment}/move",
                         data={"day": "2026-11-24", "time": time_asked})
    assert response.status_code == 409
    assert "not one the clinic offers" in response.get_data(as_text=True)
    assert load(app, appointment).starts_at == local(TOMORROW, 10)


def test_move_across_a_daylight_saving_change_keeps_the_wall_clock_time(app, desk, clinic):
    # Clocks go forward on Sunday 14 March 2027. Friday 10:00 EST is 15:00 UTC; the desk moves
    # the visit to Monday 10:00, which is EDT: 14:00 UTC, not 15:00.
    with time_machine.travel(datetime(2027, 3, 10, 14, 0, tzinfo=UTC), tick=False):
        sign_in(desk, DESK_EMAIL, STAFF_PASSWORD)  # months later: a new session
        appointment = add(app, lambda: visit(clinic, local(date(2027, 3, 12), 10)))
        assert load(app, appointment).starts_at == datetime(2027, 3, 12, 15, 0, tzinfo=UTC)
        page = desk.get(f"/staff/desk/appointments/{appointment}?day=2027-03-15").get_data(
            as_text=True)
        assert 'name="time" value="10:00"' in page
        response = desk.post(f"/staff/desk/appointments/{appointment}/move",
                             data={"day": "2027-03-15", "time": "10:00"})
        assert response.status_code == 303
        assert load(app, appointment).starts_at == datetime(2027, 3, 15, 14, 0, tzinfo=UTC)
        day_view = desk.get("/staff/desk/day?date=2027-03-15").get_data(as_text=True)
        assert "10:00 AM" in day_view and "grid-row: 9 / span 2" in day_view


# --- Booking a phone caller ----------------------------------------------------------------


NEW_CALLER = {"first_name": "Cara", "last_name": "Jones", "date_of_birth": "1990-01-30",
              "email": "cara@example.com", "phone": "555 123 4567"}


def test_add_a_new_caller_then_book_a_free_time_confirmed_at_once(app, desk, clinic):
    created = desk.post("/staff/desk/patients", data=NEW_CALLER)
    assert created.status_code == 303
    patient_id = int(re.search(r"patient=(\d+)", created.location).group(1))
    choose = desk.get(f"/staff/desk/book?patient={patient_id}&service={clinic.first_visit}"
                      f"&practitioner={clinic.maya}&day=2026-11-24").get_data(as_text=True)
    assert "Cara Jones" in choose
    assert 'name="time" value="09:00"' in choose
    booked = desk.post("/staff/desk/book", data={
        "patient": patient_id, "service": clinic.first_visit, "practitioner": clinic.maya,
        "day": "2026-11-24", "time": "09:00",
    })
    assert booked.status_code == 303
    appointment_id = int(booked.location.rsplit("/", 1)[1])
    row = load(app, appointment_id)
    assert row.status == AppointmentStatus.CONFIRMED
    assert (row.source, row.patient_id, row.practitioner_id) == ("desk", patient_id, clinic.maya)
    assert row.starts_at == local(TOMORROW, 9)
    assert "appointment.booked" in audit_actions(app, appointment_id)
    assert "Booked Cara Jones" in desk.get(booked.location).get_data(as_text=True)


def test_a_new_caller_cannot_be_booked_a_follow_up(app, desk, clinic):
    created = desk.post("/staff/desk/patients", data=NEW_CALLER)
    patient_id = int(re.search(r"patient=(\d+)", created.location).group(1))
    response = desk.post("/staff/desk/book", data={
        "patient": patient_id, "service": clinic.follow_up, "practitioner": clinic.maya,
        "day": "2026-11-24", "time": "09:00",
    })
    assert response.status_code == 409
    assert ("Book a first visit: this patient has no completed first-visit questionnaire yet."
            in response.get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(select(Appointment)) is None
    # A first visit whose questionnaire called for emergency care does not count either.
    add(app, lambda: call_back_for(patient_id))
    again = desk.post("/staff/desk/book", data={
        "patient": patient_id, "service": clinic.follow_up, "practitioner": "any",
        "day": "2026-11-24", "time": "09:00",
    })
    assert again.status_code == 409
    # Ana gave hers: the same time is booked for her.
    booked = desk.post("/staff/desk/book", data={
        "patient": clinic.ana, "service": clinic.follow_up, "practitioner": clinic.maya,
        "day": "2026-11-24", "time": "09:00",
    })
    assert booked.status_code == 303


def test_a_caller_with_missing_details_keeps_what_was_typed(app, desk, clinic):
    response = desk.post("/staff/desk/patients", data={**NEW_CALLER, "email": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'value="Cara"' in page and 'value="555 123 4567"' in page
    assert "Enter your email address." in page
    with app.app_context():
        assert db.session.scalar(select(Patient).where(Patient.first_name == "Cara")) is None


def test_find_a_returning_caller_on_the_booking_page(app, desk, clinic):
    page = desk.get("/staff/desk/book?q=silva").get_data(as_text=True)
    assert f'href="/staff/desk/book?patient={clinic.ana}"' in page


def test_booking_a_first_visit_can_email_how_to_answer_the_health_questions(app, desk, clinic):
    page = desk.get(f"/staff/desk/book?patient={clinic.ana}&service={clinic.first_visit}"
                    "&day=2026-11-24").get_data(as_text=True)
    assert 'name="send_intake"' in page
    booked = desk.post("/staff/desk/book", data={
        "patient": clinic.ana, "service": clinic.first_visit, "practitioner": "any",
        "day": "2026-11-24", "time": "13:00", "send_intake": "y",
    })
    assert booked.status_code == 303
    with app.app_context():
        [message] = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "intake_request"))
        assert message.recipient == "ana@example.com"
        assert "Tuesday, November 24, 2026 at 1:00 PM" in message.text_body


def test_booking_a_taken_time_offers_the_nearest_free_times(app, desk, clinic):
    add(app, lambda: visit(clinic, local(TOMORROW, 9), patient=clinic.ben))
    response = desk.post("/staff/desk/book", data={
        "patient": clinic.ana, "service": clinic.follow_up, "practitioner": clinic.maya,
        "day": "2026-11-24", "time": "09:00",
    })
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "That time is taken" in page
    assert 'name="time" value="09:30"' in page
    with app.app_context():
        assert db.session.scalar(
            select(Appointment).where(Appointment.patient_id == clinic.ana)) is None


def test_first_available_gives_the_time_to_whoever_is_free(app, desk, clinic):
    data = {"service": clinic.follow_up, "practitioner": "any", "day": "2026-11-24",
            "time": "09:00"}
    assert desk.post("/staff/desk/book", data={**data, "patient": clinic.ana}).status_code == 303
    assert desk.post("/staff/desk/book", data={**data, "patient": clinic.ben}).status_code == 303
    with app.app_context():
        practitioners = set(db.session.scalars(select(Appointment.practitioner_id)))
    assert practitioners == {clinic.maya, clinic.sam}


# --- Time off and blocks -------------------------------------------------------------------


def test_block_time_for_a_practitioner_and_remove_it(app, desk, clinic):
    add(app, lambda: visit(clinic, local(TOMORROW, 12)))
    response = desk.post("/staff/desk/time-off", data={
        "practitioner": clinic.maya, "first_day": "2026-11-24", "starts": "12:00",
        "ends": "13:30", "reason": "Team training",
    })
    assert response.status_code == 303
    page = desk.get(response.location).get_data(as_text=True)
    assert "Team training" in page
    assert "1 booked visit(s) fall in that time" in page
    with app.app_context():
        block = db.session.scalar(select(TimeOff))
        assert (block.starts_at, block.ends_at) == (local(TOMORROW, 12), local(TOMORROW, 13, 30))
        block_id = block.id
    times = desk.get(f"/staff/desk/book?patient={clinic.ben}&service={clinic.follow_up}"
                     f"&practitioner={clinic.maya}&day=2026-11-24").get_data(as_text=True)
    assert 'value="13:00"' not in times and 'value="13:30"' in times
    assert desk.post(f"/staff/desk/time-off/{block_id}/delete").status_code == 303
    with app.app_context():
        assert db.session.scalar(select(TimeOff)) is None
    assert audit_actions(app, block_id) == ["time_off.added", "time_off.removed"]


def test_time_off_must_end_after_it_starts(app, desk, clinic):
    response = desk.post("/staff/desk/time-off", data={
        "practitioner": clinic.maya, "first_day": "2026-11-24", "starts": "12:00",
        "ends": "11:00", "reason": "Oops",
    })
    assert response.status_code == 303
    assert "The end must be after the start." in desk.get(response.location).get_data(
        as_text=True)
    with app.app_context():
        assert db.session.scalar(select(TimeOff)) is None


# --- CSRF ----------------------------------------------------------------------------------


def test_every_desk_form_carries_a_csrf_token_and_posts_without_one_are_refused(
    make_app, clinic
):
    app = make_staff_app(make_app, WTF_CSRF_ENABLED=True, **DESK_TEST_CONFIG)
    appointment = add(app, lambda: visit(clinic, local(TODAY, 9)))
    add(app, lambda: call_back_for(clinic.ben))
    client = sign_in(app.test_client(), DESK_EMAIL, STAFF_PASSWORD)  # with the form's token
    pages = [
        f"/staff/desk/day?date={TODAY}",
        f"/staff/desk/week?practitioner={clinic.maya}",
        f"/staff/desk/appointments/{appointment}",
        f"/staff/desk/book?patient={clinic.ana}&service={clinic.first_visit}&day=2026-11-24",
        "/staff/desk/book",
        f"/staff/desk/patients/{clinic.ana}",
        "/staff/desk/attention",
        "/staff/desk/waitlist",
    ]
    posts = 0
    for url in pages:
        page = client.get(url).get_data(as_text=True)
        for form in re.findall(r'<form[^>]*method="post".*?</form>', page, re.S):
            assert 'name="csrf_token"' in form, (url, form[:200])
            posts += 1
    assert posts >= 10

    routes = [rule for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith("desk.") and "POST" in rule.methods]
    assert len(routes) >= 12
    for rule in routes:
        url = rule.rule
        for argument in rule.arguments:
            url = url.replace(f"<id:{argument}>", str(appointment))
        response = client.post(url, data={"reason": "x", "note": "x", "day": "2026-11-24",
                                          "time": "10:00"})
        assert response.status_code == 400, url
    assert load(app, appointment).status == AppointmentStatus.CONFIRMED
    with time_machine.travel(NOW, tick=False):
        page = client.get(f"/staff/desk/appointments/{appointment}").get_data(as_text=True)
        response = client.post(f"/staff/desk/appointments/{appointment}/check-in",
                               data={"csrf_token": csrf_token_in(page)})
    assert response.status_code == 303

"""The public booking pages up to the contact details: choosing, holding, losing a time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from booking.db import now_utc
from booking.extensions import db
from booking.patients.models import Patient
from booking.scheduling.models import Appointment, AppointmentStatus, TimeOff, VisitKind
from tests.factories import make_appointment, make_practitioner, make_service

# Friday 20 November 2026, 9:00 in New York.
NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
MONDAY_9AM = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


@pytest.fixture
def clinic(app):
    """One first-visit service; Maya works Monday–Friday 09:00–12:00, Sam Monday only."""
    with time_machine.travel(NOW, tick=False), app.app_context():
        service = make_service(slug="first-visit", name="First visit", minutes=60,
                               kind=VisitKind.FIRST_VISIT)
        make_service(slug="retired", name="Retired service", active=False)
        maya = make_practitioner([service], name="Maya", hours={d: [("09:00", "12:00")]
                                                              for d in range(5)})
        sam = make_practitioner([service], name="Sam", hours={0: [("09:00", "12:00")]})
        make_practitioner([], name="Nobody")
        ids = {"service_id": service.id, "maya": maya.id, "sam": sam.id}
        db.session.commit()
    return ids


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def offered_starts(page: str) -> list[str]:
    return re.findall(r'name="start" value="([^"]+)"', page)


def hold(client, clinic, start: datetime, practitioner="any"):
    return client.post(
        "/book/hold",
        data={"service": clinic["service_id"], "practitioner": practitioner,
              "start": start.isoformat()},
    )


def test_visit_types_list_active_services_only(client, clinic):
    page = client.get("/book/").get_data(as_text=True)
    assert "First visit" in page
    assert "Retired service" not in page


def test_practitioner_choice_offers_first_available_and_those_who_give_the_service(
    client, clinic
):
    page = client.get("/book/first-visit").get_data(as_text=True)
    assert "First available" in page
    assert "Maya" in page and "Sam" in page
    assert "Nobody" not in page


def test_times_are_clinic_time_and_never_in_the_past_or_inside_the_notice(client, clinic, frozen):
    page = client.get("/book/first-visit/times?practitioner=any").get_data(as_text=True)
    assert "All times are New York time." in page
    starts = [datetime.fromisoformat(s) for s in offered_starts(page)]
    assert starts, "the week should offer times"
    # Two hours' notice from 9:00 on Friday: Friday's 11:00 is the first offer.
    assert min(starts) == datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    assert "11:00 AM" in page
    # "First available" shows each start once even when two practitioners are free.
    assert len(starts) == len(set(starts))


def test_next_available_jumps_past_a_week_without_times(app, client, clinic, frozen):
    with app.app_context():
        db.session.add(TimeOff(practitioner_id=clinic["maya"], starts_at=NOW,
                               ends_at=NOW + timedelta(days=14), reason="Holiday"))
        db.session.commit()
    page = client.get(
        f"/book/first-visit/times?practitioner={clinic['maya']}&start=2026-11-20"
    ).get_data(as_text=True)
    assert offered_starts(page) == []
    assert "Next available" in page
    jump = re.search(r'href="([^"]+)">Next available', page).group(1).replace("&amp;", "&")
    later = client.get(jump).get_data(as_text=True)
    first = datetime.fromisoformat(offered_starts(later)[0])
    assert first >= NOW + timedelta(days=14)


def test_choosing_a_time_holds_it_and_shows_how_long(app, client, clinic, frozen):
    response = hold(client, clinic, MONDAY_9AM)
    assert response.status_code == 303
    page = client.get("/book/details").get_data(as_text=True)
    assert "Monday, November 23, 2026 at 9:00 AM" in page
    assert "We are holding this time for you until" in page
    assert "9:10 AM" in page  # ten minutes from now
    with app.app_context():
        held = db.session.scalar(select(Appointment))
        assert held.status == AppointmentStatus.HELD
        assert held.hold_expires_at == NOW + timedelta(minutes=10)


def test_first_available_spreads_the_load(app, client, clinic, frozen):
    with app.app_context():
        from booking.scheduling.models import Service

        service = db.session.get(Service, clinic["service_id"])
        maya = db.session.get(type(service.practitioners[0]), clinic["maya"])
        make_appointment(maya, service, MONDAY_9AM + timedelta(hours=2))
        db.session.commit()
    hold(client, clinic, MONDAY_9AM)
    with app.app_context():
        held = db.session.scalar(select(Appointment).where(Appointment.status == "held"))
        assert held.practitioner_id == clinic["sam"]


def test_a_time_taken_meanwhile_offers_the_nearest_free_times(app, client, clinic, frozen):
    assert hold(client, clinic, MONDAY_9AM, clinic["maya"]).status_code == 303
    other = app.test_client()
    response = hold(other, clinic, MONDAY_9AM, clinic["maya"])
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Sorry, that time is no longer free" in page
    alternatives = [datetime.fromisoformat(s) for s in offered_starts(page)]
    assert datetime(2026, 11, 23, 15, 0, tzinfo=UTC) in alternatives  # 10:00, right after
    assert MONDAY_9AM not in alternatives
    with app.app_context():
        assert db.session.scalar(select(db.func.count(Appointment.id))) == 1


def test_choosing_again_gives_the_first_time_back(app, client, clinic, frozen):
    hold(client, clinic, MONDAY_9AM, clinic["maya"])
    hold(client, clinic, MONDAY_9AM + timedelta(hours=1), clinic["maya"])
    with app.app_context():
        statuses = sorted(s.value for s in db.session.scalars(select(Appointment.status)))
    assert statuses == ["expired", "held"]


def test_an_off_grid_time_is_not_held(app, client, clinic, frozen):
    response = hold(client, clinic, MONDAY_9AM + timedelta(minutes=7))
    assert response.status_code == 409
    with app.app_context():
        assert db.session.scalar(select(Appointment)) is None


@pytest.mark.parametrize("start", [
    "9999-12-31T23:00:00-05:00",
    "0001-01-01T00:00:00+05:00",
    "0001-01-01T10:00:00Z",
    "1999-12-31T09:00:00-05:00",
])
def test_a_time_out_of_any_visit_range_is_refused_not_a_server_error(
    app, client, clinic, frozen, start
):
    response = client.post("/book/hold", data={
        "service": clinic["service_id"], "practitioner": "any", "start": start})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(Appointment)) is None


def test_contact_details_errors_are_next_to_the_fields_and_keep_what_was_typed(
    app, client, clinic, frozen
):
    hold(client, clinic, MONDAY_9AM)
    response = client.post(
        "/book/details",
        data={"first_name": "Ada", "last_name": "", "date_of_birth": "2030-01-01",
              "email": "ada-at-example", "phone": "12"},
    )
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(Patient)) is None
        held = db.session.scalars(select(Appointment)).one()
        assert (held.status, held.patient_id) == (AppointmentStatus.HELD, None)
    page = response.get_data(as_text=True)
    assert "Enter your last name." in page
    assert "Your date of birth cannot be in the future." in page
    assert "Enter an email address like name@example.com." in page
    assert "at least 7 digits" in page
    assert 'value="Ada"' in page
    assert 'value="ada-at-example"' in page
    assert 'aria-invalid="true"' in page


def test_details_without_a_hold_go_back_to_the_start(client, clinic):
    response = client.get("/book/details")
    assert response.status_code == 302
    assert response.location.endswith("/book/")


def test_resume_link_continues_a_hold_and_refuses_a_wrong_key(app, client, clinic):
    with app.app_context():
        from booking.scheduling.models import Service
        from booking.scheduling.service import hold_slot

        with time_machine.travel(NOW, tick=False):
            held = hold_slot(db.session.get(Service, clinic["service_id"]), MONDAY_9AM, now_utc())
            db.session.commit()
            hold_id, key = held.id, held.hold_key
    with time_machine.travel(NOW, tick=False):
        assert client.get(f"/book/resume/{hold_id}/wrong-key").status_code == 410
        response = client.get(f"/book/resume/{hold_id}/{key}")
        assert response.status_code == 303
        assert "Monday, November 23, 2026 at 9:00 AM" in client.get("/book/details").get_data(
            as_text=True
        )
    with time_machine.travel(NOW + timedelta(minutes=11), tick=False):
        assert app.test_client().get(f"/book/resume/{hold_id}/{key}").status_code == 410

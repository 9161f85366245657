"""JSON API v1 on both engines: services, practitioners, availability and holds."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask

from booking.clinic.service import get_clinic
from booking.extensions import db
from booking.scheduling.models import (
    Appointment,
    AppointmentStatus,
    Practitioner,
    Service,
    VisitKind,
)
from booking.web.parsing import MAX_ID
from tests.factories import make_practitioner, make_service

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)  # Friday 12:00 in New York
TODAY = date(2026, 11, 20)
MONDAY = date(2026, 11, 23)
EVERY_DAY = {day: [("09:00", "17:00")] for day in range(7)}
TOO_FAR = "Ask for a day up to 2200-12-31."


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), NEW_YORK)


def iso(day: date, hour: int, minute: int = 0) -> str:
    return local(day, hour, minute).isoformat()


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def clinic(app: Flask, frozen):
    """A first-visit service offered by two practitioners (09:00–17:00 every day), committed.

    (Follow-ups cannot be held through the API: see the test at the end of the holds.)
    """
    with app.app_context():
        get_clinic()
        service = make_service(slug="first-visit", name="First visit", minutes=30,
                               description="Assessment and treatment.",
                               kind=VisitKind.FIRST_VISIT)
        first = make_practitioner([service], hours=EVERY_DAY, title="Physiotherapist")
        second = make_practitioner([service], hours=EVERY_DAY)
        db.session.commit()
        return {"service": service.id, "first": first.id, "second": second.id}


def hold(client, **body):
    return client.post("/api/v1/holds", json=body)


# --- Services and practitioners -------------------------------------------------------------


def test_services_lists_the_active_ones(app, client, clinic):
    with app.app_context():
        make_service(slug="retired", active=False)
        db.session.commit()
    response = client.get("/api/v1/services")
    assert response.status_code == 200
    assert response.get_json() == {
        "services": [
            {
                "id": clinic["service"],
                "slug": "first-visit",
                "name": "First visit",
                "description": "Assessment and treatment.",
                "minutes": 30,
                "kind": "first_visit",
            }
        ]
    }


def test_practitioners_lists_the_active_ones_with_their_services(app, client, clinic):
    with app.app_context():
        make_practitioner([db.session.get(Service, clinic["service"])], active=False)
        db.session.commit()
    listed = client.get("/api/v1/practitioners").get_json()["practitioners"]
    assert [p["id"] for p in listed] == [clinic["first"], clinic["second"]]
    assert listed[0]["title"] == "Physiotherapist"
    assert set(listed[0]) == {"id", "slug", "name", "title", "service_ids"}
    assert all(p["service_ids"] == [clinic["service"]] for p in listed)


# --- Availability ---------------------------------------------------------------------------


def test_availability_defaults_to_a_week_from_today_for_anyone(client, clinic):
    response = client.get(f"/api/v1/availability?service={clinic['service']}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["timezone"] == "America/New_York"
    assert (body["from"], body["days"]) == ("2026-11-20", 7)
    assert body["service"]["slug"] == "first-visit"
    # Today from 14:00 (two hours' notice), then six whole days, for both practitioners.
    assert body["slots"][0] == {
        "start": "2026-11-20T14:00:00-05:00",
        "end": "2026-11-20T14:30:00-05:00",
        "practitioner_id": clinic["first"],
    }
    assert len(body["slots"]) == 2 * (6 + 6 * 16)
    assert body["slots"][-1]["start"] == "2026-11-26T16:30:00-05:00"


def test_availability_for_one_practitioner_by_service_slug(client, clinic):
    query = f"service=first-visit&practitioner={clinic['second']}&from=2026-11-23&days=1"
    body = client.get(f"/api/v1/availability?{query}").get_json()
    assert (body["from"], body["days"]) == ("2026-11-23", 1)
    assert {slot["practitioner_id"] for slot in body["slots"]} == {clinic["second"]}
    assert [slot["start"] for slot in body["slots"]][:2] == [iso(MONDAY, 9), iso(MONDAY, 9, 30)]
    assert len(body["slots"]) == 16


def test_availability_leaves_out_held_times(client, clinic):
    hold(client, service=clinic["service"], practitioner_id=clinic["first"],
         start=iso(MONDAY, 10))
    query = f"service={clinic['service']}&practitioner={clinic['first']}&from=2026-11-23&days=1"
    starts = [s["start"] for s in client.get(f"/api/v1/availability?{query}").get_json()["slots"]]
    assert iso(MONDAY, 10) not in starts and iso(MONDAY, 10, 30) in starts


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("", "service", "Choose a service (its id or slug)."),
        ("service=999", "service", "Unknown service."),
        ("service=no-such-service", "service", "Unknown service."),
        ("service=retired", "service", "Unknown service."),
        ("service={service}&practitioner=999", "practitioner", "Unknown practitioner."),
        ("service={service}&practitioner=maya", "practitioner", "Unknown practitioner."),
        ("service={service}&practitioner=99999999999999999999", "practitioner",
         "Unknown practitioner."),
        ("service=99999999999999999999", "service", "Unknown service."),
        ("service=%C2%B2", "service", "Unknown service."),
        ("service={service}&practitioner={outsider}", "practitioner",
         "That practitioner does not offer this service."),
        ("service={service}&from=2026-13-01", "from", "Not a valid date value."),
        ("service={service}&from=tomorrow", "from", "Not a valid date value."),
        ("service={service}&from=2026-11-19", "from", "That day has passed."),
        ("service={service}&days=0", "days", "Ask for 1 to 31 days."),
        ("service={service}&days=32", "days", "Ask for 1 to 31 days."),
        ("service={service}&days=3650", "days", "Ask for 1 to 31 days."),
        ("service={service}&days=week", "days", "Not a valid integer value."),
        ("service={service}&from=0001-01-01", "from", "That day has passed."),
        ("service={service}&from=9999-12-31&days=3", "from", TOO_FAR),
        ("service={service}&from=9999-12-31", "from", TOO_FAR),
        ("service={service}&from=9999-12-25&days=31", "from", TOO_FAR),
        ("service={service}&from=2201-01-01&days=1", "from", TOO_FAR),
        (f"service={{service}}&practitioner={MAX_ID + 1}", "practitioner",
         "Unknown practitioner."),
    ],
)
def test_availability_refuses_bad_questions(app, client, clinic, query, field, message):
    with app.app_context():
        make_service(slug="retired", active=False)
        outsider = make_practitioner([make_service()]).id
        db.session.commit()
    url = "/api/v1/availability?" + query.format(service=clinic["service"], outsider=outsider)
    response = client.get(url)
    assert response.status_code == 422
    assert response.get_json() == {"error": "invalid", "fields": {field: message}}


def test_availability_reaches_the_latest_day_without_overflowing(client, clinic):
    response = client.get("/api/v1/availability?service=first-visit&from=2200-12-31&days=31")
    assert response.status_code == 200
    assert response.get_json()["from"] == "2200-12-31"


@pytest.mark.parametrize(
    ("day", "offset"),
    [
        pytest.param(date(2026, 11, 1), "-05:00", id="fall-back"),
        pytest.param(date(2026, 3, 8), "-04:00", id="spring-forward"),
    ],
)
def test_availability_on_daylight_saving_days(client, clinic, frozen, day, offset):
    frozen.move_to(datetime.combine(day - timedelta(days=4), time(12), UTC))
    query = f"service={clinic['service']}&practitioner={clinic['first']}&from={day}&days=1"
    starts = [s["start"] for s in client.get(f"/api/v1/availability?{query}").get_json()["slots"]]
    expected = [f"{day}T{9 + i // 2:02d}:{30 * (i % 2):02d}:00{offset}" for i in range(16)]
    assert starts == expected


def test_availability_across_the_change_switches_offsets(client, clinic, frozen):
    frozen.move_to(datetime(2026, 10, 28, 12, tzinfo=UTC))
    query = f"service={clinic['service']}&practitioner={clinic['first']}&from=2026-10-31&days=2"
    slots = client.get(f"/api/v1/availability?{query}").get_json()["slots"]
    by_day = {"2026-10-31": "-04:00", "2026-11-01": "-05:00"}
    assert len(slots) == 32
    assert all(s["start"].endswith(by_day[s["start"][:10]]) for s in slots)
    assert all(s["end"].endswith(by_day[s["end"][:10]]) for s in slots)


# --- Holds ----------------------------------------------------------------------------------


def test_a_hold_is_created_with_a_link_to_finish_booking(app, client, clinic):
    response = hold(client, service=clinic["service"], practitioner_id=clinic["second"],
                    start=iso(MONDAY, 10))
    assert response.status_code == 201
    body = response.get_json()
    assert body["start"] == "2026-11-23T10:00:00-05:00"
    assert body["end"] == "2026-11-23T10:30:00-05:00"
    assert body["practitioner_id"] == clinic["second"]
    assert body["expires_at"] == "2026-11-20T17:10:00+00:00"
    with app.app_context():
        stored = db.session.get(Appointment, body["hold_id"])
        assert stored.status == AppointmentStatus.HELD
        assert stored.starts_at == local(MONDAY, 10)
        expected = f"http://localhost/book/resume/{stored.id}/{stored.hold_key}"
    assert body["continue_url"] == expected


@pytest.mark.parametrize("anyone", [None, "any"])
def test_a_hold_for_anyone_by_slug_and_utc_time(client, clinic, anyone):
    response = hold(client, service="first-visit", practitioner_id=anyone,
                    start="2026-11-23T15:00:00Z")
    assert response.status_code == 201
    assert response.get_json()["start"] == "2026-11-23T10:00:00-05:00"
    assert response.get_json()["practitioner_id"] == clinic["first"]


def test_a_taken_time_answers_409_with_the_nearest_free_times(client, clinic):
    body = dict(service=clinic["service"], practitioner_id=clinic["first"],
                start=iso(MONDAY, 10))
    assert hold(client, **body).status_code == 201
    response = hold(client, **body)
    assert response.status_code == 409
    taken = response.get_json()
    assert taken["error"] == "slot_taken"
    assert [s["start"] for s in taken["alternatives"]] == [
        iso(MONDAY, h, m) for h, m in [(9, 0), (9, 30), (10, 30), (11, 0), (11, 30), (12, 0)]
    ]
    assert {s["practitioner_id"] for s in taken["alternatives"]} == {clinic["first"]}
    assert taken["alternatives"][0]["end"] == iso(MONDAY, 9, 30)


def test_anyone_free_still_gets_the_time_when_one_practitioner_is_taken(client, clinic):
    body = dict(service=clinic["service"], start=iso(MONDAY, 10))
    first = hold(client, practitioner_id=clinic["first"], **body)
    second = hold(client, practitioner_id="any", **body)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.get_json()["practitioner_id"] == clinic["second"]
    assert hold(client, **body).status_code == 409


def test_a_follow_up_cannot_be_held_through_the_api(app, client, clinic):
    """Whoever opens a continue_url finishes the booking: the API knows no patient, and a
    follow-up is only for a returning patient signed in through their email link."""
    with app.app_context():
        follow_up = make_service(slug="follow-up", minutes=30)
        follow_up.practitioners = [db.session.get(Practitioner, clinic["first"])]
        db.session.commit()
        follow_up_id = follow_up.id
    for service in (follow_up_id, "follow-up"):
        response = hold(client, service=service, start=iso(MONDAY, 10))
        assert response.status_code == 422
        assert response.get_json() == {"error": "invalid", "fields": {"service": (
            "Follow-ups are booked through the clinic's returning-patient link: the patient "
            "asks for one by email at http://localhost/returning/. Hold a first visit here "
            "instead.")}}
    with app.app_context():
        assert db.session.query(Appointment).count() == 0
    # Their free times can still be read: they say nothing about anybody.
    assert client.get("/api/v1/availability?service=follow-up").status_code == 200


START_HELP = "Give the time in ISO 8601 with its UTC offset, like 2026-11-23T09:00:00-05:00."
NOT_OFFERED = "That time is not offered. Choose one of the times from /api/v1/availability."


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"service": None}, "service", "Choose a service (its id or slug)."),
        ({"service": 999}, "service", "Unknown service."),
        ({"service": "no-such-service"}, "service", "Unknown service."),
        ({"practitioner_id": 999}, "practitioner_id", "Unknown practitioner."),
        ({"practitioner_id": 10**20}, "practitioner_id", "Unknown practitioner."),
        ({"practitioner_id": True}, "practitioner_id", "Unknown practitioner."),
        ({"practitioner_id": "{outsider}"}, "practitioner_id",
         "That practitioner does not offer this service."),
        ({"start": None}, "start", "Give the start time."),
        ({"start": "2026-11-23T10:00:00"}, "start", START_HELP),
        ({"start": "next monday at ten"}, "start", START_HELP),
        ({"start": 1795446000}, "start", START_HELP),
        ({"start": "2026-11-20T09:00:00-05:00"}, "start", "That time has passed."),
        ({"start": "2026-11-23T10:10:00-05:00"}, "start", NOT_OFFERED),
        ({"start": "2026-11-23T19:00:00-05:00"}, "start", NOT_OFFERED),
        ({"start": "2026-11-20T12:30:00-05:00"}, "start", NOT_OFFERED),
        ({"start": "2027-03-01T10:00:00-05:00"}, "start", NOT_OFFERED),
        ({"start": "9999-12-31T23:00:00-05:00"}, "start", NOT_OFFERED),
        ({"start": "9999-12-31T10:00:00Z"}, "start", NOT_OFFERED),
        ({"start": "0001-01-01T00:00:00+05:00"}, "start", "That time has passed."),
        ({"start": "0001-01-01T10:00:00Z"}, "start", "That time has passed."),
    ],
    ids=[
        "no-service", "unknown-service-id", "unknown-service-slug", "unknown-practitioner",
        "huge-practitioner-id", "boolean-practitioner",
        "practitioner-without-the-service", "no-start", "naive-start", "unreadable-start",
        "number-start", "past", "off-grid", "outside-hours", "inside-notice", "beyond-horizon",
        "year-9999-before-utc", "year-9999-utc", "year-1-after-utc", "year-1-utc",
    ],
)
def test_bad_holds_are_refused_field_by_field(app, client, clinic, changes, field, message):
    with app.app_context():
        outsider = make_practitioner([make_service()]).id
        db.session.commit()
    body = {"service": clinic["service"], "practitioner_id": clinic["first"],
            "start": iso(MONDAY, 10)}
    body.update({k: v.format(outsider=outsider) if isinstance(v, str) else v
                 for k, v in changes.items()})
    body = {k: v for k, v in body.items() if v is not None}
    response = hold(client, **body)
    assert response.status_code == 422
    assert response.get_json() == {"error": "invalid", "fields": {field: message}}
    with app.app_context():
        assert db.session.query(Appointment).count() == 0


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("service=1&start=2026-11-23T10:00:00-05:00", "application/x-www-form-urlencoded"),
        ('{"service": 1,', "application/json"),
        ('["service", 1]', "application/json"),
        ("", "application/json"),
    ],
    ids=["form-encoded", "broken-json", "json-array", "empty"],
)
def test_a_body_that_is_not_a_json_object_is_refused(client, clinic, data, content_type):
    response = client.post("/api/v1/holds", data=data, content_type=content_type)
    assert response.status_code == 422
    assert response.get_json()["fields"] == {
        "body": "Send a JSON object (Content-Type: application/json)."
    }


def test_holds_need_no_csrf_token(make_app, frozen):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        service = make_service(minutes=30, kind=VisitKind.FIRST_VISIT)
        make_practitioner([service], hours=EVERY_DAY)
        db.session.commit()
        service_id = service.id
    response = hold(app.test_client(), service=service_id, start=iso(MONDAY, 10))
    assert response.status_code == 201


def test_holds_are_rate_limited_per_client_with_a_json_429(make_app, frozen):
    app = make_app(RATELIMIT_ENABLED=True, API_HOLD_RATE_LIMIT="2 per minute")
    with app.app_context():
        service = make_service(minutes=30, kind=VisitKind.FIRST_VISIT)
        make_practitioner([service], hours=EVERY_DAY)
        db.session.commit()
        service_id = service.id
    client = app.test_client()
    codes = [hold(client, service=service_id, start=iso(MONDAY, 10 + n)).status_code
             for n in range(3)]
    assert codes == [201, 201, 429]
    limited = hold(client, service=service_id, start=iso(MONDAY, 14))
    assert limited.status_code == 429
    assert limited.get_json() == {"error": "too many requests", "status": 429}
    assert client.get(f"/api/v1/availability?service={service_id}").status_code == 200
    other = app.test_client()
    other_client = {"REMOTE_ADDR": "203.0.113.7"}
    response = other.post("/api/v1/holds", json={"service": service_id,
                                                 "start": iso(MONDAY, 15)},
                          environ_base=other_client)
    assert response.status_code == 201
    frozen.shift(timedelta(minutes=1))
    assert hold(client, service=service_id, start=iso(MONDAY, 16)).status_code == 201

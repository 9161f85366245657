"""The bad inputs that once made server errors, replayed on both engines (issue 11, item 3).

Each answer must be a 4xx with a clear message (or the page itself, where the input is simply
not used), never a 500: non-ISO and impossible dates of birth, years past 9999 or before 1,
superscript digits, ids beyond an INTEGER column, NUL bytes, deeply nested JSON, a non-ASCII
hold key.
"""

from __future__ import annotations

import html
import itertools
import json
from datetime import UTC, datetime

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.routing.converters import IntegerConverter

from booking.accounts.models import RoleName
from booking.extensions import db
from booking.notify.links import manage_token
from booking.scheduling.models import Appointment, AppointmentStatus, Practitioner
from tests.helpers import DEMO_STAFF, make_demo_app, sign_in

BAD_BIRTH_DATES = ["17/05/1980", "2026-02-30", "0000-01-01", "1899-12-31", "2999-01-01",
                   "1980-5-17x", "١٩٨٠-٠٥-١٧"]
FAR_DAYS = ["9999-12-31", "10000-01-01", "0001-01-01", "0000-01-01", "+1980-01-01"]
FAR_INSTANTS = ["9999-12-31T23:30:00-05:00", "0001-01-01T00:30:00+05:00",
                "10000-01-01T00:00:00+00:00", "0001-01-01T00:00:00+00:00"]
BEYOND_ID = 2**31  # one past what an INTEGER column holds
NUL = "\x00"


@pytest.fixture
def app(make_app) -> Flask:
    return make_demo_app(make_app)


def staff(app: Flask, role: RoleName = RoleName.ADMIN) -> FlaskClient:
    return sign_in(app.test_client(), DEMO_STAFF[role])


def a_free_start(client: FlaskClient, service: str = "first-visit") -> str:
    slots = client.get(f"/api/v1/availability?service={service}&days=31").get_json()["slots"]
    assert slots, "the demo clinic offers no time in the next month"
    return slots[0]["start"]


def first_service_id(client: FlaskClient) -> int:
    return next(s["id"] for s in client.get("/api/v1/services").get_json()["services"]
                if s["slug"] == "first-visit")


def holding(client: FlaskClient) -> FlaskClient:
    """A patient with a held first visit, on the contact details step."""
    response = client.post("/book/hold", data={
        "service": first_service_id(client), "practitioner": "any", "start": a_free_start(client),
    })
    assert response.status_code == 303, response.status_code
    return client


def booked_visit(app: Flask) -> tuple[int, str]:
    """A future booked demo visit: its id and its patient's manage token."""
    with app.app_context():
        visit = db.session.scalars(
            select(Appointment)
            .where(Appointment.status == AppointmentStatus.CONFIRMED,
                   Appointment.starts_at > datetime.now(UTC))
            .order_by(Appointment.starts_at)
        ).first()
        assert visit is not None
        return visit.id, manage_token(visit)


def assert_refused_clearly(response, *statuses: int) -> None:
    allowed = statuses or tuple(range(400, 500))
    assert response.status_code in allowed, (response.status_code, response.data[:600])


# --- dates of birth ----------------------------------------------------------------------------


def assert_birth_date_refused_next_to_the_field(response, typed: str) -> None:
    assert response.status_code == 422, (typed, response.status_code)
    page = response.get_data(as_text=True)
    assert 'id="date_of_birth-error"' in page, f"no message next to the date of birth {typed}"
    assert "date of birth" in html.unescape(page).lower()
    assert f'value="{html.escape(typed)}"' in page, "what was typed is lost"


def details(date_of_birth: str) -> dict[str, str]:
    return {"first_name": "Ana", "last_name": "Lopez", "date_of_birth": date_of_birth,
            "email": "ana@example.com", "phone": "555 010 2030"}


def test_booking_details_refuse_a_bad_date_of_birth_next_to_the_field(app):
    client = holding(app.test_client())
    for typed in BAD_BIRTH_DATES:
        response = client.post("/book/details", data=details(typed))
        assert_birth_date_refused_next_to_the_field(response, typed)


def test_desk_new_patient_refuses_a_bad_date_of_birth_next_to_the_field(app):
    desk = staff(app, RoleName.FRONT_DESK)
    for typed in BAD_BIRTH_DATES:
        response = desk.post("/staff/desk/patients", data=details(typed))
        assert_birth_date_refused_next_to_the_field(response, typed)


def test_a_real_date_of_birth_still_goes_through(app):
    response = staff(app, RoleName.FRONT_DESK).post("/staff/desk/patients",
                                                    data=details("1900-01-01"))
    assert response.status_code == 303


# --- days and instants far out -----------------------------------------------------------------


def test_far_days_in_queries_are_refused_or_ignored(app):
    client, desk = app.test_client(), staff(app, RoleName.FRONT_DESK)
    for day in FAR_DAYS:
        far_day_in_queries(client, desk, day)


def far_day_in_queries(client: FlaskClient, desk: FlaskClient, day: str) -> None:
    assert_refused_clearly(client.get(f"/api/v1/availability?service=first-visit&from={day}"),
                           422)
    assert client.get(f"/book/first-visit/times?start={day}").status_code == 200  # ignored
    for url in (f"/staff/desk/day?date={day}", f"/staff/desk/week?date={day}",
                f"/staff/desk/book?day={day}"):
        response = desk.get(url)
        assert response.status_code == 422, (url, response.status_code)
        assert "That date could not be read" in response.get_data(as_text=True)


def test_far_instants_are_refused_when_holding_or_moving(app):
    client = app.test_client()
    service_id, (_, token) = first_service_id(client), booked_visit(app)
    for start in FAR_INSTANTS:
        far_instant(client, service_id, token, start)


def far_instant(client: FlaskClient, service_id: int, token: str, start: str) -> None:
    api = client.post("/api/v1/holds", json={"service": service_id, "start": start})
    assert_refused_clearly(api, 422)
    assert "start" in api.get_json()["fields"]
    page = client.post("/book/hold", data={"service": service_id, "start": start})
    assert_refused_clearly(page)
    assert_refused_clearly(client.post(f"/visit/{token}/move", data={"start": start}))


def test_far_days_in_desk_forms_are_refused(app):
    desk = staff(app, RoleName.FRONT_DESK)
    visit_id, _ = booked_visit(app)
    with app.app_context():
        practitioner_id = db.session.scalars(select(Practitioner.id)).first()
    for day in ("9999-12-31", "0001-01-01", "10000-01-01"):
        far_day_in_desk_forms(desk, visit_id, practitioner_id, day)


def far_day_in_desk_forms(desk: FlaskClient, visit_id: int, practitioner_id: int, day: str):
    moved = desk.post(f"/staff/desk/appointments/{visit_id}/move",
                      data={"day": day, "time": "23:30"})
    assert_refused_clearly(moved)
    time_off = desk.post("/staff/desk/time-off", data={
        "practitioner": practitioner_id, "first_day": day, "starts": "00:00",
        "last_day": day, "ends": "23:59", "reason": "Far-off training",
    }, follow_redirects=True)
    assert time_off.status_code == 200, time_off.status_code
    week = time_off.get_data(as_text=True)
    assert "That date could not be read" in week  # said on the week page it returns to
    assert "Far-off training" not in week
    booked = desk.post("/staff/desk/book", data={"patient": 1, "service": 1, "day": day,
                                                 "time": "09:00"})
    assert_refused_clearly(booked)


# --- numbers that are not ids ------------------------------------------------------------------


def test_odd_ids_in_queries_are_ignored_or_refused(app):
    client, admin = app.test_client(), staff(app)
    for value in ("²", "٣", str(BEYOND_ID), "-1", "1e3", "9" * 5000):
        odd_id_in_queries(client, admin, value)


def odd_id_in_queries(client: FlaskClient, admin: FlaskClient, value: str) -> None:
    assert client.get(f"/book/first-visit/times?practitioner={value}").status_code in (200, 404)
    assert_refused_clearly(
        client.get(f"/api/v1/availability?service=first-visit&practitioner={value}"), 422
    )
    for url in (f"/staff/desk/week?practitioner={value}",
                f"/staff/desk/book?patient={value}&service={value}&practitioner={value}",
                f"/staff/clinician/feed?practitioner={value}"):
        response = admin.get(url)
        assert response.status_code in (200, 404), (url, response.status_code)


def integer_routes(app: Flask):
    for rule in app.url_map.iter_rules():
        if any(isinstance(c, IntegerConverter) for c in rule._converters.values()):
            yield rule


def path_with(app: Flask, rule, number: int) -> str:
    """The rule's path with its first id replaced by `number` (other ids 1)."""
    values = {
        name: next(iter(converter.items)) if hasattr(converter, "items") else MARK
        for name, converter in rule._converters.items()
    }
    with app.test_request_context():
        path = url_for(rule.endpoint, **values)
    return path.replace(str(MARK), str(number), 1).replace(str(MARK), "1")


MARK = 987_654_321


def test_ids_beyond_the_column_are_not_found_on_every_id_route(app):
    admin = staff(app)
    rules = list(integer_routes(app))
    assert len(rules) >= 29
    wrong = []
    for rule, number in itertools.product(rules, (BEYOND_ID, 10**30, 0)):
        path = path_with(app, rule, number)
        method = "GET" if "GET" in rule.methods else "POST"
        response = admin.open(path, method=method)
        if response.status_code != 404:
            wrong.append(f"{method} {path}: {response.status_code}")
    assert not wrong, "\n".join(wrong)


# --- control characters -----------------------------------------------------------------------


def test_nul_in_the_path_query_form_and_json_is_refused_naming_the_field(app):
    client, desk = app.test_client(), staff(app, RoleName.FRONT_DESK)
    in_path = client.get("/book/first-visit%00/times")
    assert_refused_clearly(in_path, 422)
    assert "address" in in_path.get_data(as_text=True)

    in_query = desk.get("/staff/desk/patients?q=ana%00")
    assert_refused_clearly(in_query, 422)
    assert "“q”" in in_query.get_data(as_text=True)

    in_form = client.post("/returning/", data={"email": f"ana{NUL}@example.com"})
    assert_refused_clearly(in_form, 422)
    assert "“email”" in in_form.get_data(as_text=True)
    assert "text/html" in in_form.content_type

    in_json = client.post("/api/v1/holds", json={"service": f"first{NUL}", "start": "x"})
    assert_refused_clearly(in_json, 422)
    assert in_json.get_json()["error"] == "invalid"
    assert "service" in in_json.get_json()["fields"]

    api_query = client.get(f"/api/v1/availability?service=first-visit&from=2026{NUL}")
    assert_refused_clearly(api_query, 422)
    assert "from" in api_query.get_json()["fields"]

    for path in (f"/visit/x{NUL}y", f"/returning/link/x{NUL}", f"/calendar/x{NUL}.ics",
                 f"/book/resume/1/k{NUL}"):
        assert_refused_clearly(client.get(path.replace(NUL, "%00")), 422)


def test_other_control_characters_are_refused_but_tabs_and_newlines_are_text(app):
    client = app.test_client()
    escape = client.post("/returning/", data={"email": "ana\x1b[2J@example.com"})
    assert_refused_clearly(escape, 422)
    newline = client.post("/returning/", data={"email": "ana@example.com\r\n"})
    assert newline.status_code == 303


# --- bodies -----------------------------------------------------------------------------------


def test_deeply_nested_json_is_refused_in_the_api_shape(app):
    client = app.test_client()
    brackets = client.post("/api/v1/holds", data="[" * 100_000,
                           content_type="application/json")
    assert_refused_clearly(brackets, 400, 413)
    assert brackets.get_json()["status"] == brackets.status_code
    nested = json.dumps({"service": "first-visit", "start": json.loads("[" * 50 + "]" * 50)})
    deep = client.post("/api/v1/holds", data=nested, content_type="application/json")
    assert_refused_clearly(deep, 400)
    assert deep.get_json()["error"]


def test_a_body_over_the_limit_is_refused(app):
    client = app.test_client()
    big = client.post("/api/v1/holds", json={"service": "x" * 100_000, "start": "x"})
    assert_refused_clearly(big, 413)
    assert big.get_json()["status"] == 413
    form = client.post("/returning/", data={"email": "a" * 100_000})
    assert_refused_clearly(form, 413)
    assert "text/html" in form.content_type


# --- hold keys ----------------------------------------------------------------------------------


def test_a_non_ascii_hold_key_gets_the_same_answer_as_a_wrong_key(app):
    client = app.test_client()
    hold = client.post("/api/v1/holds", json={"service": "first-visit",
                                              "start": a_free_start(client)}).get_json()
    wrong = client.get(f"/book/resume/{hold['hold_id']}/wrong-key")
    odd = client.get(f"/book/resume/{hold['hold_id']}/ключ")
    assert wrong.status_code == odd.status_code == 410
    assert client.get(f"/book/resume/{BEYOND_ID}/key").status_code == 404


# --- found by the fuzz test (tests/foundation/test_fuzz.py) ------------------------------------


def test_an_admin_form_posted_with_no_fields_changes_nothing(app):
    with app.app_context():
        before = {p.id: sorted(s.id for s in p.services)
                  for p in db.session.scalars(select(Practitioner))}
    posted = staff(app).post(f"/staff/admin/practitioners/{min(before)}", data={})
    assert posted.status_code < 500, posted.status_code
    with app.app_context():
        after = {p.id: sorted(s.id for s in p.services)
                 for p in db.session.scalars(select(Practitioner))}
    assert after == before

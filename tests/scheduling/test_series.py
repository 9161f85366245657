"""A series of visits, on both engines: the same local time across daylight saving, a taken week
shown with its alternatives and nothing booked until confirmed, two patients racing for
overlapping series (one wins whole), the preview API, cancelling one visit, the series email."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from flask import Flask
from icalendar import Calendar
from sqlalchemy import func, select

from booking.clinic.service import get_clinic
from booking.extensions import db
from booking.notify.ics import appointment_uid
from booking.notify.links import calendar_domain
from booking.notify.models import OutboxMessage
from booking.notify.outbox import send_due
from booking.patients.models import Patient
from booking.scheduling.changes import cancel_appointment
from booking.scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    Practitioner,
    Service,
    VisitKind,
    VisitSeries,
)
from booking.scheduling.series import SeriesNotFree, book_series, series_starts
from tests.clinician.helpers import add_intake
from tests.factories import make_appointment, make_patient, make_practitioner, make_service
from tests.helpers import sign_in_returning_patient
from tests.smtp import SENDER, SMTPServer

# Monday 1 March 2027, 9:00 in New York (EST). Clocks go forward on Sunday 14 March.
NOW = datetime(2027, 3, 1, 14, 0, tzinfo=UTC)
FIRST_DAY = date(2027, 3, 8)
TEN = time(10, 0)
EVERY_DAY = {day: [("09:00", "17:00")] for day in range(7)}
API = "/api/v1/series/preview"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def clinic(app: Flask, frozen) -> dict[str, int]:
    """Maya gives follow-ups every day 9:00-17:00; Ana and Ben had their first visit; the
    booking horizon is widened to 120 days so the series reaches past the DST change."""
    with app.app_context():
        get_clinic().horizon_days = 120
        follow = make_service(slug="follow-up", name="Follow-up visit", minutes=30)
        first = make_service(slug="first", name="First visit", minutes=60,
                             kind=VisitKind.FIRST_VISIT)
        maya = make_practitioner([follow, first], name="Maya Chen", hours=EVERY_DAY)
        sam = make_practitioner([first], name="Sam Okafor", hours=EVERY_DAY)
        ana = make_patient(first_name="Ana", last_name="Silva", email="ana.silva@example.com")
        ben = make_patient(first_name="Ben", last_name="Walker", email="ben.walker@example.com")
        add_intake(ana, submitted_at=NOW - timedelta(days=14))
        add_intake(ben, submitted_at=NOW - timedelta(days=14))
        db.session.commit()
        return {"follow": follow.id, "first": first.id, "maya": maya.id, "sam": sam.id,
                "ana": ana.id, "ben": ben.id}


def local(day: date, at: time = TEN) -> datetime:
    return datetime.combine(day, at, get_clinic().zone)


def active_visits(app: Flask, patient_id: int | None = None) -> list[Appointment]:
    with app.app_context():
        query = select(Appointment).where(Appointment.status.in_(ACTIVE_STATUSES))
        if patient_id is not None:
            query = query.where(Appointment.patient_id == patient_id)
        found = list(db.session.scalars(query.order_by(Appointment.starts_at)))
        db.session.expunge_all()
        return found


def ben_takes(app: Flask, clinic: dict[str, int], day: date) -> None:
    """Ben has Maya at 10:00 that day (booked before, or meanwhile)."""
    with app.app_context():
        make_appointment(db.session.get(Practitioner, clinic["maya"]),
                         db.session.get(Service, clinic["follow"]), local(day),
                         patient=db.session.get(Patient, clinic["ben"]))
        db.session.commit()


def get_zone(app: Flask):
    with app.app_context():
        return get_clinic().zone


def preview(client, **changes):
    body = {"service": "follow-up", "practitioner_id": changes.pop("practitioner_id", None),
            "first_start": "2027-03-08T10:00:00-05:00", "every_weeks": 1, "count": 4, **changes}
    return client.post(API, json=body)


# --- Daylight saving -------------------------------------------------------------------------


def test_weekly_series_across_the_march_change_keeps_ten_local(app, client, clinic):
    answer = preview(client, practitioner_id=clinic["maya"])
    assert answer.status_code == 200, answer.json
    starts = [o["start"] for o in answer.json["occurrences"]]
    assert starts == ["2027-03-08T10:00:00-05:00", "2027-03-15T10:00:00-04:00",
                      "2027-03-22T10:00:00-04:00", "2027-03-29T10:00:00-04:00"]
    assert answer.json["all_free"] is True
    with app.app_context():
        zone = get_clinic().zone
        service = db.session.get(Service, clinic["follow"])
        wanted = series_starts(FIRST_DAY, TEN, 1, 4, zone)
        series = book_series(clinic["ana"], service, clinic["maya"], wanted, 1, NOW)
        db.session.commit()
        stored = [visit.starts_at for visit in series.visits]
    assert [s.astimezone(UTC).hour for s in stored] == [15, 14, 14, 14]  # UTC moves, 10:00 stays
    assert {s.astimezone(zone).time() for s in stored} == {TEN}


# --- A taken week ----------------------------------------------------------------------------


def plan_query(clinic, **changes) -> dict[str, str]:
    return {"service": str(clinic["follow"]), "practitioner": str(clinic["maya"]),
            "first_day": FIRST_DAY.isoformat(), "time": "10:00", "every_weeks": "1",
            "count": "4", **changes}


def test_a_taken_week_shows_its_alternatives_and_books_nothing_until_confirmed(
    app, client, clinic
):
    ben_takes(app, clinic, FIRST_DAY + timedelta(weeks=1))
    sign_in_returning_patient(client, "ana.silva@example.com")

    page = client.get("/series/", query_string=plan_query(clinic))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count("Not free") == 1 and html.count(">Free<") == 3
    # The nearest free times of that week with Maya, the nearest (9:30 that day) picked.
    assert 'name="visit-2" value="2027-03-15T13:30:00+00:00" checked' in html
    assert 'name="visit-2" value="2027-03-15T14:30:00+00:00">' in html
    assert active_visits(app, clinic["ana"]) == []  # a preview books nothing

    chosen = {**plan_query(clinic), "visit-1": "2027-03-08T15:00:00+00:00",
              "visit-2": "2027-03-15T14:30:00+00:00", "visit-3": "2027-03-22T14:00:00+00:00",
              "visit-4": "2027-03-29T14:00:00+00:00"}
    booked = client.post("/series/", data=chosen)
    assert booked.status_code == 303, booked.get_data(as_text=True)[:3000]
    zone = get_zone(app)
    assert [v.starts_at.astimezone(zone).strftime("%m-%d %H:%M")
            for v in active_visits(app, clinic["ana"])] == [
        "03-08 10:00", "03-15 10:30", "03-22 10:00", "03-29 10:00"]
    done = client.get(booked.location)
    assert "Your 4 visits are booked" in done.get_data(as_text=True)


def test_a_time_taken_between_preview_and_booking_books_none_of_the_series(app, client, clinic):
    sign_in_returning_patient(client, "ana.silva@example.com")
    starts = ["2027-03-08T15:00:00+00:00", "2027-03-15T14:00:00+00:00",
              "2027-03-22T14:00:00+00:00"]
    ben_takes(app, clinic, FIRST_DAY + timedelta(weeks=2))  # the third week, meanwhile
    data = {**plan_query(clinic, count="3"),
            **{f"visit-{n}": start for n, start in enumerate(starts, 1)}}
    refused = client.post("/series/", data=data)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "Nothing was booked" in html and "March 22 at 10:00 AM" in html
    assert html.count("Not free") == 1  # the fresh preview, with that week's alternatives
    assert active_visits(app, clinic["ana"]) == []


def test_the_series_page_is_for_signed_in_returning_patients_only(app, client, clinic):
    assert client.get("/series/").location.endswith("/returning/")
    assert client.post("/series/", data=plan_query(clinic)).status_code == 303
    assert active_visits(app) == []


# --- Two patients racing ---------------------------------------------------------------------


def test_two_patients_racing_for_overlapping_series_one_wins_whole(make_app, clinic):
    """Two sessions (threads, each its own connection) book at the same moment; their series
    share three weeks. One gets all four visits, the other none, not even its free week."""
    apps = [make_app(), make_app()]
    wanted = {
        clinic["ana"]: [FIRST_DAY + timedelta(weeks=n) for n in range(4)],
        clinic["ben"]: [FIRST_DAY + timedelta(weeks=n) for n in range(1, 5)],
    }
    barrier = threading.Barrier(2)
    results: dict[int, str] = {}

    def race(app: Flask, patient_id: int) -> None:
        with app.app_context():
            service = db.session.get(Service, clinic["follow"])
            starts = [local(day) for day in wanted[patient_id]]
            db.session.commit()  # on SQLite even a read holds the write lock: none before the start
            barrier.wait(timeout=30)
            try:
                book_series(patient_id, service, clinic["maya"], starts, 1, NOW)
                db.session.commit()
                results[patient_id] = "booked"
            except SeriesNotFree as refusal:
                db.session.rollback()
                results[patient_id] = f"refused {len(refusal.taken)}"

    threads = [threading.Thread(target=race, args=(a, p))
               for a, p in zip(apps, wanted, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results.values()) == ["booked", "refused 3"], results
    winner = next(p for p, r in results.items() if r == "booked")
    loser = next(p for p in wanted if p != winner)
    assert len(active_visits(apps[0], winner)) == 4
    assert active_visits(apps[0], loser) == []
    with apps[0].app_context():
        assert db.session.scalar(select(func.count()).select_from(VisitSeries)) == 1


# --- The preview API -------------------------------------------------------------------------


def test_preview_answers_each_visit_with_alternatives_and_books_nothing(app, client, clinic):
    ben_takes(app, clinic, FIRST_DAY)
    answer = preview(client, practitioner_id=clinic["maya"], count=2, every_weeks=2)
    assert answer.status_code == 200
    body = answer.json
    assert body["timezone"] == "America/New_York" and body["all_free"] is False
    assert body["practitioner_id"] == clinic["maya"] and body["every_weeks"] == 2
    taken, free = body["occurrences"]
    assert taken["start"] == "2027-03-08T10:00:00-05:00" and taken["free"] is False
    assert taken["end"] == "2027-03-08T10:30:00-05:00"
    assert [a["start"] for a in taken["alternatives"]] == [  # the nearest four, in time order
        "2027-03-08T09:00:00-05:00", "2027-03-08T09:30:00-05:00",
        "2027-03-08T10:30:00-05:00", "2027-03-08T11:00:00-05:00"]
    assert all(a["practitioner_id"] == clinic["maya"] for a in taken["alternatives"])
    assert free == {"start": "2027-03-22T10:00:00-04:00", "end": "2027-03-22T10:30:00-04:00",
                    "free": True}
    assert len(active_visits(app)) == 1


@pytest.mark.parametrize(("changes", "field", "says"), [
    ({"every_weeks": 0}, "every_weeks", "1 to 4 weeks"),
    ({"every_weeks": 5}, "every_weeks", "1 to 4 weeks"),
    ({"every_weeks": "weekly"}, "every_weeks", "integer"),
    ({"count": 1}, "count", "2 to 12"),
    ({"count": 13}, "count", "2 to 12"),
    ({"count": None}, "count", "number of visits"),
    ({"first_start": "2027-03-08T10:00:00"}, "first_start", "UTC offset"),
    ({"first_start": "2027-02-01T10:00:00-05:00"}, "first_start", "passed"),
    ({"practitioner_id": "any"}, "practitioner_id", "one practitioner"),
    ({"practitioner_id": 99999}, "practitioner_id", "Unknown practitioner"),
    ({"practitioner_id": "sam"}, "practitioner_id", "does not offer"),
    ({"service": "massage"}, "service", "Unknown service"),
])
def test_preview_refuses_bad_input_with_422_and_the_field(client, clinic, changes, field, says):
    if changes.get("practitioner_id") == "sam":
        changes = {"practitioner_id": clinic["sam"]}
    changes.setdefault("practitioner_id", clinic["maya"])
    answer = preview(client, **changes)
    assert answer.status_code == 422, answer.json
    assert answer.json["error"] == "invalid"
    assert says in answer.json["fields"][field]


def test_preview_refuses_a_body_that_is_not_a_json_object(client, clinic):
    answer = client.post(API, data="count=4", content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 422 and "body" in answer.json["fields"]
    assert client.post(API, json=[1, 2]).status_code == 422


# --- Cancelling one, and the email -----------------------------------------------------------


@pytest.fixture
def smtp_server():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(make_app, smtp_server):
    return make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port,
                    MAIL_SUPPRESS_SEND=False, MAIL_DEFAULT_SENDER=SENDER)


def book_four(app: Flask, clinic) -> list[int]:
    with app.app_context():
        service = db.session.get(Service, clinic["follow"])
        starts = series_starts(FIRST_DAY, TEN, 1, 4, get_clinic().zone)
        series = book_series(clinic["ana"], service, clinic["maya"], starts, 1, NOW)
        ids = [visit.id for visit in series.visits]
        db.session.commit()
        return ids


def test_cancelling_one_visit_of_a_series_leaves_the_others(app, clinic):
    ids = book_four(app, clinic)
    with app.app_context():
        cancel_appointment(db.session.get(Appointment, ids[1]), "Away that week", by="patient")
        db.session.commit()
        statuses = [db.session.get(Appointment, i).status for i in ids]
        series = db.session.get(Appointment, ids[0]).series
        assert [v.id for v in series.visits] == ids
    assert statuses == [AppointmentStatus.CONFIRMED, AppointmentStatus.CANCELLED,
                        AppointmentStatus.CONFIRMED, AppointmentStatus.CONFIRMED]


def test_one_email_lists_the_series_with_a_calendar_entry_per_visit(
    mail_app, smtp_server, clinic
):
    ids = book_four(mail_app, clinic)
    with mail_app.app_context():
        kinds = list(db.session.scalars(select(OutboxMessage.kind)))
        assert kinds.count("series_booked") == 1 and "confirmation" not in kinds
        assert kinds.count("reminder") == 4  # each visit keeps its own reminder
        send_due(NOW)
        uids = [appointment_uid(i, calendar_domain()) for i in ids]
    [message] = smtp_server.messages
    assert message["To"] == "ana.silva@example.com"
    assert message["Subject"].startswith("Your 4 visits are booked")
    text = message.get_body(("plain",)).get_content()
    for day in ("March 8, 2027", "March 15, 2027", "March 22, 2027", "March 29, 2027"):
        assert day in text
    assert text.count("10:00 AM to 10:30 AM") == 4
    assert text.count("/visit/") == 4  # a link per visit
    [attachment] = [p for p in message.iter_attachments()
                    if p.get_content_type() == "text/calendar"]
    calendar = Calendar.from_ical(attachment.get_content())
    events = calendar.walk("VEVENT")
    assert [str(e["UID"]) for e in events] == uids
    assert {e.decoded("DTSTART").strftime("%H:%M %Z") for e in events[1:]} == {"10:00 EDT"}
    assert events[0].decoded("DTSTART").strftime("%H:%M %Z") == "10:00 EST"

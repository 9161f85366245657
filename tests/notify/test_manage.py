"""The patient's own visit link, on SQLite and PostgreSQL: view, move and cancel through the
page, the emails and calendar updates that follow (real SMTP), and links that must be refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import render_template_string
from icalendar import Calendar
from sqlalchemy import select

from booking.extensions import db
from booking.notify.links import appointment_for_token, manage_token
from booking.notify.models import OutboxMessage, OutboxStatus
from booking.notify.outbox import SendReport
from booking.scheduling.models import AppointmentStatus
from tests.factories import make_patient
from tests.notify.visits import (
    NOW,
    UID_DOMAIN,
    VISIT,
    appointment,
    book,
    calendar_of,
    deliver,
    has_calendar,
    make_clinic,
    manage_path,
    subjects,
    text_of,
)

NEW_START = datetime(2026, 6, 11, 18, 0, tzinfo=UTC)  # Thursday 11 June, 2:00 PM EDT
REFUSAL = "This link no longer works"


@pytest.fixture
def clinic(mail_app, time_machine):
    time_machine.move_to(NOW)
    with mail_app.app_context():
        return make_clinic()


@pytest.fixture
def client(mail_app):
    return mail_app.test_client()


@pytest.fixture
def booked(mail_app, smtp_server, clinic):
    """A confirmed first visit; its confirmation delivered. Returns (id, path of its link)."""
    with mail_app.app_context():
        visit_id = book(clinic, VISIT, NOW)
    deliver(mail_app)
    [confirmation] = smtp_server.messages
    smtp_server.clear()
    return visit_id, manage_path(confirmation)


def event_of(message):
    attachment, calendar = calendar_of(message)
    [event] = calendar.events
    return attachment.get_param("method"), calendar["METHOD"], str(event["UID"]), event


def located(response) -> str:
    return response.headers["Location"]


# --- the page -------------------------------------------------------------------------------


def test_the_page_shows_the_visit_with_change_and_cancel(client, booked):
    _, path = booked

    page = client.get(path)

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Wednesday, June 10, 2026 at 10:00 AM" in html
    assert "Maya Chen" in html
    assert f'href="{path}/cancel"' in html  # the page that asks first
    assert f'href="{path}/times"' in html
    assert f'href="{path}/calendar.ics"' in html
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_the_calendar_download_is_the_same_entry(client, booked):
    visit_id, path = booked

    download = client.get(f"{path}/calendar.ics")

    assert download.status_code == 200
    assert download.mimetype == "text/calendar"
    assert "attachment" in download.headers["Content-Disposition"]
    calendar = Calendar.from_ical(download.data)
    assert calendar["METHOD"] == "PUBLISH"
    [event] = calendar.events
    assert str(event["UID"]) == f"appointment-{visit_id}@{UID_DOMAIN}"
    assert event["SEQUENCE"] == 0
    assert event.start == VISIT


def test_the_confirmation_page_include_links_the_download_and_the_page(mail_app, booked):
    visit_id, path = booked
    with mail_app.test_request_context():
        html = render_template_string(
            '{% include "booking/_calendar_link.html" %}', appointment=appointment(visit_id)
        )
    assert f'href="{path}/calendar.ics"' in html
    assert f'href="{path}"' in html


# --- move, then cancel: one calendar entry throughout --------------------------------------


def test_move_then_cancel_update_the_same_calendar_entry_with_rising_sequence(
    mail_app, client, smtp_server, booked, time_machine
):
    visit_id, first_path = booked
    uid = f"appointment-{visit_id}@{UID_DOMAIN}"

    times = client.get(f"{first_path}/times?start=2026-06-11")
    assert times.status_code == 200
    assert f'value="{NEW_START.isoformat()}"' in times.get_data(as_text=True)
    asked = client.get(f"{first_path}/move", query_string={"start": NEW_START.isoformat()})
    assert asked.status_code == 200
    with mail_app.app_context():
        assert appointment(visit_id).starts_at == VISIT, "a tap on a time changes nothing"
    moved = client.post(f"{first_path}/move", data={"start": NEW_START.isoformat()})
    assert moved.status_code == 303
    second_path = located(moved)
    assert second_path != first_path
    assert "Thursday, June 11, 2026 at 2:00 PM" in client.get(second_path).get_data(as_text=True)
    assert deliver(mail_app) == SendReport(sent=1)
    [rescheduled] = smtp_server.messages
    assert rescheduled["Subject"] == "Your visit has moved to Thursday, June 11, 2026 at 2:00 PM"
    assert "It was Wednesday, June 10, 2026 at 10:00 AM." in text_of(rescheduled)
    assert manage_path(rescheduled) == second_path
    content_method, method, event_uid, event = event_of(rescheduled)
    assert (content_method, method, event_uid) == ("REQUEST", "REQUEST", uid)
    assert event["SEQUENCE"] == 1
    assert event.start == NEW_START
    assert client.get(first_path).status_code == 404, "the old link is revoked"

    smtp_server.clear()
    assert client.get(f"{second_path}/cancel").status_code == 200
    cancelled = client.post(f"{second_path}/cancel", data={"reason": "time"})
    assert cancelled.status_code == 303
    third_path = located(cancelled)
    assert "This visit is cancelled" in client.get(third_path).get_data(as_text=True)
    assert deliver(mail_app) == SendReport(sent=1)
    [notice] = smtp_server.messages
    assert notice["Subject"] == "Your visit on Thursday, June 11, 2026 is cancelled"
    content_method, method, event_uid, event = event_of(notice)
    assert (content_method, method, event_uid) == ("CANCEL", "CANCEL", uid)
    assert event["SEQUENCE"] == 2
    assert str(event["STATUS"]) == "CANCELLED"
    assert client.get(second_path).status_code == 404

    with mail_app.app_context():
        visit = appointment(visit_id)
        assert (visit.id, visit.status, visit.sequence) == (visit_id, "cancelled", 2)
        assert visit.cancel_reason == "The time no longer suits me"


def test_a_taken_time_offers_the_nearest_free_ones_and_changes_nothing(
    mail_app, client, smtp_server, clinic, booked
):
    visit_id, path = booked
    with mail_app.app_context():
        other = make_patient(first_name="Bo")
        db.session.commit()
        book(clinic, NEW_START, NOW, service_id=clinic.follow_up_id, patient_id=other.id)

    taken = client.post(f"{path}/move", data={"start": NEW_START.isoformat()})

    assert taken.status_code == 409
    html = taken.get_data(as_text=True)
    assert "no longer free" in html
    assert re.search(r'name="start" value="2026-06-1\dT', html), "nearest free times offered"
    assert client.get(path).status_code == 200, "the link still stands"
    with mail_app.app_context():
        assert appointment(visit_id).starts_at == VISIT
        assert appointment(visit_id).sequence == 0


@pytest.mark.parametrize(
    "start",
    ["9999-12-31T23:00:00-05:00", "9999-12-31T10:00:00Z", "0001-01-01T00:00:00+05:00",
     "0001-01-01T10:00:00Z", "not a time"],
)
def test_a_time_out_of_range_is_refused_and_changes_nothing(mail_app, client, booked, start):
    visit_id, path = booked

    response = client.post(f"{path}/move", data={"start": start})

    assert response.status_code == 400
    with mail_app.app_context():
        assert (appointment(visit_id).starts_at, appointment(visit_id).sequence) == (VISIT, 0)


def test_cancelling_needs_a_reason(mail_app, client, booked):
    visit_id, path = booked
    with mail_app.app_context():
        queued = db.session.scalars(select(OutboxMessage.id)).all()

    page = client.post(f"{path}/cancel", data={"reason": "", "details": "kept text"})

    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "Choose the reason that fits best." in html
    assert "kept text" in html
    with mail_app.app_context():
        visit = appointment(visit_id)
        assert (visit.status, visit.sequence, visit.cancel_reason) == (
            AppointmentStatus.CONFIRMED, 0, None
        )
        assert db.session.scalars(select(OutboxMessage.id)).all() == queued


# --- inside the cancellation window ---------------------------------------------------------


def test_inside_the_window_the_page_says_to_phone_and_refuses_changes(
    mail_app, client, booked, time_machine
):
    visit_id, path = booked
    time_machine.move_to(VISIT - timedelta(hours=23))

    page = client.get(path)

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "please phone us" in html.lower()
    assert 'href="tel:(555) 010-2030"' in html
    assert "<form" not in html
    assert "/times" not in html
    for refused in (
        client.post(f"{path}/cancel", data={"reason": "time"}),
        client.post(f"{path}/move", data={"start": NEW_START.isoformat()}),
        client.get(f"{path}/times"),
    ):
        assert refused.status_code == 403
        assert "<form" not in refused.get_data(as_text=True)
    with mail_app.app_context():
        visit = appointment(visit_id)
        assert (visit.status, visit.starts_at, visit.sequence) == ("confirmed", VISIT, 0)


# --- refused links --------------------------------------------------------------------------


def test_tampered_expired_revoked_and_unknown_links_get_one_refusal_page(
    mail_app, client, smtp_server, clinic, booked, time_machine
):
    visit_id, path = booked
    token = path.rsplit("/", 1)[1]
    tampered = "/visit/" + token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with mail_app.app_context():
        other_id = book(clinic, NEW_START, NOW, service_id=clinic.follow_up_id)
        deliver(mail_app)
        other_path = f"/visit/{manage_token(appointment(other_id))}"
    moved = client.post(f"{other_path}/move", data={"start": (NEW_START + timedelta(hours=1))
                                                    .isoformat()})
    assert moved.status_code == 303
    client.get(located(moved))  # as a browser does, showing the "moved" notice
    revoked = other_path
    with mail_app.app_context():
        # A well-signed link to an appointment that does not exist.
        from booking.notify.links import _serializer

        unknown = f"/visit/{_serializer().dumps([visit_id + 1000, 0])}"
    refusals = [
        client.get(tampered),
        client.get(revoked),
        client.get(unknown),
        client.get("/visit/not-a-token"),
        client.post(f"{tampered}/cancel", data={"reason": "time"}),
        client.get(f"{revoked}/calendar.ics"),
    ]
    time_machine.move_to(VISIT + timedelta(minutes=1))
    refusals.append(client.get(path))  # expired: the visit has begun

    bodies = {response.get_data(as_text=True) for response in refusals}
    assert [response.status_code for response in refusals] == [404] * len(refusals)
    assert len(bodies) == 1, "the same page whatever the reason"
    [body] = bodies
    assert REFUSAL in body
    assert "Traceback" not in body
    with mail_app.app_context():
        assert appointment(visit_id).status == AppointmentStatus.CONFIRMED


def test_tokens_name_the_appointment_and_its_version_only(mail_app, booked):
    visit_id, path = booked
    with mail_app.app_context():
        visit = appointment(visit_id)
        token = manage_token(visit)
        assert path == f"/visit/{token}"
        assert appointment_for_token(token, NOW) is visit
        assert appointment_for_token(token, VISIT) is None
        visit.sequence += 1
        assert appointment_for_token(token, NOW) is None
        db.session.rollback()
    other = mail_app.config["SECRET_KEY"]
    mail_app.config["SECRET_KEY"] = "another-secret"
    try:
        with mail_app.app_context():
            assert appointment_for_token(token, NOW) is None
    finally:
        mail_app.config["SECRET_KEY"] = other


# --- reminders follow the changes -----------------------------------------------------------


def test_a_cancelled_visit_gets_no_reminder(mail_app, client, smtp_server, booked, time_machine):
    visit_id, path = booked
    assert client.post(f"{path}/cancel", data={"reason": "better"}).status_code == 303
    deliver(mail_app)
    assert subjects(smtp_server.messages) == [
        "Your visit on Wednesday, June 10, 2026 is cancelled"
    ]
    smtp_server.clear()

    for moment in (datetime(2026, 6, 9, 14, 0, tzinfo=UTC), VISIT + timedelta(hours=3)):
        time_machine.move_to(moment)
        deliver(mail_app)

    assert smtp_server.messages == []
    with mail_app.app_context():
        rows = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind.in_(("reminder", "after_care")))
        ).all()
        assert {row.status for row in rows} == {OutboxStatus.DEAD}


def test_a_moved_visit_gets_one_reminder_for_its_new_time(
    mail_app, client, smtp_server, booked, time_machine
):
    _, path = booked
    moved = client.post(f"{path}/move", data={"start": NEW_START.isoformat()})
    assert moved.status_code == 303
    deliver(mail_app)
    smtp_server.clear()

    # The old reminder's moment (10:00 on 9 June), then the new one's (10:00 on 10 June).
    for moment in (datetime(2026, 6, 9, 14, 0, tzinfo=UTC), datetime(2026, 6, 10, 14, 0,
                                                                     tzinfo=UTC)):
        time_machine.move_to(moment)
        deliver(mail_app)
    time_machine.move_to(NEW_START - timedelta(hours=1))
    deliver(mail_app)

    [reminder] = smtp_server.messages
    assert reminder["Subject"] == "Reminder: your visit on Thursday, June 11, 2026 at 2:00 PM"
    assert manage_path(reminder) == located(moved)
    assert not has_calendar(reminder)


# --- changes ask first --------------------------------------------------------------------


def outbox_ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(OutboxMessage.id)))


def test_a_tap_on_a_time_shows_old_and_new_and_changes_nothing(mail_app, client, booked):
    visit_id, path = booked
    times = client.get(f"{path}/times?start=2026-06-11").get_data(as_text=True)
    # Each time is a button of a GET form to the confirm page, not a POST that moves.
    assert f'<form method="get" action="{path}/move"' in times
    queued = outbox_ids(mail_app)

    page = client.get(f"{path}/move", query_string={"start": NEW_START.isoformat()})

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Move your visit?" in html
    assert re.search(r"<del>Wednesday, June 10, 2026 at 10:00 AM</del>", html)
    assert "<strong>Thursday, June 11, 2026 at 2:00 PM</strong>" in html
    assert f'action="{path}/move"' in html and 'method="post"' in html
    assert f'value="{NEW_START.isoformat()}"' in html
    assert f'href="{path}">Keep my current time</a>' in html
    with mail_app.app_context():
        assert (appointment(visit_id).starts_at, appointment(visit_id).sequence) == (VISIT, 0)
    assert outbox_ids(mail_app) == queued
    assert client.get(path).status_code == 200, "the link still stands"


def test_the_cancel_page_shows_the_visit_and_changes_nothing(mail_app, client, booked):
    visit_id, path = booked
    visit_page = client.get(path).get_data(as_text=True)
    assert f'action="{path}/cancel"' not in visit_page, "no cancel button on the visit page"
    queued = outbox_ids(mail_app)

    page = client.get(f"{path}/cancel")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Cancel your visit?" in html
    assert "Wednesday, June 10, 2026 at 10:00 AM" in html and "Maya Chen" in html
    assert f'action="{path}/cancel"' in html
    assert f'href="{path}">Keep my visit</a>' in html
    with mail_app.app_context():
        assert appointment(visit_id).status == AppointmentStatus.CONFIRMED
    assert outbox_ids(mail_app) == queued


def test_times_inside_the_cancellation_window_are_not_offered_for_a_move(
    mail_app, client, booked
):
    visit_id, path = booked
    # NOW is Monday 1 June 09:00; the window is 24 hours: none on Monday, and on Tuesday not
    # 09:00 either (exactly 24 hours away: already at the window's edge), 09:30 first.
    page = client.get(f"{path}/times?start=2026-06-01").get_data(as_text=True)
    offered = [datetime.fromisoformat(v) for v in re.findall(r'name="start" value="([^"]+)"', page)]
    assert offered
    assert min(offered) == datetime(2026, 6, 2, 13, 30, tzinfo=UTC)  # Tuesday 9:30 AM EDT
    assert "Times in the next 24 hours are not shown" in page

    inside = (NOW + timedelta(hours=5)).isoformat()  # Monday 2:00 PM: free, but inside
    for response in (
        client.get(f"{path}/move", query_string={"start": inside}),
        client.post(f"{path}/move", data={"start": inside}),
    ):
        assert response.status_code == 409
        html = response.get_data(as_text=True)
        assert "Your visit is unchanged" in html
        alternatives = [datetime.fromisoformat(v)
                        for v in re.findall(r'name="start" value="([^"]+)"', html)]
        assert alternatives and min(alternatives) >= NOW + timedelta(hours=24)
    with mail_app.app_context():
        assert (appointment(visit_id).starts_at, appointment(visit_id).sequence) == (VISIT, 0)


@pytest.mark.parametrize("start", ["not a time", "2026-06-11T14:00:00", ""])
def test_an_unreadable_time_on_the_confirm_page_is_refused(client, booked, start):
    _, path = booked
    response = client.get(f"{path}/move", query_string={"start": start})
    assert response.status_code == 400
    assert "Traceback" not in response.get_data(as_text=True)


def test_window_wording_only_where_it_applies(mail_app, client, smtp_server, clinic, booked):
    _, path = booked
    today = datetime(2026, 6, 1, 19, 0, tzinfo=UTC)  # 3:00 PM the same day: inside the window
    with mail_app.app_context():
        other = make_patient(first_name="Bo", email="bo@example.com")
        db.session.commit()
        soon_id = book(clinic, today, NOW, patient_id=other.id)
        soon_path = f"/visit/{manage_token(appointment(soon_id))}"
    deliver(mail_app)
    [soon_mail] = smtp_server.messages
    far_page = client.get(path).get_data(as_text=True)
    soon_page = client.get(soon_path).get_data(as_text=True)

    assert "You can change or cancel online until 24 hours before your visit." in far_page
    assert "24 hours" not in text_of(soon_mail)
    assert "To change or cancel, please call (555) 010-2030." in text_of(soon_mail)
    assert "See your visit:" in text_of(soon_mail)
    assert "change or cancel online until" not in soon_page
    assert "please phone us" in soon_page.lower()
    with mail_app.app_context():
        from booking.notify.messages import booking_confirmed

        far_mail = booking_confirmed(appointment(booked[0])).text
    assert "See, change or cancel your visit:" in far_mail
    assert "Online changes close 24 hours before the visit" in far_mail
    assert "All your visits (My visits): http://127.0.0.1:5000/returning/visits" in far_mail

"""The practitioner's private calendar feed: made, parsed with icalendar, free of clinical detail,
refused once revoked or replaced, and private to its practitioner.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from booking.clinical.models import FeedToken
from booking.db import now_utc
from booking.extensions import db
from booking.scheduling.models import AppointmentStatus
from tests.clinician.helpers import add_intake, add_visit, make_patient


@pytest.fixture
def visits(app, world) -> dict[str, int]:
    """Maya's visits (one flagged and needle-averse, one cancelled) and one of Sam's."""
    now = now_utc().replace(microsecond=0)
    with app.app_context():
        ana = make_patient(first_name="Ana", last_name="Silva", email="ana@example.com")
        booked = add_visit(world.maya, world.first_visit, now + timedelta(days=2), ana)
        add_intake(ana, booked, needle_fear="yes", blood_thinners="yes", cancer_history="yes")
        ben = make_patient(first_name="Ben", last_name="Walker")
        held = add_visit(world.maya, world.follow_up, now + timedelta(days=3), ben,
                         AppointmentStatus.AWAITING_REVIEW)
        gone = add_visit(world.maya, world.follow_up, now + timedelta(days=4),
                         make_patient(first_name="Cyril", last_name="Gonewell"),
                         AppointmentStatus.CANCELLED)
        sams = add_visit(world.sam, world.follow_up, now + timedelta(days=2),
                         make_patient(first_name="Delia", last_name="Otherby"))
        db.session.commit()
        return {"booked": booked.id, "held": held.id, "gone": gone.id, "sams": sams.id,
                "booked_start": booked.starts_at}


def make_address(client) -> str:
    """Make a feed address on the feed page and return its path."""
    assert client.post("/staff/clinician/feed").status_code == 302
    html = client.get("/staff/clinician/feed").get_data(as_text=True)
    match = re.search(r'value="https?://[^/"]+(/calendar/[^"]+\.ics)"', html)
    assert match, html
    return match.group(1)


def test_the_feed_lists_time_service_and_initials_only(app, maya, visits):
    path = make_address(maya)
    anonymous = app.test_client()  # calendar apps have no session
    response = anonymous.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert "no-store" in response.headers["Cache-Control"]
    calendar = Calendar.from_ical(response.data)
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert len(events) == 2  # the booked and the held visit; not cancelled, not Sam's
    summaries = sorted(str(e["SUMMARY"]) for e in events.values())
    assert summaries == ["First visit · AS", "Follow-up · BW"]
    booked = next(e for e in events.values() if str(e["SUMMARY"]).endswith("AS"))
    assert booked.decoded("DTSTART") == visits["booked_start"]
    assert booked.decoded("DTEND") == visits["booked_start"] + timedelta(minutes=60)
    held = next(e for e in events.values() if str(e["SUMMARY"]).endswith("BW"))
    assert (str(booked["STATUS"]), str(held["STATUS"])) == ("CONFIRMED", "TENTATIVE")
    body = response.get_data(as_text=True)
    for private in ("Ana", "Silva", "Walker", "ana@example.com", "needle", "thinner", "cancer",
                    "precaution", "review", "DESCRIPTION", "ATTENDEE", "Gonewell", "Otherby"):
        assert private.lower() not in body.lower(), private


def test_revoked_and_unknown_tokens_are_refused(app, maya, visits):
    path = make_address(maya)
    anonymous = app.test_client()
    assert anonymous.get(path).status_code == 200
    assert maya.post("/staff/clinician/feed/revoke").status_code == 302
    assert anonymous.get(path).status_code == 404
    assert anonymous.get("/calendar/not-a-real-token.ics").status_code == 404
    with app.app_context():
        token = db.session.scalar(select(FeedToken))
        assert token.revoked_at is not None


def test_a_new_address_replaces_the_old_one(app, maya, visits):
    first = make_address(maya)
    second = make_address(maya)
    assert first != second
    anonymous = app.test_client()
    assert anonymous.get(first).status_code == 404
    assert anonymous.get(second).status_code == 200
    with app.app_context():
        live = db.session.scalars(select(FeedToken).where(FeedToken.revoked_at.is_(None))).all()
        assert len(live) == 1


def test_a_practitioner_sees_only_their_own_address(app, world, signed_in, visits):
    maya_path = make_address(signed_in("maya@example.com"))
    sam = signed_in("sam@example.com")
    page = sam.get(f"/staff/clinician/feed?practitioner={world.maya}").get_data(as_text=True)
    assert maya_path not in page
    assert "No feed address yet" in page  # Sam's own, not yet made


def test_an_admin_can_revoke_a_practitioners_address(app, world, signed_in, visits):
    path = make_address(signed_in("maya@example.com"))
    admin = signed_in("admin@example.com")
    assert path in admin.get(f"/staff/clinician/feed?practitioner={world.maya}").get_data(
        as_text=True
    )
    admin.post("/staff/clinician/feed/revoke", data={"practitioner": str(world.maya)})
    assert app.test_client().get(path).status_code == 404


def test_making_and_revoking_addresses_is_audited(app, maya, visits):
    make_address(maya)
    maya.post("/staff/clinician/feed/revoke")
    with app.app_context():
        from booking.audit.models import AuditEvent

        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.subject_type == "practitioner")
        ).all()
        assert actions == ["feed_token_issued", "feed_token_revoked"]

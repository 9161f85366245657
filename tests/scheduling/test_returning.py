"""Follow-ups: only a returning patient, through a one-time link to their email, can book one.

Walked through the pages with the test client, on both engines: a stranger is sent to ask for a
link at every follow-up step; "Book a follow-up" answers the same for any address; a link works
once within 15 minutes; the signed-in patient books with the details we hold, typing nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from flask import Flask
from sqlalchemy import func, select

from booking.extensions import db
from booking.intake.models import Intake
from booking.notify.models import OutboxMessage
from booking.patients.links import PatientSignInLink
from booking.patients.models import Patient
from booking.scheduling.models import Appointment, AppointmentStatus, VisitKind
from tests.clinician.helpers import add_intake
from tests.factories import make_patient, make_practitioner, make_service
from tests.helpers import (
    RETURNING_ASK,
    csrf_token_in,
    newest_sign_in_link,
    sign_in_returning_patient,
)

# Friday 20 November 2026, 9:00 in New York.
NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
MONDAY_10AM = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
EVERY_DAY = {day: [("09:00", "17:00")] for day in range(7)}
ANA_EMAIL = "Ana.Silva@example.com"  # as the clinic stored it; she types it in lower case
SAME_ANSWER = "If we know this email, we have sent a link; it works once within 15 minutes."
EXPIRED = "This link has expired"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def clinic(app: Flask, frozen) -> dict[str, int]:
    """A first visit and a follow-up with Maya; Ana had her first visit (a clear intake), Nia
    was booked by phone and never gave one, Eli's first intake called for emergency care."""
    with app.app_context():
        first = make_service(slug="first-visit", name="First visit", minutes=60,
                             kind=VisitKind.FIRST_VISIT)
        follow = make_service(slug="follow-up", name="Follow-up visit", minutes=30)
        maya = make_practitioner([first, follow], name="Maya Chen", hours=EVERY_DAY)
        ana = make_patient(first_name="Ana", last_name="Silva", email=ANA_EMAIL,
                           phone="(555) 010-4400", date_of_birth=date(1971, 4, 2))
        add_intake(ana, submitted_at=NOW - timedelta(days=14))
        nia = make_patient(first_name="Nia", last_name="Okoro", email="nia@example.com")
        eli = make_patient(first_name="Eli", last_name="Marsh", email="eli@example.com")
        add_intake(eli, bladder_start="yes", bladder_start_onset="new",
                   saddle_numbness="yes", saddle_numbness_onset="new")
        db.session.commit()
        assert db.session.scalars(select(Intake.tier).where(Intake.patient_id == eli.id)).one() \
            == "emergency"
        return {"first": first.id, "follow": follow.id, "maya": maya.id, "ana": ana.id,
                "nia": nia.id, "eli": eli.id}


def hold(client, service_id: int, start: datetime = MONDAY_10AM):
    return client.post("/book/hold", data={
        "service": str(service_id), "practitioner": "any", "start": start.isoformat()})


def rows(app: Flask, model, *where):
    with app.app_context():
        found = list(db.session.scalars(select(model).where(*where).order_by(model.id)))
        db.session.expunge_all()
        return found


def text_of(response) -> str:
    return response.get_data(as_text=True)


# --- Strangers ---------------------------------------------------------------------------------


def test_a_stranger_is_sent_to_ask_for_a_link_at_every_follow_up_step(app, client, clinic):
    for path in ("/book/follow-up", "/book/follow-up/times?practitioner=any"):
        response = client.get(path)
        assert (response.status_code, response.location) == (303, RETURNING_ASK), path
    response = hold(client, clinic["follow"])
    assert (response.status_code, response.location) == (303, RETURNING_ASK)
    assert rows(app, Appointment) == []
    # The follow-up choice of the visit types, and the home page, lead to "Book a follow-up".
    assert f'href="{RETURNING_ASK}"' in text_of(client.get("/book/"))
    assert re.search(r'href="/returning/">Book a follow-up</a>', text_of(client.get("/")))
    # Which also offers a first visit, and asks for the email and nothing else.
    page = text_of(client.get(RETURNING_ASK))
    assert 'href="/book/?kind=first_visit">Book a first visit</a>' in page
    assert re.findall(r'<(?:input|select|textarea)[^>]*name="(\w+)"', page) == ["email"]


def test_a_first_visit_is_still_open_to_anyone(app, client, clinic):
    assert client.get("/book/first-visit").status_code == 200
    response = hold(client, clinic["first"])
    assert response.location.endswith("/book/details")
    assert 'name="first_name"' in text_of(client.get("/book/details"))


def test_a_patient_with_no_completed_first_visit_is_emailed_to_book_one(app, client, clinic):
    for email in ("nia@example.com", "eli@example.com"):
        response = client.post(RETURNING_ASK, data={"email": email})
        assert (response.status_code, response.location) == (303, "/returning/sent")
    sent = rows(app, OutboxMessage)
    assert [(m.recipient, m.kind) for m in sent] == [
        ("nia@example.com", "first_visit_needed"), ("eli@example.com", "first_visit_needed")]
    assert "Hello Nia" in sent[0].text_body
    assert "http://127.0.0.1:5000/book/?kind=first_visit" in sent[0].text_body
    assert all("/returning/link/" not in m.text_body + (m.html_body or "") for m in sent)
    assert rows(app, PatientSignInLink) == []


def test_known_and_unknown_emails_get_the_same_answer(app, client, clinic):
    answers = []
    for email in ("ana.silva@example.com", "nobody@example.com", "nia@example.com"):
        asker = app.test_client()
        response = asker.post(RETURNING_ASK, data={"email": email})
        page = asker.get(response.location)
        answers.append((response.status_code, response.location, page.status_code, text_of(page)))
    assert answers[0] == answers[1] == answers[2]
    assert SAME_ANSWER in answers[0][3]
    recipients = [m.recipient for m in rows(app, OutboxMessage)]
    assert recipients == [ANA_EMAIL, "nia@example.com"]  # nothing to the unknown address


def test_a_mistyped_email_is_kept_and_explained(app, client, clinic):
    response = client.post(RETURNING_ASK, data={"email": "ana-at-example"})
    assert response.status_code == 422
    page = text_of(response)
    assert "Enter an email address like name@example.com." in page
    assert 'value="ana-at-example"' in page and 'aria-invalid="true"' in page
    assert rows(app, OutboxMessage) == []


# --- A returning patient books ----------------------------------------------------------------


def test_a_returning_patient_books_a_follow_up_without_typing_their_details(app, client, clinic):
    sign_in_returning_patient(client, "ana.silva@example.com")
    with client.session_transaction() as session:
        # The session remembers who, by id only: no contact details, no answers.
        assert session["returning_patient"] == clinic["ana"]
        assert "Silva" not in repr(dict(session)) and "example.com" not in repr(dict(session))

    types = text_of(client.get("/book/?kind=follow_up"))
    assert "Booking for <strong>Ana Silva</strong>" in types
    assert "Not you? Sign out" in types and "First visit" not in types
    assert 'href="/book/follow-up"' in types
    assert "First available" in text_of(client.get("/book/follow-up"))
    assert MONDAY_10AM.isoformat() in text_of(client.get("/book/follow-up/times?start=2026-11-23"))
    assert hold(client, clinic["follow"]).location.endswith("/book/details")

    details = text_of(client.get("/book/details"))
    for shown in ("Ana Silva", "April 2, 1971", ANA_EMAIL, "(555) 010-4400", "Not you? Sign out"):
        assert shown in details
    assert not re.search(r'<input[^>]*name="(first_name|email|phone|date_of_birth)"', details)
    # Booked at once: its check-in is asked in the 72 hours before the visit.
    response = client.post("/book/details")
    assert response.location.endswith("/book/confirmed")
    assert "You're booked" in text_of(client.get("/book/confirmed"))

    (booked,) = rows(app, Appointment)
    assert (booked.status, booked.patient_id, booked.starts_at) == (
        AppointmentStatus.CONFIRMED, clinic["ana"], MONDAY_10AM)
    assert len(rows(app, Patient)) == 3  # nobody new: the booking is Ana's own record
    kinds = [(i.kind, i.patient_id) for i in rows(app, Intake, Intake.patient_id == clinic["ana"])]
    assert kinds == [("first_visit", clinic["ana"])]
    confirmation = rows(app, OutboxMessage, OutboxMessage.kind == "confirmation")
    assert [m.recipient for m in confirmation] == [ANA_EMAIL]


def test_each_patient_sharing_an_email_gets_their_own_link(app, client, clinic):
    with app.app_context():
        leo = make_patient(first_name="Leo", last_name="Silva", email="ana.silva@EXAMPLE.com",
                           date_of_birth=date(2004, 8, 9))
        add_intake(leo)
        db.session.commit()
        leo_id = leo.id
    client.post(RETURNING_ASK, data={"email": " ANA.SILVA@example.com "})
    sent = rows(app, OutboxMessage)
    assert len(sent) == 2
    assert ["Hello Ana" in sent[0].text_body, "Hello Leo" in sent[1].text_body] == [True, True]
    links = [re.search(r"/returning/link/[\w-]+", m.text_body).group(0) for m in sent]
    assert links[0] != links[1]
    for link, patient_id in zip(links, (clinic["ana"], leo_id), strict=True):
        visitor = app.test_client()
        visitor.post(link)
        with visitor.session_transaction() as session:
            assert session["returning_patient"] == patient_id


# --- The link ----------------------------------------------------------------------------------


def test_opening_the_link_uses_nothing_only_continue_does_and_only_once(app, client, clinic):
    client.post(RETURNING_ASK, data={"email": "ana.silva@example.com"})
    link = newest_sign_in_link(app, ANA_EMAIL)
    (stored,) = rows(app, PatientSignInLink)
    token = link.rsplit("/", 1)[1]
    assert token not in stored.token_hash and len(stored.token_hash) == 64  # a hash, not the token
    assert stored.expires_at == NOW + timedelta(minutes=15)
    # A mail scanner fetching the link twice leaves it working.
    for _ in range(2):
        page = client.get(link)
        assert page.status_code == 200
        assert re.search(r'<form method="post">.*>Continue</button>', text_of(page), re.S)
    assert rows(app, PatientSignInLink)[0].used_at is None

    assert client.post(link).status_code == 303
    assert rows(app, PatientSignInLink)[0].used_at == NOW
    someone_else = app.test_client()
    for response in (someone_else.get(link), someone_else.post(link)):
        assert response.status_code == 410
        assert EXPIRED in text_of(response) and 'href="/returning/">Ask for a new link' in \
            text_of(response)
    assert someone_else.get("/book/follow-up").location == RETURNING_ASK


def test_a_link_expires_after_15_minutes(app, client, clinic, frozen):
    client.post(RETURNING_ASK, data={"email": "ana.silva@example.com"})
    link = newest_sign_in_link(app, ANA_EMAIL)
    frozen.shift(timedelta(minutes=14, seconds=59))
    assert client.get(link).status_code == 200
    frozen.shift(timedelta(seconds=1))
    assert client.get(link).status_code == 410
    response = client.post(link)
    assert response.status_code == 410 and EXPIRED in text_of(response)
    assert client.get("/book/follow-up").location == RETURNING_ASK
    assert rows(app, PatientSignInLink)[0].used_at is None


@pytest.mark.parametrize("token", ["not-a-token", "x" * 500, "A" * 43])
def test_an_unknown_link_shows_the_same_expired_page(app, client, clinic, token):
    client.post(RETURNING_ASK, data={"email": "ana.silva@example.com"})
    used = newest_sign_in_link(app, ANA_EMAIL)
    client.post(used)
    expired_page = text_of(client.post(used))
    for response in (client.get(f"/returning/link/{token}"),
                     client.post(f"/returning/link/{token}")):
        assert response.status_code == 410
        assert text_of(response) == expired_page


# --- Signing out, and bookings that belong to someone else ----------------------------------------


def test_signing_out_forgets_the_patient_and_gives_the_held_time_back(app, client, clinic):
    sign_in_returning_patient(client, "ana.silva@example.com")
    hold(client, clinic["follow"])
    response = client.post("/returning/sign-out")
    assert (response.status_code, response.location) == (303, RETURNING_ASK)
    assert "You are signed out" in text_of(client.get(RETURNING_ASK))
    with client.session_transaction() as session:
        assert "returning_patient" not in session and "booking_draft" not in session
    assert [a.status for a in rows(app, Appointment)] == [AppointmentStatus.EXPIRED]
    assert client.get("/book/details").status_code == 302
    assert client.get("/book/follow-up").location == RETURNING_ASK


def test_a_follow_up_in_progress_belongs_to_the_patient_who_started_it(app, client, clinic):
    with app.app_context():
        ben = make_patient(first_name="Ben", last_name="Walker", email="ben@example.com")
        add_intake(ben)
        db.session.commit()
    sign_in_returning_patient(client, "ana.silva@example.com")
    hold(client, clinic["follow"])
    # Ben signs in on the same phone: Ana's booking is given up, not continued as Ben's.
    sign_in_returning_patient(client, "ben@example.com")
    assert client.get("/book/details").status_code == 302
    assert [a.status for a in rows(app, Appointment)] == [AppointmentStatus.EXPIRED]
    # A booking that is not the signed-in patient's is sent to ask for a link.
    hold(client, clinic["follow"], MONDAY_10AM + timedelta(hours=1))
    with client.session_transaction() as session:
        session["returning_patient"] = clinic["ana"]
    assert client.get("/book/details").location == RETURNING_ASK


# --- Limits and forms ----------------------------------------------------------------------------


def test_asking_for_links_is_rate_limited_per_client_and_per_address(make_app, frozen):
    app = make_app(RATELIMIT_ENABLED=True, PATIENT_LINK_RATE_LIMIT="2 per minute")
    client = app.test_client()
    codes = [client.post(RETURNING_ASK, data={"email": f"p{n}@example.com"}).status_code
             for n in range(3)]
    assert codes == [303, 303, 429]
    assert client.get(RETURNING_ASK).status_code == 200  # only asking is limited
    # The same address from elsewhere is limited too, so nobody floods one inbox.
    elsewhere = [
        app.test_client().post(RETURNING_ASK, data={"email": "p0@example.com"},
                               environ_base={"REMOTE_ADDR": f"203.0.113.{n}"}).status_code
        for n in range(2)
    ]
    assert elsewhere == [303, 429]
    frozen.shift(timedelta(minutes=1))
    assert client.post(RETURNING_ASK, data={"email": "p9@example.com"}).status_code == 303


def test_every_returning_form_carries_and_needs_its_csrf_token(make_app, frozen):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        follow = make_service(slug="follow-up", minutes=30)
        make_practitioner([follow], hours=EVERY_DAY)
        ana = make_patient(first_name="Ana", email="ana@example.com")
        add_intake(ana)
        db.session.commit()
        follow_id = follow.id
    client = app.test_client()
    assert client.post(RETURNING_ASK, data={"email": "ana@example.com"}).status_code == 400
    assert client.post("/returning/sign-out").status_code == 400
    sign_in_returning_patient(client, "ana@example.com")  # with the tokens of the pages
    token = csrf_token_in(text_of(client.get("/returning/visits")))  # its sign-out form
    client.post(RETURNING_ASK, data={"email": "ana@example.com", "csrf_token": token})
    link = newest_sign_in_link(app, "ana@example.com")
    assert client.post(link).status_code == 400
    with app.app_context():
        unused = db.session.scalar(
            select(func.count()).select_from(PatientSignInLink)
            .where(PatientSignInLink.used_at.is_(None)))
        assert unused == 1
    times = text_of(client.get("/book/follow-up/times?start=2026-11-23"))
    client.post("/book/hold", data={
        "service": str(follow_id), "practitioner": "any", "start": MONDAY_10AM.isoformat(),
        "csrf_token": csrf_token_in(times)})
    details = text_of(client.get("/book/details"))
    assert details.count('name="csrf_token"') == 2  # Continue, and "Not you? Sign out"
    assert client.post("/book/details").status_code == 400

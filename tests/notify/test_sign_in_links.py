"""The follow-up link emails through a real SMTP server: the link arrives, no health detail does,
and the link in the email is the one that signs the patient in."""

from __future__ import annotations

import re
from email.message import EmailMessage

from flask import Flask

from booking.extensions import db
from booking.notify.outbox import SendReport, send_due
from booking.patients.models import Patient
from booking.scheduling.models import VisitKind
from tests.clinician.helpers import add_intake
from tests.factories import make_patient, make_practitioner, make_service
from tests.smtp import SENDER, SMTPServer

LINK = re.compile(r"http://127\.0\.0\.1:5000(/returning/link/[A-Za-z0-9_-]{43})\b")
# What the clinic knows about Ana's back (tests.clinician.helpers.BASE_ANSWERS, screened) and
# words of the screening: none of it may reach an email.
HEALTH_WORDS = (
    "gardening", "vegetable", "low_back", "buttock", "stiff", "tier", "screen", "flag",
    "clear", "review", "precaution", "needl", "score", "1980",
)


def seed(app: Flask, with_intake: bool) -> Patient:
    with app.app_context():
        first = make_service(slug="first-visit", minutes=60, kind=VisitKind.FIRST_VISIT)
        follow = make_service(slug="follow-up", minutes=30)
        make_practitioner([first, follow])
        ana = make_patient(first_name="Ana", last_name="Silva", email="ana@example.com")
        if with_intake:
            add_intake(ana)
        db.session.commit()
        return ana.id


def ask_and_send(app: Flask, smtp_server: SMTPServer) -> EmailMessage:
    response = app.test_client().post("/returning/", data={"email": "ANA@example.com"})
    assert response.status_code == 303
    with app.app_context():
        assert send_due() == SendReport(sent=1)
    (received,) = smtp_server.messages
    assert (received["From"], received["To"]) == (SENDER, "ana@example.com")
    return received


def bodies(received: EmailMessage) -> tuple[str, str]:
    return (received.get_body(("plain",)).get_content(),
            received.get_body(("html",)).get_content())


def assert_no_health_detail(received: EmailMessage) -> None:
    everything = (received["Subject"] + "".join(bodies(received))).lower()
    for word in HEALTH_WORDS:
        assert word not in everything, word
    assert all(part.get_content_type() != "text/calendar" for part in received.walk())


def test_the_link_arrives_works_once_and_carries_no_health_detail(mail_app, smtp_server):
    ana = seed(mail_app, with_intake=True)

    received = ask_and_send(mail_app, smtp_server)

    assert received["Subject"] == "Your link to book a follow-up at Riverside Back Pain Clinic"
    text, html = bodies(received)
    assert "Hello Ana," in text
    assert "works once, within 15 minutes" in text
    (path,) = set(LINK.findall(text))
    assert LINK.findall(html) == [path]
    assert_no_health_detail(received)

    patient = mail_app.test_client()
    assert patient.get(path).status_code == 200
    signed_in = patient.post(path)
    assert signed_in.location.endswith("/returning/visits")
    with patient.session_transaction() as session:
        assert session["returning_patient"] == ana
    assert mail_app.test_client().post(path).status_code == 410


def test_a_patient_not_yet_assessed_is_emailed_how_to_book_a_first_visit(mail_app, smtp_server):
    seed(mail_app, with_intake=False)

    received = ask_and_send(mail_app, smtp_server)

    assert received["Subject"] == "Book a first visit at Riverside Back Pain Clinic"
    text, html = bodies(received)
    assert "please book a first visit" in text
    assert "http://127.0.0.1:5000/book/?kind=first_visit" in text
    assert 'href="http://127.0.0.1:5000/book/?kind=first_visit"' in html
    assert "/returning/link/" not in text + html
    assert_no_health_detail(received)

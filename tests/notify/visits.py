"""Helpers for email and visit-link tests: a small clinic, bookings made through the real
services, and reading what the SMTP server received."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage

from flask import Flask, has_app_context
from icalendar import Calendar

from booking.extensions import db
from booking.notify.outbox import SendReport, send_due
from booking.scheduling.models import Appointment, AppointmentStatus, VisitKind
from booking.scheduling.service import confirm_hold, hold_slot
from tests.factories import make_patient, make_practitioner, make_service

# Monday 1 June 2026, 09:00 in New York (EDT); the visit is Wednesday 10 June, 10:00 EDT.
NOW = datetime(2026, 6, 1, 13, 0, tzinfo=UTC)
VISIT = datetime(2026, 6, 10, 14, 0, tzinfo=UTC)
PUBLIC_BASE = "http://127.0.0.1:5000"
UID_DOMAIN = "127.0.0.1"  # the host of PUBLIC_BASE_URL
_MANAGE_LINK = re.compile(re.escape(PUBLIC_BASE) + r"(/visit/[A-Za-z0-9_.-]+)(?=[\s)\"<]|$)")


@dataclass(frozen=True)
class Clinic:
    """Ids of a first-visit and a follow-up service, a practitioner and a patient."""

    first_visit_id: int
    follow_up_id: int
    practitioner_id: int
    patient_id: int
    patient_email: str


def make_clinic(first_name: str = "Ann") -> Clinic:
    """A practitioner working Monday to Friday 09:00-17:00 and one patient; committed."""
    first_visit = make_service(slug="first-visit", name="First visit", minutes=60,
                               kind=VisitKind.FIRST_VISIT)
    follow_up = make_service(slug="follow-up", name="Follow-up", minutes=30,
                             kind=VisitKind.FOLLOW_UP)
    practitioner = make_practitioner(services=[first_visit, follow_up], name="Maya Chen")
    patient = make_patient(first_name=first_name, last_name="Quixotelby",
                           email="ann.quixotelby@example.com")
    db.session.commit()
    return Clinic(first_visit.id, follow_up.id, practitioner.id, patient.id, patient.email)


def book(
    clinic: Clinic,
    start: datetime,
    now: datetime,
    status: AppointmentStatus = AppointmentStatus.CONFIRMED,
    service_id: int | None = None,
    patient_id: int | None = None,
) -> int:
    """Hold and confirm a time through the scheduling services (booking_made is sent); commit."""
    from booking.scheduling.models import Service

    service = db.session.get(Service, service_id or clinic.first_visit_id)
    hold = hold_slot(service, start, now, clinic.practitioner_id)
    hold.patient_id = patient_id or clinic.patient_id
    confirm_hold(hold, now, status)
    hold_id = hold.id
    db.session.commit()  # and no new transaction: on SQLite even a read takes the write lock
    return hold_id


def appointment(appointment_id: int) -> Appointment:
    return db.session.get(Appointment, appointment_id, populate_existing=True)


def deliver(app: Flask, at: datetime | None = None) -> SendReport:
    """One pass of the outbox worker, as `flask outbox send-due` runs it.

    Inside a test's app context it uses that context's session (a second session would wait
    for the first one's SQLite write lock); send_due commits it.
    """
    if has_app_context():
        return send_due(at)
    with app.app_context():
        return send_due(at)


# --- reading received messages --------------------------------------------------------------


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def calendar_of(message: EmailMessage) -> tuple[EmailMessage, Calendar]:
    """The one .ics attachment and the calendar parsed back with icalendar."""
    [attachment] = [
        part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"
    ]
    return attachment, Calendar.from_ical(attachment.get_content())


def has_calendar(message: EmailMessage) -> bool:
    return any(part.get_content_type() == "text/calendar" for part in message.iter_attachments())


def manage_path(message: EmailMessage) -> str:
    """The path of the visit link in the plain-text body (the test client wants a path)."""
    links = {match.group(1) for match in _MANAGE_LINK.finditer(text_of(message))}
    visit_links = {link for link in links if not link.endswith("/calendar.ics")}
    [link] = visit_links
    return link


def everything_in(message: EmailMessage) -> str:
    """The raw message and every decoded text part: bodies may be base64 on the wire."""
    parts = [message.as_string()]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return "\n".join(parts)


def subjects(messages: list[EmailMessage]) -> list[str]:
    return [message["Subject"] for message in messages]

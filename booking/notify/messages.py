"""The emails: each builder returns a subject, a plain-text and an HTML body, and maybe an .ics.

Emails carry the minimum: the clinic, the date, time and place, and links. Builders take an
appointment (never an intake), so no symptom, answer, score or diagnosis can reach an email; what
else they are told is a yes or no decided elsewhere (an urgent review: "we will call today";
needles used at the visit: the after-care lines about needling), never the reason behind it.
Every confirmation and reminder carries the home page's emergency notice (emails/_emergency.*).
Bodies are rendered from templates/emails/ (a shared layout for each of text and HTML). Every
email the product sends is written here; the domain asks for one through a signal or a
function of `notify.receivers`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from flask import current_app, render_template
from sqlalchemy import select

from booking import formatting
from booking.clinic.service import get_clinic
from booking.db import now_utc
from booking.extensions import db
from booking.notify.ics import (
    CalendarEvent,
    EventStatus,
    Method,
    appointment_uid,
    event_calendar,
    events_calendar,
)
from booking.notify.links import (
    calendar_domain,
    calendar_url,
    external_url,
    manage_url,
    questions_url,
)
from booking.patients.links import LINK_LIFETIME
from booking.patients.models import Patient
from booking.scheduling.availability import Slot
from booking.scheduling.changes import can_patient_change
from booking.scheduling.models import (
    Appointment,
    AppointmentStatus,
    Practitioner,
    Service,
    VisitKind,
    VisitSeries,
    WaitlistEntry,
)

_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class Email:
    """What to send: the outbox stores these fields as they are."""

    subject: str
    text: str
    html: str
    ics: bytes | None = None


# --- to the patient -------------------------------------------------------------------------


def booking_confirmed(appointment: Appointment) -> Email:
    """The visit is booked: when, where, what to bring, how to change it; the calendar entry."""
    return _render(
        "confirmed",
        f"Your visit is booked: {_when(appointment.starts_at)}",
        _visit(appointment),
        ics=visit_calendar(appointment, Method.REQUEST),
    )


def series_booked(series: VisitSeries, visits: list[Appointment]) -> Email:
    """A series is booked: every visit with its own link, one calendar entry (own UID) each."""
    first = visits[0]
    return _render(
        "series_booked",
        f"Your {len(visits)} visits are booked, from {_when(first.starts_at)}",
        {
            **_visit(first, links=False),
            "practitioner": series.practitioner.name,
            "service": series.service.name,
            "every_weeks": series.every_weeks,
            "visits": [
                {"starts_at": v.starts_at, "ends_at": v.ends_at, "manage_url": manage_url(v)}
                for v in visits
            ],
        },
        ics=events_calendar([visit_event(visit) for visit in visits]),
    )


def awaiting_review(appointment: Appointment, urgent: bool = False) -> Email:
    """The time is held while a clinician reviews the booking; no calendar entry attached (the
    visit page offers a tentative one). Urgent: the clinic calls today, and if nobody has by
    the evening the patient sees an urgent-care doctor today.
    """
    return _render(
        "awaiting_review",
        f"We are holding your visit: {_when(appointment.starts_at)}",
        {**_visit(appointment), "urgent": urgent},
    )


def review_outcome(appointment: Appointment, approved: bool) -> Email:
    """A held booking was confirmed (with the calendar entry) or could not be (cancelling the
    tentative entry the patient may have added from the visit page or a move).
    """
    if approved:
        subject = f"Your visit is confirmed: {_when(appointment.starts_at)}"
        ics = visit_calendar(appointment, Method.REQUEST)
    else:
        subject = f"We could not confirm your visit on {_day(appointment.starts_at)}"
        ics = visit_calendar(appointment, Method.CANCEL)
    return _render(
        "review_outcome",
        subject,
        {**_visit(appointment, links=approved), "approved": approved},
        ics=ics,
    )


def rescheduled(appointment: Appointment, previous_start: datetime, calendar: bool) -> Email:
    """The visit moved; the .ics updates the same calendar entry (TENTATIVE while held)."""
    ics = visit_calendar(appointment, Method.REQUEST) if calendar else None
    return _render(
        "rescheduled",
        f"Your visit has moved to {_when(appointment.starts_at)}",
        {
            **_visit(appointment),
            "previous_start": previous_start,
            "has_ics": calendar,
            "held": _held(appointment),
        },
        ics=ics,
    )


def cancelled(
    appointment: Appointment, by: str, calendar: bool, was_held: bool = False
) -> Email:
    """The visit is cancelled; the .ics removes the calendar entry when the patient may have one
    (`was_held`: a tentative one, added from the visit page or a move, perhaps not at all).
    """
    ics = visit_calendar(appointment, Method.CANCEL) if calendar else None
    return _render(
        "cancelled",
        f"Your visit on {_day(appointment.starts_at)} is cancelled",
        {
            **_visit(appointment, links=False),
            "by": by,
            "has_ics": calendar,
            "was_held": was_held,
            "manage_url": manage_url(appointment),
            "book_url": external_url("booking.choose_service"),
        },
        ics=ics,
    )


def reminder(appointment: Appointment) -> Email:
    """The day before: when and where, and how to change it; before a follow-up, the link to
    its check-in (sent at 10:00 the day before, always inside the 72 hours it is open)."""
    check_in = appointment.service.kind == VisitKind.FOLLOW_UP
    return _render(
        "reminder",
        f"Reminder: your visit on {_when(appointment.starts_at)}",
        {**_visit(appointment), "check_in_url": questions_url(appointment) if check_in else None},
    )


def after_care(appointment: Appointment, needling: bool = False) -> Email:
    """After a first visit: soreness is common, hydration, comfortable movement, booking again;
    with `needling` (needles were used at this visit), when to call 911 or see a doctor today.
    """
    return _render(
        "after_care",
        f"After your first visit at {get_clinic().name}",
        {
            **_visit(appointment, links=False),
            "book_url": _next_visit_url(appointment),
            "needling": needling,
        },
    )


def intake_request(appointment: Appointment) -> Email:
    """A first visit booked by the desk: the link to its health questions. Text only."""
    return _render(
        "intake_request",
        f"Before your first visit at {get_clinic().name}",
        {**_visit(appointment, links=False), "questions_url": questions_url(appointment)},
        html=False,
    )


def waitlist_offer(entry: WaitlistEntry, slot: Slot) -> Email:
    """An earlier time has freed up; the link opens the public times page on that day. Text only."""
    clinic = get_clinic()
    day = slot.start.astimezone(clinic.zone).date()
    link = external_url(
        "booking.times", slug=entry.service.slug, practitioner=slot.practitioner_id,
        start=day.isoformat(),
    )
    return _render(
        "waitlist_offer",
        f"An earlier time is free at {clinic.name}",
        {
            "clinic": clinic,
            "first_name": entry.patient.first_name,
            "starts_at": slot.start,
            "service": entry.service,
            "practitioner": db.session.get(Practitioner, slot.practitioner_id),
            "link": link,
        },
        html=False,
    )


def sign_in_link(patient: Patient, link: str) -> Email:
    """A returning patient asked to book a follow-up: their one-time link, and nothing else."""
    clinic = get_clinic()
    return _render(
        "sign_in_link",
        f"Your link to book a follow-up at {clinic.name}",
        {
            "clinic": clinic,
            "first_name": patient.first_name,
            "link": link,
            "minutes": int(LINK_LIFETIME.total_seconds() // 60),
            "ask_again_url": external_url("returning.ask"),
        },
    )


def first_visit_needed(patient: Patient) -> Email:
    """Someone asked for a follow-up link for a patient we have not assessed yet: a follow-up
    starts with a first visit and its health questions, so this says to book one."""
    clinic = get_clinic()
    return _render(
        "first_visit_needed",
        f"Book a first visit at {clinic.name}",
        {
            "clinic": clinic,
            "first_name": patient.first_name,
            "book_url": external_url("booking.choose_service", kind=VisitKind.FIRST_VISIT.value),
        },
    )


# --- to staff -------------------------------------------------------------------------------


def staff_review_alert(appointment: Appointment, urgent: bool = False) -> Email:
    """A booking waits for clinical review; names no patient and no answer. Urgent: "Urgent
    review" in the subject and the body (the why stays in the staff pages)."""
    when = _when(appointment.starts_at)
    subject = (
        f"Urgent review, call the patient today: booking on {when}"
        if urgent
        else f"Booking awaiting review: {when}"
    )
    return _render(
        "staff_review_alert",
        subject,
        {
            **_visit(appointment, links=False),
            "practitioner": appointment.practitioner.name,
            "staff_url": external_url("staff.home"),
            "urgent": urgent,
        },
    )


def staff_call_back_alert(raised_at: datetime) -> Email:
    """A patient needs a call back; the reason and the person are in the staff pages only."""
    return _render(
        "staff_call_back_alert",
        "Call-back needed",
        {"raised_at": raised_at, "staff_url": external_url("staff.home")},
    )


# --- the calendar file ----------------------------------------------------------------------


def visit_calendar(appointment: Appointment, method: Method) -> bytes:
    """The visit as an .ics: one stable UID per appointment, SEQUENCE = appointment.sequence;
    STATUS:TENTATIVE while it awaits review, CONFIRMED once booked (CANCELLED for a CANCEL)."""
    return event_calendar(visit_event(appointment), method)


def visit_event(appointment: Appointment) -> CalendarEvent:
    """The visit as a calendar entry: the same UID in every file about it."""
    clinic = get_clinic()
    patient = appointment.patient
    link = manage_url(appointment)
    return CalendarEvent(
        uid=appointment_uid(appointment.id, calendar_domain()),
        sequence=appointment.sequence,
        start=appointment.starts_at,
        end=appointment.ends_at,
        zone=clinic.timezone,
        summary=f"Visit at {clinic.name}",
        location=f"{clinic.name}, {clinic.address}",
        description=f"To change or cancel: {link} or call {clinic.phone}.",
        organizer_email=_sender_address() or clinic.email,
        organizer_name=clinic.name,
        attendee_email=patient.email if patient else None,
        url=link,
        status=EventStatus.TENTATIVE if _held(appointment) else EventStatus.CONFIRMED,
    )


def _held(appointment: Appointment) -> bool:
    """Held for a clinician's review: not confirmed yet."""
    return appointment.status == AppointmentStatus.AWAITING_REVIEW


def _sender_address() -> str:
    """The address emails come from: calendar clients expect the organizer to be the sender."""
    sender = current_app.config.get("MAIL_DEFAULT_SENDER") or ""
    if isinstance(sender, tuple | list):
        return sender[1]
    return parseaddr(sender)[1]


# --- rendering ------------------------------------------------------------------------------


def _visit(appointment: Appointment, links: bool = True) -> dict[str, Any]:
    """What every email about a visit may say: when, where, and (optionally) its links."""
    facts: dict[str, Any] = {
        "clinic": get_clinic(),
        "starts_at": appointment.starts_at,
        "ends_at": appointment.ends_at,
        "first_name": appointment.patient.first_name if appointment.patient else "",
        "manage_url": None,
        "calendar_url": None,
        "my_visits_url": None,
        "changeable": False,
    }
    if links:
        facts["manage_url"] = manage_url(appointment)
        facts["calendar_url"] = calendar_url(appointment)
        facts["my_visits_url"] = external_url("returning.my_visits")
        # The window's wording only where it applies: not for a visit already inside it.
        facts["changeable"] = can_patient_change(appointment, now_utc())
    return facts


def _next_visit_url(appointment: Appointment) -> str:
    """Booking a follow-up with the same practitioner, or the list of visit types."""
    follow_up = db.session.scalar(
        select(Service)
        .where(Service.kind == VisitKind.FOLLOW_UP, Service.active.is_(True))
        .where(Service.practitioners.contains(appointment.practitioner))
        .order_by(Service.id)
        .limit(1)
    )
    if follow_up is None:
        return external_url("booking.choose_service")
    return external_url(
        "booking.times", slug=follow_up.slug, practitioner=appointment.practitioner_id
    )


def _when(moment: datetime) -> str:
    """'Monday, November 2, 2026 at 9:00 AM' in the clinic's zone."""
    return formatting.moment_long(moment.astimezone(get_clinic().zone))


def _day(moment: datetime) -> str:
    """'Monday, November 2, 2026' in the clinic's zone."""
    return formatting.day_long(moment.astimezone(get_clinic().zone))


def _render(
    name: str,
    subject: str,
    context: dict[str, Any],
    ics: bytes | None = None,
    html: bool = True,
) -> Email:
    context = {**context, "subject": subject}
    text = render_template(f"emails/{name}.txt", **context)
    html_body = render_template(f"emails/{name}.html", **context).strip() if html else ""
    return Email(subject=subject, text=_tidy(text), html=html_body, ics=ics)


def _tidy(text: str) -> str:
    """Trim trailing spaces and runs of blank lines left by template tags."""
    lines = "\n".join(line.rstrip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", lines).strip() + "\n"

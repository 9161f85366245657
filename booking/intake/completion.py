"""Where a patient's booking ends: booked (confirmed or awaiting review), taken, or emergency.

One call takes the hold, the typed contact details and the screened answers down through
patients, scheduling and intake, and comes back once with what happened; the page only shows it.
Services flush; the request commits (or rolls back on a refusal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TypedDict

from booking.extensions import db
from booking.intake.models import Intake
from booking.intake.service import IntakeSubmission, record_intake
from booking.patients.models import Patient
from booking.patients.service import find_or_create_patient
from booking.scheduling.availability import Slot
from booking.scheduling.models import BOOKED_STATUSES, Appointment, AppointmentStatus, Service
from booking.scheduling.service import (
    SlotTaken,
    confirm_hold,
    find_own_hold,
    nearest_free_slots,
    release_hold,
    release_other_holds,
)


class Contact(TypedDict):
    """The contact details as typed: find_or_create_patient's arguments."""

    first_name: str
    last_name: str
    date_of_birth: date
    email: str
    phone: str


@dataclass(frozen=True)
class Hold:
    """Which hold the patient's booking is on: its id and the key only they were given."""

    id: int | None
    key: str | None


@dataclass(frozen=True)
class Booked:
    """The visit is booked: confirmed, or held as "awaiting review" for a clinician."""

    appointment: Appointment

    @property
    def awaiting_review(self) -> bool:
        return self.appointment.status == AppointmentStatus.AWAITING_REVIEW


@dataclass(frozen=True)
class Taken:
    """The time went to someone else: the nearest free times to the one wanted."""

    wanted: datetime
    alternatives: list[Slot]


@dataclass(frozen=True)
class Emergency:
    """No booking: the answers call for emergency care now; staff have a call-back to make."""

    intake: Intake


Outcome = Booked | Taken | Emergency


def finish_booking(
    hold: Hold,
    contact: Contact,
    service: Service,
    practitioner_id: int | None,
    now: datetime,
    submission: IntakeSubmission | None = None,
) -> Outcome:
    """Book the held time for the patient with their screened answers, or say why not."""
    if submission is not None and submission.is_emergency:
        return stop_for_emergency(hold, contact, submission)
    held = _own_hold(hold)
    if held is None:
        booked = _already_booked(hold, contact)
        if booked is not None:
            return Booked(booked)
        return Taken(now, nearest_free_slots(service, now, now, practitioner_id))
    patient = find_or_create_patient(**contact)
    release_other_holds(patient.id, keep_id=held.id)
    held.patient_id = patient.id
    status = submission.booking_status if submission else AppointmentStatus.CONFIRMED
    try:
        confirm_hold(held, now, status)
    except SlotTaken as taken:
        return Taken(held.starts_at, taken.alternatives)
    if submission is not None:
        # Stored with the booking in one transaction: a time taken meanwhile stores nothing.
        record_intake(submission, patient, held)
    return Booked(held)


def stop_for_emergency(hold: Hold, contact: Contact, submission: IntakeSubmission) -> Emergency:
    """Emergency tier: no booking. The hold is given back at once and staff get a call-back."""
    held = _own_hold(hold)
    if held is not None:
        release_hold(held)
    patient = find_or_create_patient(**contact)
    # No visit was booked, so the intake claims none: staff find it on the patient's page.
    return Emergency(record_intake(submission, patient, None))


def _own_hold(hold: Hold) -> Appointment | None:
    if hold.id is None or hold.key is None:
        return None
    return find_own_hold(hold.id, hold.key)


def _already_booked(hold: Hold, contact: Contact) -> Appointment | None:
    """A repeated "book" (a double click sends the old session twice) finds the booking made."""
    if hold.id is None:
        return None
    appointment = db.session.get(Appointment, hold.id)
    if appointment is None or appointment.status not in BOOKED_STATUSES:
        return None
    patient = db.session.get(Patient, appointment.patient_id) if appointment.patient_id else None
    if patient is None or (patient.email, patient.date_of_birth) != (
        contact["email"].strip().lower(),
        contact["date_of_birth"],
    ):
        return None
    return appointment

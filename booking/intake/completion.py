"""Where a patient's booking ends: booked (confirmed or awaiting review), taken, or emergency.

One call takes the hold, the typed contact details and the screened answers down through
patients, scheduling and intake, and comes back once with what happened; the page only shows it.
A visit booked by the front desk is screened afterwards, through its own questionnaire
(`screen_booked_visit`), with the same outcomes; so is every follow-up, through its check-in in
the 72 hours before it (online, a follow-up is booked with no questions asked).
Services flush; the request commits (or rolls back on a refusal).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TypedDict

from sqlalchemy import delete, select

from booking.accounts.models import User
from booking.audit.service import record_audit
from booking.db import now_utc
from booking.extensions import db
from booking.intake.models import Intake, QuestionnaireDraft
from booking.intake.service import (
    FIRST_VISIT,
    IntakeSubmission,
    check_in_done,
    check_in_open,
    record_intake,
)
from booking.patients.models import Patient
from booking.patients.service import find_or_create_patient
from booking.scheduling.availability import Slot
from booking.scheduling.changes import cancel_appointment, hold_for_review
from booking.scheduling.models import (
    BOOKED_STATUSES,
    Appointment,
    AppointmentStatus,
    Service,
    VisitKind,
)
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


@dataclass(frozen=True)
class AlreadyAnswered:
    """The visit's questions were answered before (`questionnaire_answered`): nothing new is
    stored."""

    appointment: Appointment


Outcome = Booked | Taken | Emergency
VisitOutcome = Booked | Emergency | AlreadyAnswered
EMERGENCY_CANCEL_REASON = "Emergency care advised"


def finish_booking(
    hold: Hold,
    contact: Contact,
    service: Service,
    practitioner_id: int | None,
    now: datetime,
    submission: IntakeSubmission | None = None,
    patient_id: int | None = None,
) -> Outcome:
    """Book the held time for the patient with their screened answers, or say why not.

    `patient_id`: the returning patient signed in by their link, when it is them booking.
    """
    if submission is not None and submission.is_emergency:
        return stop_for_emergency(hold, contact, submission, patient_id)
    held = _own_hold(hold)
    if held is None:
        booked = _already_booked(hold, contact)
        if booked is not None:
            return Booked(booked)
        return Taken(now, nearest_free_slots(service, now, now, practitioner_id))
    patient = _patient_for(contact, patient_id)
    release_other_holds(patient.id, keep_id=held.id)
    held.patient_id = patient.id
    status = submission.booking_status if submission else AppointmentStatus.CONFIRMED
    try:
        confirm_hold(held, now, status)
    except SlotTaken:
        # The nearest times of the practitioner the patient chose (or anyone's, for any).
        alternatives = nearest_free_slots(service, held.starts_at, now, practitioner_id)
        return Taken(held.starts_at, alternatives)
    if submission is not None:
        # Stored with the booking in one transaction: a time taken meanwhile stores nothing.
        record_intake(submission, patient, held)
    return Booked(held)


def stop_for_emergency(
    hold: Hold, contact: Contact, submission: IntakeSubmission, patient_id: int | None = None
) -> Emergency:
    """Emergency tier: no booking. The hold is given back at once and staff get a call-back."""
    held = _own_hold(hold)
    if held is not None:
        release_hold(held)
    patient = _patient_for(contact, patient_id)
    # No visit was booked, so the intake claims none: staff find it on the patient's page.
    return Emergency(record_intake(submission, patient, None))


def _patient_for(contact: Contact, patient_id: int | None) -> Patient:
    """The returning patient signed in by their link, else the one the typed details match
    (or a new record): a signed-in patient's booking never lands on a look-alike record."""
    found = db.session.get(Patient, patient_id) if patient_id is not None else None
    return found or find_or_create_patient(**contact)


# --- A visit booked by the desk: its own questionnaire -----------------------------------------


def screen_booked_visit(
    appointment: Appointment, submission: IntakeSubmission, entered_by: User | None = None
) -> VisitOutcome:
    """Apply a booked visit's screened answers to it (a first visit's questionnaire, or a
    follow-up's check-in), exactly as online.

    Emergency: the visit is cancelled by the clinic and the intake stored without it (no visit
    is claimed), with the call-back `record_intake` raises. Medical review: the intake is
    stored with the visit, which becomes "awaiting review" (the patient and staff are emailed).
    Precaution and clear: stored with the visit, which stays confirmed. `entered_by`: the staff
    member who typed the answers (audited, without them). The draft is deleted in every case.
    """
    _lock(appointment)
    if questionnaire_answered(appointment):
        return AlreadyAnswered(appointment)
    patient = db.session.get(Patient, appointment.patient_id)
    if submission.is_emergency:
        cancel_appointment(appointment, EMERGENCY_CANCEL_REASON, by="clinic")
        intake = record_intake(submission, patient, None, entered_by)
        outcome: VisitOutcome = Emergency(intake)
    else:
        intake = record_intake(submission, patient, appointment, entered_by)
        if submission.booking_status == AppointmentStatus.AWAITING_REVIEW:
            hold_for_review(appointment)
        outcome = Booked(appointment)
    if entered_by is not None:
        record_audit(
            "intake.entered_by_staff", "intake", intake.id,
            appointment_id=appointment.id, patient_id=patient.id,
        )
    db.session.execute(
        delete(QuestionnaireDraft).where(QuestionnaireDraft.appointment_id == appointment.id)
    )
    return outcome


def awaits_questionnaire(appointment: Appointment, now: datetime | None = None) -> bool:
    """The visit's own questions are open and not answered: a booked first visit with no
    first-visit intake yet; a booked follow-up inside its check-in window with no check-in for
    that window."""
    if appointment.status not in BOOKED_STATUSES or appointment.patient_id is None:
        return False
    if appointment.service.kind == VisitKind.FOLLOW_UP:
        now = now or now_utc()
        return check_in_open(appointment, now) and not check_in_done(appointment)
    return not has_first_visit_intake(appointment)


def questionnaire_answered(appointment: Appointment) -> bool:
    """The one place that says a visit's own questions are in: a first visit's intake, once
    for good; a follow-up's check-in, for the window of its current start (a visit moved by
    more than 72 hours asks again)."""
    if appointment.service.kind == VisitKind.FOLLOW_UP:
        return check_in_done(appointment)
    return has_first_visit_intake(appointment)


def has_first_visit_intake(appointment: Appointment) -> bool:
    return (
        db.session.scalar(
            select(Intake.id)
            .where(Intake.appointment_id == appointment.id, Intake.kind == FIRST_VISIT)
            .limit(1)
        )
        is not None
    )


def _lock(appointment: Appointment) -> None:
    """One questionnaire per visit, even when the link and the desk send theirs at once: the
    second waits for the first (PostgreSQL row lock; SQLite writes one at a time anyway)."""
    db.session.execute(
        select(Appointment.id).where(Appointment.id == appointment.id).with_for_update()
    )
    db.session.refresh(appointment)


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

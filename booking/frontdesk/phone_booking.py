"""Booking a phone caller: free times of a day, and the booking itself, confirmed at once."""

from __future__ import annotations

from datetime import date, datetime, time

from booking.audit.service import record_audit
from booking.clinic.service import get_clinic
from booking.frontdesk.outcome import NOT_OFFERED, TAKEN, DeskActionRefused, Outcome, done, refused
from booking.frontdesk.visits import local_start, when_said
from booking.intake.service import may_book
from booking.notify.receivers import queue_intake_request
from booking.patients.models import Patient
from booking.scheduling.models import Appointment, Service, VisitKind
from booking.scheduling.service import (
    SlotNotOffered,
    SlotTaken,
    confirm_hold,
    find_free_slots,
    hold_slot,
)

FIRST_VISIT_NEEDED = (
    "Book a first visit: this patient has no completed first-visit questionnaire yet."
)


def free_starts(
    service: Service,
    day: date,
    now: datetime,
    practitioner_id: int | None = None,
    ignore_id: int | None = None,
) -> list[datetime]:
    """The free start times of a local day, once each (for "any", whoever is free then)."""
    slots = find_free_slots(service, day, day, now, practitioner_id, ignore_id=ignore_id)
    return sorted({slot.start for slot in slots})


def wants_intake(service: Service) -> bool:
    return service.kind == VisitKind.FIRST_VISIT


def book_for_caller(
    patient: Patient,
    service: Service,
    day: date,
    wall: time,
    now: datetime,
    practitioner_id: int | None = None,
    send_intake: bool = False,
) -> Outcome:
    """Book a free time for a caller, confirmed at once, audited; refused when taken.

    The same hold as online bookings takes the time, so two desks and the website can never
    give it twice; it is confirmed in the same transaction. A follow-up is refused for a
    patient with no completed first-visit intake (the same rule as online).
    """
    if not may_book(service, patient.id):
        return refused(FIRST_VISIT_NEEDED)
    try:
        start = local_start(day, wall, get_clinic().zone)
        visit = _hold_and_confirm(patient, service, start, now, practitioner_id)
    except SlotTaken as taken:
        return refused(TAKEN, taken.alternatives)
    except (SlotNotOffered, DeskActionRefused):
        return refused(NOT_OFFERED)
    if send_intake and wants_intake(service) and queue_intake_request(visit):
        record_audit("appointment.intake_requested", "appointment", visit.id)
    return done(
        visit,
        f"Booked {patient.full_name} for {when_said(visit.starts_at)} "
        f"with {visit.practitioner.name}.",
    )


def _hold_and_confirm(
    patient: Patient, service: Service, start: datetime, now: datetime, practitioner_id: int | None
) -> Appointment:
    hold = hold_slot(service, start, now, practitioner_id, source="desk")
    hold.patient_id = patient.id
    confirm_hold(hold, now)
    record_audit(
        "appointment.booked", "appointment", hold.id,
        patient_id=patient.id, practitioner_id=hold.practitioner_id, source="desk",
    )
    return hold

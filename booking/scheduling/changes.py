"""Changing a booking: moving it and cancelling it. Services flush; the caller commits.

The same appointment row is kept through every change, so its iCalendar UID stays the same; its
`sequence` rises with each change so calendars (and the patient's links) follow the newest.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError

from booking.clinic.service import get_clinic
from booking.extensions import db
from booking.scheduling.models import BOOKED_STATUSES, Appointment, AppointmentStatus
from booking.scheduling.service import (
    SchedulingError,
    SlotNotOffered,
    SlotTaken,
    expire_stale_holds,
    find_free_slots,
    is_offered_time,
    is_overlap,
    nearest_free_slots,
    place_visit,
)
from booking.scheduling.signals import (
    booking_cancelled,
    booking_held_for_review,
    booking_moved,
)

CANCELLED_BY = ("patient", "clinic")


class NotChangeable(SchedulingError):
    """The appointment is not a booking that can be moved or cancelled (held, cancelled, done)."""


def can_patient_change(appointment: Appointment, now: datetime) -> bool:
    """May the patient move or cancel online? Only outside the clinic's cancellation window."""
    if appointment.status not in BOOKED_STATUSES:
        return False
    return outside_window(appointment.starts_at, now)


def outside_window(start: datetime, now: datetime) -> bool:
    """Is a visit at `start` still outside the cancellation window? The one rule for whether a
    visit may be changed online, and for which times a patient may move a visit to (a move
    never leaves a visit that can no longer be changed online)."""
    return now < start - get_clinic().cancellation_window


def patient_may_move_to(appointment: Appointment, start: datetime, now: datetime) -> bool:
    """Is `start` a time the patient may move the visit to online: free with its practitioner
    and outside the cancellation window?"""
    return outside_window(start, now) and _is_free_for(
        appointment, start, now, appointment.practitioner_id
    )


def move_appointment(
    appointment: Appointment,
    new_start: datetime,
    now: datetime,
    practitioner_id: int | None = None,
) -> Appointment:
    """Move a booking to a free, offered time; the same practitioner unless another is named.

    Raises SlotNotOffered (not on the clinic's grid), SlotTaken (with the nearest free times)
    or NotChangeable. Moving to the time it already has changes nothing.
    """
    _check_changeable(appointment)
    service = appointment.service
    practitioner_id = practitioner_id or appointment.practitioner_id
    if new_start == appointment.starts_at and practitioner_id == appointment.practitioner_id:
        return appointment
    if not _is_free_for(appointment, new_start, now, practitioner_id):
        if not is_offered_time(service, new_start, now, practitioner_id):
            raise SlotNotOffered("That time is not offered.")
        raise SlotTaken(nearest_free_slots(service, new_start, now, practitioner_id))
    previous_start, previous_practitioner_id = appointment.starts_at, appointment.practitioner_id
    expire_stale_holds(practitioner_id, now)
    try:
        # Changed inside the savepoint: a refused UPDATE flushed outside it would abort the
        # whole transaction on PostgreSQL (see confirm_hold).
        with db.session.begin_nested():
            appointment.practitioner_id = practitioner_id
            place_visit(appointment, service, new_start)
            appointment.sequence += 1
    except IntegrityError as error:
        if not is_overlap(error):
            raise
        db.session.refresh(appointment)
        raise SlotTaken(nearest_free_slots(service, new_start, now, practitioner_id)) from error
    booking_moved.send(
        appointment,
        previous_start=previous_start,
        previous_practitioner_id=previous_practitioner_id,
    )
    return appointment


def _is_free_for(
    appointment: Appointment, start: datetime, now: datetime, practitioner_id: int
) -> bool:
    """Is `start` free with the practitioner, not counting the appointment's own time?"""
    day = start.astimezone(get_clinic().zone).date()
    slots = find_free_slots(
        appointment.service, day, day, now, practitioner_id, ignore_id=appointment.id
    )
    return any(slot.start == start for slot in slots)


def cancel_appointment(appointment: Appointment, reason: str, by: str) -> Appointment:
    """Cancel a booking, keeping the reason; `by` is "patient" or "clinic"."""
    if by not in CANCELLED_BY:
        raise ValueError(f"unknown canceller {by!r}")
    _check_changeable(appointment)
    previous_status = appointment.status
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancel_reason = reason
    appointment.sequence += 1
    db.session.flush()
    booking_cancelled.send(appointment, by=by, previous_status=previous_status)
    return appointment


def hold_for_review(appointment: Appointment) -> Appointment:
    """A confirmed visit whose screening needs a clinician first becomes "awaiting review".

    Same time and practitioner, an active status before and after: nothing to re-check. The
    sequence stays (the patient's link keeps working); the patient and staff are told through
    `booking_held_for_review`. Already awaiting review: nothing changes.
    """
    if appointment.status == AppointmentStatus.AWAITING_REVIEW:
        return appointment
    if appointment.status != AppointmentStatus.CONFIRMED:
        raise NotChangeable("This visit can no longer be changed.")
    appointment.status = AppointmentStatus.AWAITING_REVIEW
    db.session.flush()
    booking_held_for_review.send(appointment)
    return appointment


def _check_changeable(appointment: Appointment) -> None:
    if appointment.status not in BOOKED_STATUSES:
        raise NotChangeable("This visit can no longer be changed.")

"""The waitlist: patients who asked for an earlier time hear by email when one frees up.

When a visit is cancelled or moved, the waiting entries that the freed time suits (same
service, that practitioner or any, a weekday and time window they gave, before the visit they
already have) are each offered it, earliest entry first: the `waitlist_time_offered` signal
brings the email (written in notify), whose link opens the ordinary public times page on that
day. Whoever holds the time first gets it, through the normal hold; the others find it taken
and are shown the nearest free times.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, time

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from booking import formatting
from booking.audit.service import record_audit
from booking.clinic.service import get_clinic
from booking.db import now_utc
from booking.extensions import db
from booking.patients.models import Patient
from booking.scheduling.availability import Slot
from booking.scheduling.models import (
    ALL_WEEKDAYS,
    OPEN_WAITLIST_STATUSES,
    Appointment,
    Service,
    WaitlistEntry,
    WaitlistStatus,
)
from booking.scheduling.service import find_free_slots
from booking.scheduling.signals import (
    booking_cancelled,
    booking_made,
    booking_moved,
    waitlist_time_offered,
)

logger = logging.getLogger(__name__)

# Named windows the desk can pick, local wall-clock time; "any" is the whole working day.
WINDOWS = {
    "any": (time(0, 0), time(23, 59)),
    "morning": (time(0, 0), time(12, 0)),
    "afternoon": (time(12, 0), time(17, 0)),
    "evening": (time(17, 0), time(23, 59)),
}
WINDOW_NAMES = {
    "any": "any time",
    "morning": "mornings",
    "afternoon": "afternoons",
    "evening": "evenings",
}
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def weekday_mask(weekdays: Sequence[int]) -> int:
    """The bit set of weekdays (0 = Monday); every day when none are given."""
    mask = 0
    for day in weekdays:
        mask |= 1 << day
    return mask or ALL_WEEKDAYS


def describe_preferences(entry: WaitlistEntry) -> str:
    """'Mon, Wed; 9:00 AM to 12:00 PM' or 'Any day, any time', for the desk's lists."""
    days = entry.weekday_numbers
    said_days = "Any day" if len(days) == 7 else ", ".join(DAY_NAMES[d] for d in days)
    window = (entry.earliest_start, entry.latest_end)
    for name, times in WINDOWS.items():
        if window == times:
            return f"{said_days}, {WINDOW_NAMES[name]}"
    clock = formatting.clock
    return f"{said_days}, {clock(entry.earliest_start)} to {clock(entry.latest_end)}"


def add_to_waitlist(
    patient: Patient,
    service: Service,
    *,
    practitioner_id: int | None = None,
    weekdays: Sequence[int] = (),
    earliest_start: time = WINDOWS["any"][0],
    latest_end: time = WINDOWS["any"][1],
    appointment_id: int | None = None,
) -> WaitlistEntry:
    entry = WaitlistEntry(
        patient_id=patient.id,
        service_id=service.id,
        practitioner_id=practitioner_id,
        appointment_id=appointment_id,
        weekdays=weekday_mask(weekdays),
        earliest_start=earliest_start,
        latest_end=latest_end,
        status=WaitlistStatus.WAITING,
    )
    db.session.add(entry)
    db.session.flush()
    record_audit("waitlist.added", "waitlist_entry", entry.id, patient_id=patient.id)
    return entry


def withdraw(entry: WaitlistEntry) -> None:
    if entry.is_open:
        entry.status = WaitlistStatus.WITHDRAWN
        db.session.flush()
        record_audit("waitlist.withdrawn", "waitlist_entry", entry.id, patient_id=entry.patient_id)


def open_entries(patient_id: int | None = None) -> list[WaitlistEntry]:
    """Entries still waiting for a time, oldest first (first come, first served)."""
    query = (
        select(WaitlistEntry)
        .options(
            selectinload(WaitlistEntry.patient),
            selectinload(WaitlistEntry.service),
            selectinload(WaitlistEntry.practitioner),
            selectinload(WaitlistEntry.appointment),
        )
        .where(WaitlistEntry.status.in_(OPEN_WAITLIST_STATUSES))
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
    )
    if patient_id is not None:
        query = query.where(WaitlistEntry.patient_id == patient_id)
    return list(db.session.scalars(query))


# --- Offering a freed time -------------------------------------------------------------------


def suits(entry: WaitlistEntry, slot: Slot) -> bool:
    """Does the slot fall on a day and inside a window the patient gave, before their visit?"""
    zone = get_clinic().zone
    start = slot.start.astimezone(zone)
    end = slot.end.astimezone(zone)
    if not entry.weekdays & (1 << start.weekday()):
        return False
    if start.time() < entry.earliest_start or end.date() != start.date():
        return False
    if end.time() > entry.latest_end:
        return False
    current = entry.appointment
    return current is None or not current.is_active or slot.start < current.starts_at


def offer_freed_time(
    practitioner_id: int,
    freed_from: datetime,
    freed_until: datetime,
    now: datetime,
    skip_patient_id: int | None = None,
) -> list[WaitlistEntry]:
    """Offer every open entry a now-free time starting in the range that suits it."""
    entries = [
        entry
        for entry in open_entries()
        if entry.practitioner_id in (None, practitioner_id) and entry.patient_id != skip_patient_id
    ]
    day = freed_from.astimezone(get_clinic().zone).date()
    free_by_service: dict[int, list[Slot]] = {}
    offered = []
    for entry in entries:
        if entry.service_id not in free_by_service:
            free_by_service[entry.service_id] = [
                slot
                for slot in find_free_slots(entry.service, day, day, now, practitioner_id)
                if freed_from <= slot.start < freed_until
            ]
        slot = next((s for s in free_by_service[entry.service_id] if suits(entry, s)), None)
        if slot is not None and _offer(entry, slot, now):
            offered.append(entry)
    return offered


def _offer(entry: WaitlistEntry, slot: Slot, now: datetime) -> bool:
    """Send the offer; False when this time was offered to this entry before (not sent again)."""
    answers = waitlist_time_offered.send(entry, slot=slot)
    if not any(sent for _receiver, sent in answers):
        return False
    entry.status = WaitlistStatus.OFFERED
    entry.offered_at = now
    db.session.flush()
    record_audit(
        "waitlist.offered", "waitlist_entry", entry.id,
        practitioner_id=slot.practitioner_id, starts_at=slot.start.isoformat(),
    )
    return True


# --- Following the scheduling signals ----------------------------------------------------------


def connect_waitlist() -> None:
    """Freed times are offered and bookings close entries: the app factory connects these."""
    booking_cancelled.connect(offer_after_cancellation)
    booking_moved.connect(offer_after_move)
    booking_made.connect(close_entries_on_booking)


def _offer_safely(practitioner_id, freed_from, freed_until, skip_patient_id) -> None:
    """An offer that fails must not undo the cancellation or move that freed the time."""
    try:
        with db.session.begin_nested():
            offer_freed_time(practitioner_id, freed_from, freed_until, now_utc(), skip_patient_id)
    except Exception:
        logger.exception("waitlist offers for practitioner %s failed", practitioner_id)


def offer_after_cancellation(appointment: Appointment, **_kwargs) -> None:
    db.session.flush()
    _offer_safely(
        appointment.practitioner_id, appointment.starts_at, appointment.ends_at,
        appointment.patient_id,
    )


def offer_after_move(appointment: Appointment, previous_start: datetime, **kwargs) -> None:
    """The time the visit left, with the practitioner it left (the desk may change both)."""
    db.session.flush()
    practitioner_id = kwargs.get("previous_practitioner_id") or appointment.practitioner_id
    length = appointment.ends_at - appointment.starts_at
    _offer_safely(
        practitioner_id, previous_start, previous_start + length, appointment.patient_id
    )


def close_entries_on_booking(appointment: Appointment, **_kwargs) -> None:
    """A patient who books the service (an offered time or any other) is no longer waiting."""
    if appointment.patient_id is None:
        return
    entries = db.session.scalars(
        select(WaitlistEntry).where(
            WaitlistEntry.patient_id == appointment.patient_id,
            WaitlistEntry.service_id == appointment.service_id,
            WaitlistEntry.status.in_(OPEN_WAITLIST_STATUSES),
            or_(
                WaitlistEntry.appointment_id.is_(None),
                WaitlistEntry.appointment_id != appointment.id,
            ),
        )
    )
    for entry in entries:
        current = entry.appointment
        if current is not None and current.is_active and appointment.starts_at >= current.starts_at:
            continue  # not earlier than the visit they have: still waiting
        entry.status = WaitlistStatus.BOOKED
        record_audit(
            "waitlist.booked", "waitlist_entry", entry.id, appointment_id=appointment.id
        )
    db.session.flush()

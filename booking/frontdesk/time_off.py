"""Time off and blocks: a practitioner's time taken out of the bookable hours."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from booking.audit.service import record_audit
from booking.clinic.service import get_clinic
from booking.extensions import db
from booking.frontdesk.outcome import DeskActionRefused
from booking.scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    Practitioner,
    TimeOff,
)


def add_time_off(
    practitioner: Practitioner, starts_at: datetime, ends_at: datetime, reason: str
) -> tuple[TimeOff, int]:
    """Block a practitioner's time; returns it and how many booked visits fall inside it.

    Visits already booked there are not touched: the desk moves or cancels them, with the
    patient told, instead of their disappearing silently.
    """
    if ends_at <= starts_at:
        raise DeskActionRefused("The end must be after the start.")
    time_off = TimeOff(
        practitioner_id=practitioner.id, starts_at=starts_at, ends_at=ends_at,
        reason=reason.strip(),
    )
    db.session.add(time_off)
    db.session.flush()
    record_audit(
        "time_off.added", "time_off", time_off.id, practitioner_id=practitioner.id,
        starts_at=starts_at.isoformat(), ends_at=ends_at.isoformat(),
    )
    clashes = db.session.scalar(
        select(func.count(Appointment.id)).where(
            Appointment.practitioner_id == practitioner.id,
            Appointment.status.in_(ACTIVE_STATUSES),
            Appointment.status != AppointmentStatus.HELD,
            Appointment.starts_at < ends_at,
            Appointment.ends_at > starts_at,
        )
    )
    return time_off, clashes or 0


def remove_time_off(time_off: TimeOff) -> None:
    record_audit(
        "time_off.removed", "time_off", time_off.id, practitioner_id=time_off.practitioner_id,
        starts_at=time_off.starts_at.isoformat(), ends_at=time_off.ends_at.isoformat(),
    )
    db.session.delete(time_off)
    db.session.flush()


def week_time_off(practitioner: Practitioner, first: date) -> list[TimeOff]:
    """The practitioner's time off that touches the week starting on `first` (clinic days)."""
    zone = get_clinic().zone
    start = datetime.combine(first, datetime.min.time(), zone)
    end = datetime.combine(first + timedelta(days=7), datetime.min.time(), zone)
    return list(db.session.scalars(
        select(TimeOff).where(
            TimeOff.practitioner_id == practitioner.id,
            TimeOff.starts_at < end, TimeOff.ends_at > start,
        ).order_by(TimeOff.starts_at)
    ))

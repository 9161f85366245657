"""A patient's visits as the desk sees them: booked, past and to come (no holds)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from booking.extensions import db
from booking.patients.models import Patient
from booking.scheduling.models import HOLD_STATUSES, Appointment


def patient_visits(patient: Patient) -> list[Appointment]:
    """Every booking the patient has or had, newest first."""
    return list(db.session.scalars(
        select(Appointment).where(
            Appointment.patient_id == patient.id,
            Appointment.status.not_in(HOLD_STATUSES),
        ).order_by(Appointment.starts_at.desc())
    ))


def upcoming_visits(patient: Patient, now: datetime) -> list[Appointment]:
    """Bookings still to end that hold the practitioner's time."""
    return [v for v in patient_visits(patient) if v.ends_at > now and v.is_active]

"""Factory helpers: believable rows with sensible defaults, overridable per test."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

from booking.extensions import db
from booking.patients.models import Patient
from booking.scheduling.models import (
    Appointment,
    AppointmentStatus,
    Practitioner,
    Service,
    VisitKind,
    WorkingHours,
)

_counter = itertools.count(1)


def make_service(**fields) -> Service:
    n = next(_counter)
    values = dict(
        slug=f"service-{n}", name=f"Service {n}", minutes=30, kind=VisitKind.FOLLOW_UP
    )
    values.update(fields)
    service = Service(**values)
    db.session.add(service)
    db.session.flush()
    return service


def make_practitioner(services=(), hours=None, **fields) -> Practitioner:
    """`hours` maps weekday -> [("09:00", "17:00"), ...]; default Monday–Friday 09:00–17:00."""
    n = next(_counter)
    values = dict(name=f"Practitioner {n}", slug=f"practitioner-{n}")
    values.update(fields)
    practitioner = Practitioner(**values)
    practitioner.services = list(services)
    week = hours if hours is not None else {d: [("09:00", "17:00")] for d in range(5)}
    practitioner.hours = [
        WorkingHours(weekday=day, starts=time.fromisoformat(a), ends=time.fromisoformat(b))
        for day, intervals in week.items()
        for a, b in intervals
    ]
    db.session.add(practitioner)
    db.session.flush()
    return practitioner


def make_patient(**fields) -> Patient:
    n = next(_counter)
    values = dict(
        first_name="Pat",
        last_name=f"Ient{n}",
        date_of_birth=date(1980, 5, 17),
        email=f"patient{n}@example.com",
        phone="555-0100",
    )
    values.update(fields)
    patient = Patient(**values)
    db.session.add(patient)
    db.session.flush()
    return patient


def make_appointment(
    practitioner: Practitioner,
    service: Service,
    starts_at: datetime,
    minutes: int | None = None,
    status: AppointmentStatus = AppointmentStatus.CONFIRMED,
    patient: Patient | None = None,
    flush: bool = True,
    **fields,
) -> Appointment:
    """An appointment inserted directly, bypassing the scheduling services."""
    ends_at = starts_at + timedelta(minutes=minutes or service.minutes)
    values = dict(
        practitioner_id=practitioner.id,
        service_id=service.id,
        patient_id=patient.id if patient else None,
        starts_at=starts_at,
        ends_at=ends_at,
        occupied_from=starts_at - timedelta(minutes=service.buffer_before_minutes),
        occupied_until=ends_at + timedelta(minutes=service.buffer_after_minutes),
        status=status,
    )
    if status == AppointmentStatus.HELD:
        values["hold_expires_at"] = datetime.now(UTC) + timedelta(minutes=10)
    values.update(fields)
    appointment = Appointment(**values)
    db.session.add(appointment)
    if flush:
        db.session.flush()
    return appointment

"""The database itself refuses overlapping active appointments of one practitioner."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from booking.extensions import db
from booking.scheduling.models import Appointment, AppointmentStatus
from tests.factories import make_appointment, make_practitioner, make_service

TEN = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 10:00 in New York
TEN_THIRTY = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
TEN_FIFTEEN = datetime(2026, 12, 1, 15, 15, tzinfo=UTC)
ELEVEN = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
CONFIRMED = AppointmentStatus.CONFIRMED


def stored(practitioner) -> list[tuple[datetime, datetime, AppointmentStatus]]:
    """The practitioner's appointments as the database holds them: (starts, ends, status)."""
    db.session.expire_all()
    return [
        tuple(row)
        for row in db.session.execute(
            select(Appointment.starts_at, Appointment.ends_at, Appointment.status)
            .where(Appointment.practitioner_id == practitioner.id)
            .order_by(Appointment.starts_at, Appointment.id)
        )
    ]


@pytest.fixture
def setup(app_ctx):
    service = make_service(minutes=30)
    return make_practitioner([service]), make_practitioner([service]), service


def test_overlapping_active_appointments_are_refused(setup):
    practitioner, _, service = setup
    make_appointment(practitioner, service, TEN)
    db.session.commit()
    with pytest.raises(IntegrityError):
        make_appointment(practitioner, service, TEN_FIFTEEN)
    db.session.rollback()
    assert stored(practitioner) == [(TEN, TEN_THIRTY, CONFIRMED)]  # only the first


@pytest.mark.parametrize(
    "status",
    [s for s in AppointmentStatus if s.value not in ("cancelled", "expired")],
)
def test_every_active_status_blocks_the_time(setup, status):
    practitioner, _, service = setup
    make_appointment(practitioner, service, TEN, status=status)
    db.session.commit()
    with pytest.raises(IntegrityError):
        make_appointment(practitioner, service, TEN)
    db.session.rollback()
    assert stored(practitioner) == [(TEN, TEN_THIRTY, status)]


def test_touching_appointments_are_accepted(setup):
    practitioner, _, service = setup
    make_appointment(practitioner, service, TEN)  # 10:00–10:30
    make_appointment(practitioner, service, TEN_THIRTY)  # 10:30–11:00
    db.session.commit()
    assert stored(practitioner) == [
        (TEN, TEN_THIRTY, CONFIRMED),
        (TEN_THIRTY, ELEVEN, CONFIRMED),
    ]


@pytest.mark.parametrize("status", [AppointmentStatus.CANCELLED, AppointmentStatus.EXPIRED])
def test_cancelled_and_expired_appointments_free_the_time(setup, status):
    practitioner, _, service = setup
    make_appointment(practitioner, service, TEN, status=status)
    make_appointment(practitioner, service, TEN)
    db.session.commit()
    assert stored(practitioner) == [
        (TEN, TEN_THIRTY, status),
        (TEN, TEN_THIRTY, CONFIRMED),
    ]


def test_other_practitioners_may_share_the_time(setup):
    first, second, service = setup
    make_appointment(first, service, TEN)
    make_appointment(second, service, TEN)
    db.session.commit()
    assert stored(first) == [(TEN, TEN_THIRTY, CONFIRMED)]
    assert stored(second) == [(TEN, TEN_THIRTY, CONFIRMED)]


def test_buffers_are_part_of_the_occupied_time(app_ctx):
    service = make_service(minutes=30, buffer_after_minutes=10)
    practitioner = make_practitioner([service])
    make_appointment(practitioner, service, TEN)  # occupies 10:00–10:40
    db.session.commit()
    with pytest.raises(IntegrityError):
        make_appointment(practitioner, service, TEN_THIRTY)  # occupies 10:30–11:10
    db.session.rollback()
    assert stored(practitioner) == [(TEN, TEN_THIRTY, CONFIRMED)]


def test_moving_onto_a_taken_time_is_refused(setup):
    practitioner, _, service = setup
    make_appointment(practitioner, service, TEN)
    later = make_appointment(practitioner, service, TEN_THIRTY)
    db.session.commit()
    later.starts_at, later.occupied_from = TEN_FIFTEEN, TEN_FIFTEEN
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert stored(practitioner) == [  # the move did not happen
        (TEN, TEN_THIRTY, CONFIRMED),
        (TEN_THIRTY, ELEVEN, CONFIRMED),
    ]


def test_reactivating_a_cancelled_appointment_onto_a_taken_time_is_refused(setup):
    practitioner, _, service = setup
    cancelled = make_appointment(practitioner, service, TEN, status=AppointmentStatus.CANCELLED)
    make_appointment(practitioner, service, TEN)
    db.session.commit()
    cancelled.status = AppointmentStatus.CONFIRMED
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert stored(practitioner) == [  # still cancelled
        (TEN, TEN_THIRTY, AppointmentStatus.CANCELLED),
        (TEN, TEN_THIRTY, CONFIRMED),
    ]


def test_naive_datetimes_are_refused(setup):
    practitioner, _, service = setup
    with pytest.raises(Exception, match="naive datetime"):
        make_appointment(practitioner, service, datetime(2026, 12, 1, 10, 0))
    db.session.rollback()

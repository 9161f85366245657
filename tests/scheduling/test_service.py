"""The scheduling services on both engines: free times, holds, booking a hold, giving it back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from booking.clinic.service import get_clinic
from booking.extensions import db
from booking.scheduling import service as scheduling
from booking.scheduling.availability import Slot
from booking.scheduling.models import (
    Appointment,
    AppointmentStatus,
    ClinicClosure,
    Practitioner,
    Service,
    TimeOff,
)
from booking.scheduling.service import (
    SlotNotOffered,
    SlotTaken,
    confirm_hold,
    find_free_slots,
    first_free_day,
    hold_slot,
    nearest_free_slots,
    release_hold,
)
from tests.factories import make_appointment, make_practitioner, make_service

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)  # Friday 12:00 in New York
MONDAY = date(2026, 11, 23)


def at(hour: int, minute: int = 0, day: date = MONDAY) -> datetime:
    """A local wall-clock time in the clinic zone."""
    return datetime.combine(day, time(hour, minute), NEW_YORK)


def starts(slots: list[Slot]) -> list[datetime]:
    return [slot.start for slot in slots]


def monday_starts(service: Service, practitioner_id: int | None = None) -> list[datetime]:
    return starts(find_free_slots(service, MONDAY, MONDAY, NOW, practitioner_id))


@pytest.fixture
def service(app_ctx) -> Service:
    get_clinic()  # America/New_York, 30-minute grid, 10-minute holds
    return make_service(minutes=30)


@pytest.fixture
def practitioner(service: Service) -> Practitioner:
    return make_practitioner([service])  # Monday to Friday, 09:00–17:00


# --- Free times -----------------------------------------------------------------------------


def test_free_slots_fill_the_working_day_on_the_grid(service, practitioner):
    assert monday_starts(service) == [at(9) + timedelta(minutes=30 * i) for i in range(16)]


def test_booked_time_and_its_buffers_are_not_offered(app_ctx):
    service = make_service(minutes=30, buffer_after_minutes=10)
    practitioner = make_practitioner([service])
    make_appointment(practitioner, service, at(10))  # occupies 10:00–10:40
    free = monday_starts(service)
    # 09:30 would run into 10:00 with its own buffer; 10:30 starts inside the buffer.
    assert {at(9, 30), at(10), at(10, 30)}.isdisjoint(free)
    assert {at(9), at(11)} <= set(free)


def test_a_live_hold_blocks_its_time(service, practitioner):
    make_appointment(
        practitioner, service, at(10), status=AppointmentStatus.HELD,
        hold_expires_at=NOW + timedelta(minutes=5),
    )
    assert at(10) not in monday_starts(service)


def test_an_expired_hold_does_not_block_its_time(service, practitioner):
    make_appointment(
        practitioner, service, at(10), status=AppointmentStatus.HELD,
        hold_expires_at=NOW - timedelta(seconds=1),
    )
    assert at(10) in monday_starts(service)


def test_time_off_is_not_offered(service, practitioner):
    db.session.add(TimeOff(practitioner_id=practitioner.id, starts_at=at(13), ends_at=at(14)))
    free = monday_starts(service)
    assert {at(13), at(13, 30)}.isdisjoint(free)
    assert {at(12, 30), at(14)} <= set(free)


def test_clinic_closures_close_whole_days(service, practitioner):
    db.session.add(ClinicClosure(first_day=MONDAY, last_day=MONDAY, reason="Training"))
    tuesday = MONDAY + timedelta(days=1)
    slots = find_free_slots(service, MONDAY, tuesday, NOW)
    assert {slot.start.astimezone(NEW_YORK).date() for slot in slots} == {tuesday}


def test_first_free_day_skips_a_day_with_nothing_free(service, practitioner):
    friday = NOW.astimezone(NEW_YORK).date()
    assert first_free_day(service, NOW) == friday
    db.session.add(TimeOff(practitioner_id=practitioner.id, starts_at=at(0, day=friday),
                           ends_at=at(23, day=friday)))
    assert first_free_day(service, NOW) == MONDAY


def test_nearest_free_slots_surround_the_time_asked_for(service, practitioner):
    make_appointment(practitioner, service, at(10))
    nearest = nearest_free_slots(service, at(10), NOW)
    assert starts(nearest) == [at(9), at(9, 30), at(10, 30), at(11), at(11, 30), at(12)]


def seed_visits(practitioners: list[Practitioner], service: Service, count: int) -> None:
    """`count` back-to-back visits spread over the practitioners' weekdays from MONDAY."""
    weekdays = [d for d in (MONDAY + timedelta(days=i) for i in range(28)) if d.weekday() < 5]
    for n in range(count):
        practitioner = practitioners[n % len(practitioners)]
        index = n // len(practitioners)
        start = at(9, day=weekdays[index // 16]) + timedelta(minutes=30 * (index % 16))
        make_appointment(practitioner, service, start, flush=False)
    db.session.commit()


@contextmanager
def counting_statements() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def statements_for_two_weeks(service: Service) -> int:
    db.session.commit()  # each count starts a fresh transaction (SQLite's BEGIN included)
    with counting_statements() as statements:
        slots = find_free_slots(service, MONDAY, MONDAY + timedelta(days=13), NOW)
    assert slots
    return len(statements)


def test_find_free_slots_runs_the_same_few_statements_however_busy(service):
    team = [make_practitioner([service]) for _ in range(4)]
    seed_visits(team, service, 10)
    with_ten = statements_for_two_weeks(service)
    db.session.query(Appointment).delete()
    seed_visits(team, service, 200)
    assert db.session.query(Appointment).count() == 200
    assert statements_for_two_weeks(service) == with_ten
    assert with_ten <= 8


# --- Holding --------------------------------------------------------------------------------


def test_hold_slot_holds_the_time_for_the_clinics_hold_length(service, practitioner):
    get_clinic().hold_minutes = 15
    hold = hold_slot(service, at(10), NOW)
    assert hold.status == AppointmentStatus.HELD
    assert hold.practitioner_id == practitioner.id
    assert (hold.starts_at, hold.ends_at) == (at(10), at(10, 30))
    assert hold.hold_expires_at == NOW + timedelta(minutes=15)
    assert hold.hold_key and len(hold.hold_key) >= 32
    assert at(10) not in monday_starts(service)


def test_a_second_hold_on_the_same_time_is_taken_with_alternatives(service, practitioner):
    hold_slot(service, at(10), NOW)
    with pytest.raises(SlotTaken) as taken:
        hold_slot(service, at(10), NOW)
    assert starts(taken.value.alternatives) == [
        at(9), at(9, 30), at(10, 30), at(11), at(11, 30), at(12)
    ]


def test_first_available_goes_to_the_practitioner_with_fewer_visits_that_day(service):
    busy, quiet = make_practitioner([service]), make_practitioner([service])
    make_appointment(busy, service, at(14))
    make_appointment(busy, service, at(15))
    assert hold_slot(service, at(10), NOW).practitioner_id == quiet.id


def test_first_available_breaks_a_tie_by_lowest_id(service):
    first, _second = make_practitioner([service]), make_practitioner([service])
    assert hold_slot(service, at(10), NOW).practitioner_id == first.id


def test_a_named_practitioner_is_held_even_when_busier(service):
    busy, _quiet = make_practitioner([service]), make_practitioner([service])
    make_appointment(busy, service, at(14))
    assert hold_slot(service, at(10), NOW, practitioner_id=busy.id).practitioner_id == busy.id


def test_a_race_lost_for_one_practitioner_falls_to_the_next_free_one(
    service, monkeypatch: pytest.MonkeyPatch
):
    raced, other = make_practitioner([service]), make_practitioner([service])
    make_appointment(other, service, at(14))
    make_appointment(other, service, at(15))
    # Both looked free when the slots were read; then another request took `raced` at 10:00.
    stale = [Slot(at(10), at(10, 30), raced.id), Slot(at(10), at(10, 30), other.id)]
    monkeypatch.setattr(scheduling, "offered_slots_at", lambda *args: stale)
    make_appointment(raced, service, at(10))
    assert hold_slot(service, at(10), NOW).practitioner_id == other.id
    db.session.commit()


def test_a_race_lost_for_every_practitioner_is_taken(
    service, practitioner, monkeypatch: pytest.MonkeyPatch
):
    stale = [Slot(at(10), at(10, 30), practitioner.id)]
    monkeypatch.setattr(scheduling, "offered_slots_at", lambda *args: stale)
    make_appointment(practitioner, service, at(10))
    with pytest.raises(SlotTaken) as taken:
        hold_slot(service, at(10), NOW)
    assert at(10) not in starts(taken.value.alternatives)
    db.session.commit()  # the refused insert left the transaction usable


@pytest.mark.parametrize(
    "start",
    [
        pytest.param(at(10, 10), id="off-grid"),
        pytest.param(at(8, 30), id="before-hours"),
        pytest.param(at(16, 45), id="runs-past-hours"),
        pytest.param(at(10, day=MONDAY - timedelta(days=7)), id="past"),
        pytest.param(NOW + timedelta(minutes=30), id="inside-minimum-notice"),
        pytest.param(at(10, day=MONDAY + timedelta(days=70)), id="beyond-horizon"),
        pytest.param(at(10, day=MONDAY - timedelta(days=2)), id="not-a-working-day"),
    ],
)
def test_times_the_clinic_does_not_offer_are_refused(service, practitioner, start):
    with pytest.raises(SlotNotOffered):
        hold_slot(service, start, NOW)


def test_a_practitioner_who_does_not_offer_the_service_is_refused(service, practitioner):
    other_service = make_service(minutes=30)
    outsider = make_practitioner([other_service])
    with pytest.raises(SlotNotOffered):
        hold_slot(service, at(10), NOW, practitioner_id=outsider.id)


# --- Booking and giving back ----------------------------------------------------------------


def test_confirm_hold_books_the_time(service, practitioner):
    hold = hold_slot(service, at(10), NOW)
    confirm_hold(hold, NOW + timedelta(minutes=2))
    db.session.commit()
    assert hold.status == AppointmentStatus.CONFIRMED
    assert (hold.hold_expires_at, hold.hold_key) == (None, None)


def test_a_hold_that_ran_out_still_books_when_nobody_took_the_time(service, practitioner):
    hold = hold_slot(service, at(10), NOW)
    later = NOW + timedelta(minutes=30)
    hold_slot(service, at(11), later)  # another patient: marks the run-out hold expired
    db.session.refresh(hold)
    assert hold.status == AppointmentStatus.EXPIRED
    confirm_hold(hold, later, AppointmentStatus.AWAITING_REVIEW)
    db.session.commit()
    assert hold.status == AppointmentStatus.AWAITING_REVIEW


def test_a_hold_that_ran_out_is_taken_when_someone_else_booked_the_time(service, practitioner):
    hold = hold_slot(service, at(10), NOW)
    later = NOW + timedelta(minutes=11)
    other = hold_slot(service, at(10), later)
    db.session.refresh(hold)
    with pytest.raises(SlotTaken) as taken:
        confirm_hold(hold, later)
    alternatives = starts(taken.value.alternatives)
    assert at(10) not in alternatives
    assert at(9, 30) in alternatives and at(10, 30) in alternatives
    db.session.commit()  # the refused update left the transaction usable
    db.session.expire_all()
    assert hold.status == AppointmentStatus.EXPIRED
    assert other.status == AppointmentStatus.HELD


def test_release_hold_frees_the_time_at_once(service, practitioner):
    hold = hold_slot(service, at(10), NOW)
    release_hold(hold)
    assert hold.status == AppointmentStatus.EXPIRED and hold.hold_key is None
    assert at(10) in monday_starts(service)
    assert hold_slot(service, at(10), NOW).status == AppointmentStatus.HELD
    db.session.commit()

"""Finding free times, holding them and booking them. Services flush; the caller commits."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from booking.clinic.models import Clinic
from booking.clinic.service import get_clinic
from booking.extensions import db
from booking.scheduling.availability import (
    Interval,
    Policy,
    PractitionerSchedule,
    ServiceShape,
    Slot,
    free_slots,
    occupied_interval,
)
from booking.scheduling.availability import WorkingHours as HoursRule
from booking.scheduling.hold_cap import check_client_cap
from booking.scheduling.models import (
    ACTIVE_STATUSES,
    HOLD_STATUSES,
    Appointment,
    AppointmentStatus,
    ClinicClosure,
    Practitioner,
    Service,
    TimeOff,
    WorkingHours,
    practitioner_services,
)
from booking.scheduling.signals import booking_made

# Who held a time matters only while it is held: the caps' hashes go when the hold ends.
NO_HOLDER = {"client_digest": None, "email_digest": None}
MAX_BUFFER = timedelta(minutes=120)  # the largest buffer a service may have (a CHECK constraint)
ALTERNATIVES = 6


class SchedulingError(Exception):
    """A scheduling request that cannot be carried out as asked."""


@dataclass
class SlotTaken(SchedulingError):
    """The time is no longer free; `alternatives` are the nearest free times."""

    alternatives: list[Slot] = field(default_factory=list)


class SlotNotOffered(SchedulingError):
    """The time is not one the clinic offers (off the grid, outside hours, past, too far)."""


class HoldGone(SchedulingError):
    """The hold no longer exists or does not belong to the caller."""


def shape_of(service: Service) -> ServiceShape:
    return ServiceShape(
        minutes=service.minutes,
        buffer_before=service.buffer_before_minutes,
        buffer_after=service.buffer_after_minutes,
    )


def policy_of(clinic: Clinic) -> Policy:
    return Policy(
        min_notice=clinic.min_notice,
        horizon=clinic.horizon,
        slot_step=timedelta(minutes=clinic.slot_step_minutes),
    )


def place_visit(appointment: Appointment, service: Service, starts_at: datetime) -> None:
    """Set the visit's times and the time it occupies (the visit plus its service's buffers)."""
    occupied = occupied_interval(starts_at, shape_of(service))
    appointment.starts_at = occupied.start + timedelta(minutes=service.buffer_before_minutes)
    appointment.ends_at = appointment.starts_at + timedelta(minutes=service.minutes)
    appointment.occupied_from, appointment.occupied_until = occupied.start, occupied.end


# --- Reading availability ------------------------------------------------------------------


def _bookable(what, service: Service, practitioner_id: int | None):
    """Active practitioners who offer the service (one of them when an id is given)."""
    query = (
        select(what)
        .join(practitioner_services)
        .where(practitioner_services.c.service_id == service.id, Practitioner.active.is_(True))
        .order_by(Practitioner.id)
    )
    if practitioner_id is not None:
        query = query.where(Practitioner.id == practitioner_id)
    return query


def active_service(key: int | str | None) -> Service | None:
    """An active service by id (a number) or slug (text); None when there is no such service."""
    if key is None or key == "":
        return None
    match = Service.id == key if isinstance(key, int) else Service.slug == key
    return db.session.scalar(select(Service).where(match, Service.active.is_(True)))


def active_services() -> list[Service]:
    return list(db.session.scalars(
        select(Service).where(Service.active.is_(True)).order_by(Service.id)
    ))


def active_practitioners() -> list[Practitioner]:
    return list(db.session.scalars(
        select(Practitioner).where(Practitioner.active.is_(True))
        .order_by(Practitioner.name, Practitioner.id)
    ))


def bookable_practitioners(
    service: Service, practitioner_id: int | None = None
) -> list[Practitioner]:
    return list(db.session.scalars(_bookable(Practitioner, service, practitioner_id)))


def bookable_practitioner_ids(service: Service, practitioner_id: int | None = None) -> list[int]:
    """The ids only: cheaper where availability needs no more."""
    return list(db.session.scalars(_bookable(Practitioner.id, service, practitioner_id)))


def local_day_bounds(first_day: date, last_day: date, zone: ZoneInfo) -> Interval:
    """The UTC instants from the start of first_day to the end of last_day, local time."""
    start = datetime.combine(first_day, time(0), zone)
    end = datetime.combine(last_day + timedelta(days=1), time(0), zone)
    return Interval(start, end)


def live_appointment_filter(now: datetime):
    """Active appointments, less holds that have run out (they free their time at once)."""
    return and_(
        Appointment.status.in_(ACTIVE_STATUSES),
        or_(Appointment.status != AppointmentStatus.HELD, Appointment.hold_expires_at > now),
    )


def load_schedules(
    practitioner_ids: Sequence[int], window: Interval, now: datetime, ignore_id: int | None = None
) -> list[PractitionerSchedule]:
    """Hours and busy time of the practitioners in three queries, whatever their number."""
    hours: dict[int, list[HoursRule]] = {pid: [] for pid in practitioner_ids}
    busy: dict[int, list[Interval]] = {pid: [] for pid in practitioner_ids}
    for row in db.session.execute(
        select(WorkingHours.practitioner_id, WorkingHours.weekday, WorkingHours.starts,
               WorkingHours.ends).where(WorkingHours.practitioner_id.in_(practitioner_ids))
    ):
        hours[row.practitioner_id].append(HoursRule(row.weekday, row.starts, row.ends))
    reach = Interval(window.start - MAX_BUFFER, window.end + MAX_BUFFER)
    appointments = select(
        Appointment.practitioner_id, Appointment.occupied_from, Appointment.occupied_until
    ).where(
        Appointment.practitioner_id.in_(practitioner_ids),
        live_appointment_filter(now),
        Appointment.occupied_from < reach.end,
        Appointment.occupied_until > reach.start,
    )
    if ignore_id is not None:
        appointments = appointments.where(Appointment.id != ignore_id)
    for pid, start, end in db.session.execute(appointments):
        busy[pid].append(Interval(start, end))
    for pid, start, end in db.session.execute(
        select(TimeOff.practitioner_id, TimeOff.starts_at, TimeOff.ends_at).where(
            TimeOff.practitioner_id.in_(practitioner_ids),
            TimeOff.starts_at < reach.end,
            TimeOff.ends_at > reach.start,
        )
    ):
        busy[pid].append(Interval(start, end))
    return [PractitionerSchedule(pid, hours[pid], busy[pid]) for pid in practitioner_ids]


def closed_days(first_day: date, last_day: date) -> set[date]:
    days: set[date] = set()
    for closed_from, closed_until in db.session.execute(
        select(ClinicClosure.first_day, ClinicClosure.last_day).where(
            ClinicClosure.first_day <= last_day, ClinicClosure.last_day >= first_day
        )
    ):
        day = max(closed_from, first_day)
        while day <= min(closed_until, last_day):
            days.add(day)
            day += timedelta(days=1)
    return days


def find_free_slots(
    service: Service,
    first_day: date,
    last_day: date,
    now: datetime,
    practitioner_id: int | None = None,
    ignore_id: int | None = None,
) -> list[Slot]:
    """Free slots of the service between two local days (inclusive), per practitioner."""
    clinic = get_clinic()
    ids = bookable_practitioner_ids(service, practitioner_id)
    if not ids:
        return []
    window = local_day_bounds(first_day, last_day, clinic.zone)
    return free_slots(
        load_schedules(ids, window, now, ignore_id),
        shape_of(service),
        policy_of(clinic),
        clinic.zone,
        first_day,
        last_day,
        now,
        closed_days(first_day, last_day),
    )


def first_free_day(
    service: Service, now: datetime, practitioner_id: int | None = None
) -> date | None:
    """The first local day with a free slot inside the booking horizon, if any."""
    clinic = get_clinic()
    today = now.astimezone(clinic.zone).date()
    last_day = (now + clinic.horizon).astimezone(clinic.zone).date()
    slots = find_free_slots(service, today, last_day, now, practitioner_id)
    return slots[0].start.astimezone(clinic.zone).date() if slots else None


def nearest_free_slots(
    service: Service,
    around: datetime,
    now: datetime,
    practitioner_id: int | None = None,
    limit: int = ALTERNATIVES,
) -> list[Slot]:
    """The free times closest to the one asked for (one per start), earliest first."""
    zone = get_clinic().zone
    day = around.astimezone(zone).date()
    slots = find_free_slots(
        service, day - timedelta(days=3), day + timedelta(days=14), now, practitioner_id
    )
    by_start = {slot.start: slot for slot in reversed(slots)}  # lowest practitioner id wins
    closest = sorted(by_start.values(), key=lambda s: (abs(s.start - around), s.start))
    return sorted(closest[:limit])


# --- Holding and booking -------------------------------------------------------------------


def expire_stale_holds(practitioner_id: int, now: datetime) -> None:
    """Lazily mark run-out holds as expired so that the database frees their time."""
    db.session.execute(
        update(Appointment)
        .where(
            Appointment.practitioner_id == practitioner_id,
            Appointment.status == AppointmentStatus.HELD,
            Appointment.hold_expires_at <= now,
        )
        # The key stays: its owner may still book the time if nobody has taken it meanwhile.
        .values(status=AppointmentStatus.EXPIRED, **NO_HOLDER)
        .execution_options(synchronize_session=False)
    )


def practitioners_by_load(candidates: list[Slot], now: datetime) -> list[int]:
    """The practitioners of the candidate slots, fewest visits that day first, then by id."""
    ids = [slot.practitioner_id for slot in candidates]
    if len(ids) <= 1:
        return ids
    zone = get_clinic().zone
    day = candidates[0].start.astimezone(zone).date()
    bounds = local_day_bounds(day, day, zone)
    load = Counter(
        dict(
            db.session.execute(
                select(Appointment.practitioner_id, func.count())
                .where(
                    Appointment.practitioner_id.in_(ids),
                    live_appointment_filter(now),
                    Appointment.starts_at >= bounds.start,
                    Appointment.starts_at < bounds.end,
                )
                .group_by(Appointment.practitioner_id)
            ).all()
        )
    )
    return sorted(ids, key=lambda pid: (load[pid], pid))


def offered_slots_at(
    service: Service, start: datetime, now: datetime, practitioner_id: int | None
) -> list[Slot]:
    """The free slots starting exactly at `start` (one per free practitioner)."""
    day = start.astimezone(get_clinic().zone).date()
    slots = find_free_slots(service, day, day, now, practitioner_id)
    return [slot for slot in slots if slot.start == start]


def hold_slot(
    service: Service,
    start: datetime,
    now: datetime,
    practitioner_id: int | None = None,
    source: str = "online",
    client: str | None = None,
    replacing: Appointment | None = None,
) -> Appointment:
    """Hold a free time for the clinic's hold length. Raises SlotNotOffered or SlotTaken, or
    HoldCapReached when `client` (a hold_cap.client_digest) keeps its most live holds already,
    not counting the hold this one is `replacing` (which the caller then gives back)."""
    check_client_cap(client, now, replacing)
    candidates = offered_slots_at(service, start, now, practitioner_id)
    # Only a time nobody is free at needs the second look that tells "taken" from "not offered".
    if not candidates and not is_offered_time(service, start, now, practitioner_id):
        raise SlotNotOffered("That time is not offered.")
    # A race lost for one practitioner may leave another free at that time ("first available").
    for chosen in practitioners_by_load(candidates, now):
        hold = _new_hold(service, start, chosen, now, source)
        hold.client_digest = client
        if _inserted(hold, now):
            return hold
    raise SlotTaken(nearest_free_slots(service, start, now, practitioner_id))


def _new_hold(
    service: Service, start: datetime, practitioner_id: int, now: datetime, source: str
) -> Appointment:
    """A hold of `start` with one practitioner, not yet added to the session."""
    hold = Appointment(
        practitioner_id=practitioner_id,
        service_id=service.id,
        status=AppointmentStatus.HELD,
        hold_expires_at=now + get_clinic().hold_length,
        hold_key=secrets.token_urlsafe(24),
        source=source,
    )
    place_visit(hold, service, start)
    return hold


def is_offered_time(
    service: Service, start: datetime, now: datetime, practitioner_id: int | None
) -> bool:
    """Is `start` on the clinic's grid inside someone's hours, ignoring who is busy?"""
    clinic = get_clinic()
    ids = bookable_practitioner_ids(service, practitioner_id)
    day = start.astimezone(clinic.zone).date()
    empty = [
        PractitionerSchedule(s.practitioner_id, s.hours, ())
        for s in load_schedules(ids, local_day_bounds(day, day, clinic.zone), now)
    ]
    grid = free_slots(
        empty, shape_of(service), policy_of(clinic), clinic.zone, day, day, now,
        closed_days(day, day),
    )
    return any(slot.start == start for slot in grid)


def _inserted(appointment: Appointment, now: datetime) -> bool:
    """Insert inside a savepoint; False when the database's no-overlap rule refuses it (a race)."""
    expire_stale_holds(appointment.practitioner_id, now)
    try:
        with db.session.begin_nested():
            db.session.add(appointment)
    except IntegrityError as error:
        if not is_overlap(error):
            raise
        return False
    return True


def is_overlap(error: IntegrityError) -> bool:
    """The no-overlap rule: PostgreSQL's exclusion violation (23P01) or SQLite's trigger."""
    sqlstate = getattr(error.orig, "sqlstate", None)
    return sqlstate == "23P01" or "appointment_no_overlap" in str(error.orig)


def find_own_hold(hold_id: int, hold_key: str) -> Appointment | None:
    """The caller's hold, live or run out, if the key proves it is theirs."""
    hold = db.session.get(Appointment, hold_id)
    if hold is None or hold.hold_key is None:
        return None
    # As bytes: compare_digest refuses a non-ASCII str, and such a key is simply a wrong one.
    if not secrets.compare_digest(hold.hold_key.encode(), hold_key.encode()):
        return None
    return hold if hold.status in HOLD_STATUSES else None


def find_live_hold(hold_id: int, hold_key: str, now: datetime) -> Appointment | None:
    """The caller's hold if it is still held and has not run out."""
    hold = find_own_hold(hold_id, hold_key)
    if hold is None or hold.status != AppointmentStatus.HELD or hold.hold_expires_at <= now:
        return None
    return hold


def hold_seconds_left(hold: Appointment, now: datetime) -> int:
    return max(0, int((hold.hold_expires_at - now).total_seconds()))


def release_hold(hold: Appointment) -> None:
    """Give a held time back for good (the patient chose another, or screening stopped it)."""
    if hold.status in HOLD_STATUSES:
        hold.status = AppointmentStatus.EXPIRED
        hold.hold_key = None
        hold.client_digest = hold.email_digest = None
        db.session.flush()


def replace_hold(previous: Appointment, successor: Appointment) -> None:
    """The patient chose again: the new hold carries the email given for the previous one (the
    details step may not come again), and the previous is given back."""
    successor.email_digest = previous.email_digest
    release_hold(previous)


def release_other_holds(patient_id: int, keep_id: int) -> None:
    """A patient has at most one live hold: taking a new one gives the others back."""
    db.session.execute(
        update(Appointment)
        .where(
            Appointment.patient_id == patient_id,
            Appointment.status == AppointmentStatus.HELD,
            Appointment.id != keep_id,
        )
        .values(status=AppointmentStatus.EXPIRED, hold_key=None, **NO_HOLDER)
        .execution_options(synchronize_session=False)
    )


def confirm_hold(
    hold: Appointment,
    now: datetime,
    status: AppointmentStatus = AppointmentStatus.CONFIRMED,
) -> Appointment:
    """Turn a hold into a booking. A hold that ran out still books if nobody took the time."""
    if hold.status not in HOLD_STATUSES:
        raise HoldGone("This booking has already been completed.")
    try:
        # Change inside the savepoint: begin_nested() first flushes what is pending, and a refused
        # UPDATE flushed there fails outside the savepoint, taking the whole transaction with it.
        with db.session.begin_nested():
            hold.status = status
            hold.hold_expires_at = None
            hold.hold_key = None
            hold.client_digest = hold.email_digest = None
    except IntegrityError as error:
        if not is_overlap(error):
            raise
        db.session.refresh(hold)
        raise SlotTaken(nearest_free_slots(hold.service, hold.starts_at, now)) from error
    booking_made.send(hold)
    return hold

"""The front desk's calendar: visits, holds and time off laid out on a grid of 15-minute rows.

Rows are local wall-clock times in the clinic's zone, so 9:00 is on the same row on every day
of a week, daylight-saving change or not. Each column is one practitioner on one day: the day
view has a column per practitioner, the week view a column per day of one practitioner.
Screening shows as its tier only: the front desk never sees clinical answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from booking import formatting
from booking.clinic.service import get_clinic
from booking.extensions import db
from booking.intake.models import Intake
from booking.intake.screening import Tier
from booking.intake.service import check_in_missing, check_ins_done
from booking.scheduling.models import (
    ACTIVE_STATUSES,
    BOOKED_STATUSES,
    Appointment,
    AppointmentStatus,
    ClinicClosure,
    Practitioner,
    TimeOff,
    VisitKind,
    WorkingHours,
)
from booking.scheduling.service import local_day_bounds

ROW_MINUTES = 15
DEFAULT_FIRST_MINUTE = 8 * 60
DEFAULT_LAST_MINUTE = 18 * 60
DAY_MINUTES = 24 * 60

# A visit the desk may drag to another time: booked and still to happen.
MOVABLE_STATUSES = BOOKED_STATUSES


@dataclass(frozen=True)
class Row:
    """One 15-minute row; `label` is set on the hour and half hour."""

    line: int
    wall: time
    label: str


@dataclass(frozen=True)
class Cell:
    """An empty place in a column: a drop target for drag-to-move, shaded outside hours."""

    line: int
    wall: time
    working: bool


@dataclass(frozen=True)
class Block:
    """A visit, a hold or time off, placed by its first grid line and number of rows."""

    kind: str  # "visit" | "hold" | "time_off"
    line: int
    span: int
    starts_at: datetime
    ends_at: datetime
    title: str
    detail: str = ""
    status: str = ""
    status_label: str = ""
    tier: Tier | None = None
    unscreened: bool = False  # a first visit with no questionnaire yet
    no_check_in: bool = False  # a follow-up inside its check-in window (or past it) with none
    tier_label: str | None = None
    appointment_id: int | None = None
    time_off_id: int | None = None
    movable: bool = False


@dataclass
class Column:
    practitioner: Practitioner
    day: date
    heading: str
    subheading: str
    cells: list[Cell] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    closed_reason: str | None = None


@dataclass
class Board:
    rows: list[Row]
    columns: list[Column]
    zone: ZoneInfo

    @property
    def row_count(self) -> int:
        return len(self.rows)


# --- Building a board ----------------------------------------------------------------------


def day_board(day: date, now: datetime) -> Board:
    """Every active practitioner (and anyone with visits that day) on one day."""
    practitioners = _practitioners_for(day, day)
    return build_board([(p, day) for p in practitioners], now, heading="practitioner")


def week_board(practitioner: Practitioner, first_day: date, now: datetime) -> Board:
    """One practitioner over the seven days from `first_day`."""
    days = [first_day + timedelta(days=i) for i in range(7)]
    return build_board([(practitioner, d) for d in days], now, heading="day")


def week_start(day: date) -> date:
    """The Monday of the week holding `day`."""
    return day - timedelta(days=day.weekday())


def build_board(
    columns: Sequence[tuple[Practitioner, date]], now: datetime, heading: str
) -> Board:
    """Load what the columns hold in a few queries and lay it out on one shared grid."""
    zone = get_clinic().zone
    if not columns:
        return Board(rows=_rows(DEFAULT_FIRST_MINUTE, DEFAULT_LAST_MINUTE), columns=[], zone=zone)
    ids = sorted({p.id for p, _ in columns})
    first_day = min(d for _, d in columns)
    last_day = max(d for _, d in columns)
    window = local_day_bounds(first_day, last_day, zone)
    appointments = _appointments(ids, window.start, window.end, now)
    time_off = _time_off(ids, window.start, window.end)
    hours = _hours(ids)
    closures = _closures(first_day, last_day)
    tiers = latest_tiers([a.id for a in appointments])
    checked_in = check_ins_done(a for a in appointments if a.service.kind == VisitKind.FOLLOW_UP)

    laid_out: list[tuple[Column, list, list[tuple[time, time]]]] = []
    extent: list[int] = []
    for practitioner, day in columns:
        bounds = local_day_bounds(day, day, zone)
        items = [
            ("appointment", a.starts_at, a.ends_at, a)
            for a in appointments
            if a.practitioner_id == practitioner.id and _overlaps(a.starts_at, a.ends_at, bounds)
        ] + [
            ("time_off", t.starts_at, t.ends_at, t)
            for t in time_off
            if t.practitioner_id == practitioner.id and _overlaps(t.starts_at, t.ends_at, bounds)
        ]
        working = [
            (h.starts, h.ends)
            for h in hours.get(practitioner.id, [])
            if h.weekday == day.weekday()
        ]
        extent += [_minute(t) for interval in working for t in interval]
        for _, start, end, _ in items:
            extent += _clip(start, end, day, zone)
        column = _column(practitioner, day, heading, bool(working), closures.get(day))
        laid_out.append((column, items, working))

    first, last = _grid_range(extent)
    rows = _rows(first, last)
    for column, items, working in laid_out:
        column.cells = [
            Cell(line=row.line, wall=row.wall, working=_within(row.wall, working))
            for row in rows
        ]
        column.blocks = sorted(
            (_block(kind, start, end, item, column.day, zone, first, last, tiers, checked_in, now)
             for kind, start, end, item in items),
            key=lambda b: (b.kind != "time_off", b.line),
        )
    return Board(rows=rows, columns=[c for c, _, _ in laid_out], zone=zone)


def _column(
    practitioner: Practitioner, day: date, heading: str, working: bool, closed: str | None
) -> Column:
    by_practitioner = heading == "practitioner"
    parts = [formatting.weekday(day)] if by_practitioner else []
    if not working:
        parts.append("not working")
    return Column(
        practitioner=practitioner,
        day=day,
        heading=practitioner.name if by_practitioner else formatting.day_short(day),
        subheading=" · ".join(parts).capitalize(),
        closed_reason=closed,
    )


def latest_tiers(appointment_ids: Iterable[int]) -> dict[int, Tier]:
    """The screening tier of each appointment's latest intake; only the tier is read."""
    ids = list(appointment_ids)
    if not ids:
        return {}
    tiers: dict[int, Tier] = {}
    for appointment_id, tier in db.session.execute(
        select(Intake.appointment_id, Intake.tier)
        .where(Intake.appointment_id.in_(ids))
        .order_by(Intake.submitted_at, Intake.id)
    ):
        tiers[appointment_id] = Tier(tier)  # later intakes overwrite earlier ones
    return tiers


# --- Queries -------------------------------------------------------------------------------


def _practitioners_for(first_day: date, last_day: date) -> list[Practitioner]:
    zone = get_clinic().zone
    window = local_day_bounds(first_day, last_day, zone)
    busy = select(Appointment.practitioner_id).where(
        Appointment.status.in_(ACTIVE_STATUSES),
        Appointment.starts_at < window.end,
        Appointment.ends_at > window.start,
    )
    return list(
        db.session.scalars(
            select(Practitioner)
            .where(or_(Practitioner.active.is_(True), Practitioner.id.in_(busy)))
            .order_by(Practitioner.name, Practitioner.id)
        )
    )


def _appointments(ids: list[int], start: datetime, end: datetime, now: datetime):
    return list(
        db.session.scalars(
            select(Appointment)
            .options(selectinload(Appointment.patient), selectinload(Appointment.service))
            .where(
                Appointment.practitioner_id.in_(ids),
                Appointment.status.in_(ACTIVE_STATUSES),
                # A hold that ran out frees its time: it is no longer shown.
                or_(
                    Appointment.status != AppointmentStatus.HELD,
                    Appointment.hold_expires_at > now,
                ),
                Appointment.starts_at < end,
                Appointment.ends_at > start,
            )
            .order_by(Appointment.starts_at)
        )
    )


def _time_off(ids: list[int], start: datetime, end: datetime) -> list[TimeOff]:
    return list(
        db.session.scalars(
            select(TimeOff)
            .where(
                TimeOff.practitioner_id.in_(ids),
                and_(TimeOff.starts_at < end, TimeOff.ends_at > start),
            )
            .order_by(TimeOff.starts_at)
        )
    )


def _hours(ids: list[int]) -> dict[int, list[WorkingHours]]:
    found: dict[int, list[WorkingHours]] = {}
    for row in db.session.scalars(
        select(WorkingHours).where(WorkingHours.practitioner_id.in_(ids))
    ):
        found.setdefault(row.practitioner_id, []).append(row)
    return found


def _closures(first_day: date, last_day: date) -> dict[date, str]:
    closed: dict[date, str] = {}
    for closure in db.session.scalars(
        select(ClinicClosure).where(
            ClinicClosure.first_day <= last_day, ClinicClosure.last_day >= first_day
        )
    ):
        day = max(closure.first_day, first_day)
        while day <= min(closure.last_day, last_day):
            closed[day] = closure.reason or "Clinic closed"
            day += timedelta(days=1)
    return closed


# --- Layout arithmetic ---------------------------------------------------------------------


def _overlaps(start: datetime, end: datetime, bounds) -> bool:
    return start < bounds.end and end > bounds.start


def _minute(wall: time) -> int:
    return wall.hour * 60 + wall.minute


def _clip(start: datetime, end: datetime, day: date, zone: ZoneInfo) -> tuple[int, int]:
    """Local wall-clock minutes (first, last) of an interval, clipped to `day`."""
    local_start = start.astimezone(zone)
    local_end = end.astimezone(zone)
    first = 0 if local_start.date() < day else _minute(local_start.time())
    last = DAY_MINUTES if local_end.date() > day else _minute(local_end.time())
    return first, max(last, first + 1)


def _grid_range(minutes: list[int]) -> tuple[int, int]:
    """From the earliest to the latest minute anything needs, whole hours, at least 8–18."""
    first = min([DEFAULT_FIRST_MINUTE, *minutes])
    last = max([DEFAULT_LAST_MINUTE, *minutes])
    first = (first // 60) * 60
    last = min(DAY_MINUTES, -(-last // 60) * 60)
    return first, last


def _rows(first: int, last: int) -> list[Row]:
    rows = []
    for index, minute in enumerate(range(first, last, ROW_MINUTES)):
        wall = time(minute // 60, minute % 60)
        label = formatting.clock(wall) if minute % 30 == 0 else ""
        rows.append(Row(line=index + 1, wall=wall, label=label))
    return rows


def _within(wall: time, intervals: list[tuple[time, time]]) -> bool:
    return any(start <= wall < end for start, end in intervals)


def visit_screening(
    appointment: Appointment, tier: Tier | None, checked_in: bool, now: datetime
) -> tuple[Tier | None, bool]:
    """What the desk sees of a visit's screening: the tier, and whether "No check-in" shows.
    A follow-up's tier is its check-in's for the current window (`check_ins_done`): after a
    move of more than 72 hours the earlier check-in no longer speaks for the visit."""
    if appointment.service.kind != VisitKind.FOLLOW_UP:
        return tier, False
    missing = appointment.status != AppointmentStatus.HELD and check_in_missing(
        appointment, now, checked_in
    )
    return (tier if checked_in else None), missing


def _block(kind, start, end, item, day, zone, first, last, tiers, checked_in, now) -> Block:
    begin, finish = _clip(start, end, day, zone)
    begin, finish = max(begin, first), min(finish, last)
    line = (begin - first) // ROW_MINUTES + 1
    span = max(1, -(-(finish - first) // ROW_MINUTES) + 1 - line)
    if kind == "time_off":
        return Block(
            kind="time_off", line=line, span=span, starts_at=start, ends_at=end,
            title=item.reason or "Time off", status_label="Time off", time_off_id=item.id,
        )
    appointment: Appointment = item
    tier, no_check_in = visit_screening(
        appointment, tiers.get(appointment.id), appointment.id in checked_in, now
    )
    held = appointment.status == AppointmentStatus.HELD
    patient = appointment.patient
    return Block(
        kind="hold" if held else "visit",
        line=line,
        span=span,
        starts_at=start,
        ends_at=end,
        title=patient.full_name if patient else "Held online",
        detail=appointment.service.name,
        status=appointment.status.value,
        status_label=appointment.status.label,
        tier=tier,
        tier_label=tier.label if tier else None,
        unscreened=tier is None and not held and appointment.service.kind == VisitKind.FIRST_VISIT,
        no_check_in=no_check_in,
        appointment_id=appointment.id,
        movable=appointment.status in MOVABLE_STATUSES,
    )

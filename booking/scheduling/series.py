"""A series of visits: every N weeks at the same local time with one practitioner, K visits.

Each occurrence is checked with the availability engine (hours, closures, time off, other
visits, notice and horizon); one that cannot be had comes with the nearest free times of its
week with the same practitioner. Booking takes every visit in one savepoint: the database's
no-overlap rule decides, and a refusal of any visit leaves none booked. Services flush; the
caller commits.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from booking.audit.service import record_audit
from booking.clinic.service import get_clinic
from booking.extensions import db
from booking.scheduling.availability import Slot
from booking.scheduling.models import (
    Appointment,
    AppointmentStatus,
    Service,
    VisitSeries,
)
from booking.scheduling.service import (
    SchedulingError,
    expire_stale_holds,
    find_free_slots,
    is_overlap,
    place_visit,
)
from booking.scheduling.signals import series_booked

EVERY_WEEKS = range(1, 5)  # weekly up to every four weeks
VISITS = range(2, 13)  # a series is 2 to 12 visits
WEEK_ALTERNATIVES = 4


@dataclass(frozen=True)
class Occurrence:
    """One visit of a series as asked for: free, or the nearest free times of its week."""

    start: datetime  # aware UTC
    end: datetime
    free: bool
    alternatives: tuple[Slot, ...] = ()

    @property
    def nearest(self) -> Slot | None:
        """The alternative closest to the time asked for (the earlier of two as close)."""
        return min(
            self.alternatives, key=lambda s: (abs(s.start - self.start), s.start), default=None
        )


class SeriesNotFree(SchedulingError):
    """Some visits of the series cannot be had (now); nothing was booked."""

    def __init__(self, occurrences: list[Occurrence]) -> None:
        super().__init__("Some visits of the series are not free.")
        self.occurrences = occurrences

    @property
    def taken(self) -> list[Occurrence]:
        return [occurrence for occurrence in self.occurrences if not occurrence.free]


class SeriesOverlaps(SchedulingError):
    """Two visits asked for in one series overlap each other."""


def series_starts(
    first_day: date, wall: time, every_weeks: int, count: int, zone: ZoneInfo
) -> list[datetime]:
    """The same local wall-clock time every N weeks, as UTC: daylight saving keeps 10:00."""
    return [
        datetime.combine(first_day + timedelta(weeks=every_weeks * n), wall, zone).astimezone(UTC)
        for n in range(count)
    ]


def week_of(day: date) -> tuple[date, date]:
    """Monday to Sunday of the day's week."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def check_starts(
    service: Service, practitioner_id: int, starts: Sequence[datetime], now: datetime
) -> list[Occurrence]:
    """Each wanted start, free or not, with the practitioner's nearest free times of its week."""
    if not starts:
        return []
    zone = get_clinic().zone
    days = [start.astimezone(zone).date() for start in starts]
    slots = find_free_slots(
        service, week_of(min(days))[0], week_of(max(days))[1], now, practitioner_id
    )
    free = {slot.start: slot for slot in slots}
    length = timedelta(minutes=service.minutes)
    return [
        Occurrence(start, start + length, True)
        if start in free
        else Occurrence(start, start + length, False, _nearest_in_week(slots, start, day))
        for start, day in zip(starts, days, strict=True)
    ]


def preview_series(
    service: Service,
    practitioner_id: int,
    first_day: date,
    wall: time,
    every_weeks: int,
    count: int,
    now: datetime,
) -> list[Occurrence]:
    """Every occurrence of the series, checked; books nothing."""
    starts = series_starts(first_day, wall, every_weeks, count, get_clinic().zone)
    return check_starts(service, practitioner_id, starts, now)


def _nearest_in_week(slots: list[Slot], wanted: datetime, day: date) -> tuple[Slot, ...]:
    zone = get_clinic().zone
    monday, sunday = week_of(day)
    week = [s for s in slots if monday <= s.start.astimezone(zone).date() <= sunday]
    nearest = sorted(week, key=lambda s: (abs(s.start - wanted), s.start))[:WEEK_ALTERNATIVES]
    return tuple(sorted(nearest, key=lambda s: s.start))


def book_series(
    patient_id: int,
    service: Service,
    practitioner_id: int,
    starts: Sequence[datetime],
    every_weeks: int,
    now: datetime,
    source: str = "online",
) -> VisitSeries:
    """Book every start as a confirmed visit, or none: raises SeriesNotFree with the visits
    checked afresh (and their alternatives) when any cannot be had."""
    starts = sorted(set(starts))
    span = timedelta(
        minutes=service.minutes + service.buffer_before_minutes + service.buffer_after_minutes
    )
    if any(later - earlier < span for earlier, later in itertools.pairwise(starts)):
        raise SeriesOverlaps("Two visits of the series overlap.")
    checked = check_starts(service, practitioner_id, starts, now)
    if not all(occurrence.free for occurrence in checked):
        raise SeriesNotFree(checked)
    series = VisitSeries(
        patient_id=patient_id, practitioner_id=practitioner_id, service_id=service.id,
        every_weeks=every_weeks, visit_count=len(starts), source=source,
    )
    visits = [_new_visit(patient_id, service, practitioner_id, start, source) for start in starts]
    if not _inserted_together(series, visits, now):
        raise SeriesNotFree(check_starts(service, practitioner_id, starts, now))
    for visit in visits:
        record_audit(
            "appointment.booked", "appointment", visit.id, patient_id=patient_id,
            practitioner_id=practitioner_id, source=source, series_id=series.id,
        )
    series_booked.send(series, visits=visits)
    return series


def _new_visit(
    patient_id: int, service: Service, practitioner_id: int, start: datetime, source: str
) -> Appointment:
    visit = Appointment(
        practitioner_id=practitioner_id, service_id=service.id, patient_id=patient_id,
        status=AppointmentStatus.CONFIRMED, source=source,
    )
    place_visit(visit, service, start)
    return visit


def _inserted_together(series: VisitSeries, visits: list[Appointment], now: datetime) -> bool:
    """All visits in one savepoint; False when the no-overlap rule refuses any (a race lost)."""
    expire_stale_holds(series.practitioner_id, now)
    try:
        with db.session.begin_nested():
            series.visits = visits
            db.session.add(series)
            db.session.flush()
    except IntegrityError as error:
        if not is_overlap(error):
            raise
        return False
    return True

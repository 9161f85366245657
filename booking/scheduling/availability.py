"""Free appointment slots from working hours, busy time and booking policy.

Pure: no Flask, no database. Every instant in the API is an aware datetime; the grid is walked
in real elapsed time (UTC arithmetic), so daylight-saving days neither lose nor duplicate a slot.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Interval:
    """Half-open [start, end) between aware datetimes, compared as instants."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class WorkingHours:
    """Local wall-clock hours in the clinic zone; weekday 0 = Monday ... 6 = Sunday.

    The interval lies within one local day: an end at or before the start offers nothing.
    """

    weekday: int
    start: time
    end: time


@dataclass(frozen=True)
class Policy:
    """Booking window: starts in [now + min_notice, now + horizon] on a slot_step grid."""

    min_notice: timedelta
    horizon: timedelta
    slot_step: timedelta


@dataclass(frozen=True)
class ServiceShape:
    """Visit length and the buffers it takes from the practitioner, in minutes."""

    minutes: int
    buffer_before: int = 0
    buffer_after: int = 0


@dataclass(frozen=True)
class PractitionerSchedule:
    """One practitioner's weekly hours and already-occupied time (unsorted, may overlap)."""

    practitioner_id: int
    hours: Sequence[WorkingHours]
    busy: Sequence[Interval]


@dataclass(frozen=True, order=True)
class Slot:
    """A bookable visit: aware UTC start and end (end = start + service minutes)."""

    start: datetime
    end: datetime
    practitioner_id: int


# Internally instants are integer microseconds since the Unix epoch: exact, real elapsed
# time, and several times faster to add and compare than datetimes.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class _MergedBusy:
    """Disjoint, sorted busy intervals (microseconds) as parallel lists for bisecting ends."""

    starts: list[int]
    ends: list[int]


@dataclass(frozen=True)
class _Rules:
    """Service shape and policy in microseconds, computed once per call."""

    duration: int
    before: int
    after: int
    step: int
    earliest: int
    latest: int


def occupied_interval(start: datetime, shape: ServiceShape) -> Interval:
    """The time a visit starting at `start` takes from its practitioner: buffers included.

    In UTC: adding minutes to a zone-aware datetime would be wall-clock arithmetic in Python.
    """
    start = start.astimezone(UTC)
    return Interval(
        start - timedelta(minutes=shape.buffer_before),
        start + timedelta(minutes=shape.minutes + shape.buffer_after),
    )


def free_slots(
    schedules: Sequence[PractitionerSchedule],
    shape: ServiceShape,
    policy: Policy,
    zone: ZoneInfo,
    first_day: date,
    last_day: date,
    now: datetime,
    closed_days: Collection[date] = (),
) -> list[Slot]:
    """Every free slot of every practitioner, sorted by (start, practitioner_id)."""
    _validate(shape, policy, now)
    rules = _rules(shape, policy, now)
    windows = _WindowCache(zone)
    found: list[tuple[int, int]] = []
    for schedule in schedules:
        busy = _merge(schedule.busy)
        # A set: overlapping working hours must not offer one start twice.
        starts: set[int] = set()
        for window in _working_windows(schedule.hours, first_day, last_day, closed_days, windows):
            for run in _free_runs(window, rules, busy):
                starts.update(run)
        found.extend((start, schedule.practitioner_id) for start in starts)
    return _to_slots(sorted(found), timedelta(minutes=shape.minutes))


def _validate(shape: ServiceShape, policy: Policy, now: datetime) -> None:
    """Reject inputs that would make the grid walk meaningless or endless."""
    if shape.minutes <= 0:
        raise ValueError("service minutes must be positive")
    if shape.buffer_before < 0 or shape.buffer_after < 0:
        raise ValueError("buffers must not be negative")
    if policy.slot_step < _MICROSECOND:
        raise ValueError("slot_step must be positive")
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")


def _micros(moment: datetime) -> int:
    """An aware instant as microseconds since the epoch (real time, whatever its zone)."""
    return (moment - _EPOCH) // _MICROSECOND


def _length(duration: timedelta) -> int:
    """A duration in microseconds."""
    return duration // _MICROSECOND


def _instant(micros: int) -> datetime:
    """Microseconds since the epoch as an aware UTC datetime."""
    return _EPOCH + timedelta(microseconds=micros)


def _rules(shape: ServiceShape, policy: Policy, now: datetime) -> _Rules:
    """The shape and the policy window in microseconds; the past is never in the window."""
    minute = _length(timedelta(minutes=1))
    start = _micros(now)
    return _Rules(
        duration=shape.minutes * minute,
        before=shape.buffer_before * minute,
        after=shape.buffer_after * minute,
        step=_length(policy.slot_step),
        earliest=start + max(_length(policy.min_notice), 0),
        latest=start + _length(policy.horizon),
    )


def _to_slots(found: Iterable[tuple[int, int]], duration: timedelta) -> list[Slot]:
    """Sorted (start, id) pairs as Slots with aware UTC datetimes.

    Practitioners share most starts, and building a datetime costs far more than a dict
    look-up, so each distinct start is built once.
    """
    times: dict[int, tuple[datetime, datetime]] = {}
    slots: list[Slot] = []
    for start_micros, pid in found:
        if start_micros not in times:
            start = _instant(start_micros)
            times[start_micros] = (start, start + duration)
        slots.append(Slot(*times[start_micros], pid))
    return slots


def _merge(busy: Iterable[Interval]) -> _MergedBusy:
    """Sort busy intervals and merge overlapping or touching ones; empty ones are dropped."""
    starts: list[int] = []
    ends: list[int] = []
    for start, end in sorted((_micros(b.start), _micros(b.end)) for b in busy):
        if end <= start:
            continue
        if ends and start <= ends[-1]:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return _MergedBusy(starts, ends)


def _days(first_day: date, last_day: date) -> Iterator[date]:
    """Local dates from first_day to last_day, both inclusive."""
    for offset in range((last_day - first_day).days + 1):
        yield first_day + timedelta(days=offset)


def _working_windows(
    hours: Sequence[WorkingHours],
    first_day: date,
    last_day: date,
    closed_days: Collection[date],
    windows: _WindowCache,
) -> Iterator[tuple[int, int]]:
    """The practitioner's working intervals in microseconds, day by day, closures skipped."""
    for day in _days(first_day, last_day):
        if day in closed_days:
            continue
        weekday = day.weekday()
        for entry in hours:
            if entry.weekday == weekday:
                window = windows.get(day, entry.start, entry.end)
                if window is not None:
                    yield window


class _WindowCache:
    """Local (day, start, end) -> real interval; practitioners usually share their hours."""

    def __init__(self, zone: tzinfo) -> None:
        self._zone = zone
        self._cache: dict[tuple[date, time, time], tuple[int, int] | None] = {}

    def get(self, day: date, start: time, end: time) -> tuple[int, int] | None:
        """Local [start, end) on `day` in microseconds, or None when it is empty."""
        key = (day, start, end)
        if key not in self._cache:
            self._cache[key] = self._convert(day, start, end)
        return self._cache[key]

    def _convert(self, day: date, start: time, end: time) -> tuple[int, int] | None:
        """Convert both ends; an interval that is empty in real time yields None."""
        real_start = _micros(_local_to_utc(datetime.combine(day, start), self._zone))
        real_end = _micros(_local_to_utc(datetime.combine(day, end), self._zone))
        return (real_start, real_end) if real_start < real_end else None


def _local_to_utc(naive: datetime, zone: tzinfo) -> datetime:
    """A local wall time as a UTC instant.

    Ambiguous times (fall back) take the first occurrence (fold=0); non-existent times
    (spring forward) move forward to the first existing instant, the end of the gap.
    """
    instant = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == naive:
        return instant
    # In a gap, fold=1 maps with the offset after the transition, giving an instant before
    # it, while fold=0 maps with the offset before, giving an instant after it.
    before = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return _transition_between(min(before, instant), max(before, instant), zone)


def _transition_between(before: datetime, after: datetime, zone: tzinfo) -> datetime:
    """The first instant in (before, after] with after's UTC offset (to the second)."""
    target = after.astimezone(zone).utcoffset()
    low, high = math.floor(before.timestamp()), math.ceil(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == target:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _grid_ceil(origin: int, target: int, step: int) -> int:
    """The first grid point origin + k * step (k >= 0) at or after target."""
    if target <= origin:
        return origin
    return origin - ((origin - target) // step) * step


def _free_runs(window: tuple[int, int], rules: _Rules, busy: _MergedBusy) -> Iterator[range]:
    """Runs of grid starts in `window`, inside the policy window, whose occupied time is free.

    One sweep over the merged busy intervals from a bisected pointer: a start s clashes with
    busy [b0, b1) exactly when b0 - duration - after < s < b1 + before, so the clear grid
    points before each busy interval form one range and the walk then jumps past it.
    """
    origin, window_end = window
    last = min(window_end - rules.duration, rules.latest)
    start = _grid_ceil(origin, rules.earliest, rules.step)
    index = bisect_right(busy.ends, start - rules.before)
    while start <= last:
        if index == len(busy.ends):
            yield range(start, last + 1, rules.step)
            return
        clear_until = min(busy.starts[index] - rules.duration - rules.after, last)
        if clear_until >= start:
            yield range(start, clear_until + 1, rules.step)
        resume = busy.ends[index] + rules.before
        start = max(start, _grid_ceil(origin, resume, rules.step))
        index += 1

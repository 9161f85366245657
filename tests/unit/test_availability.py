"""Free-slot computation: grid, buffers, busy time, policy, closures, daylight-saving days."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from booking.scheduling.availability import (
    Interval,
    Policy,
    PractitionerSchedule,
    ServiceShape,
    Slot,
    WorkingHours,
    free_slots,
    occupied_interval,
)

NY = ZoneInfo("America/New_York")
MONDAY = date(2026, 6, 1)
TUESDAY = date(2026, 6, 2)
SUNDAY = date(2026, 6, 7)
SPRING_FORWARD = date(2026, 3, 8)
FALL_BACK = date(2026, 11, 1)
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
HALF_HOUR = ServiceShape(minutes=30)
OPEN_POLICY = Policy(
    min_notice=timedelta(0), horizon=timedelta(days=400), slot_step=timedelta(minutes=30)
)


def at(day: date, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    """An aware New York wall time on `day`."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NY, fold=fold)


def hours(day: date, *spans: tuple[time, time]) -> list[WorkingHours]:
    """Working hours on the weekday of `day`."""
    return [WorkingHours(day.weekday(), start, end) for start, end in spans]


def busy(day: date, start: str, end: str) -> Interval:
    """A busy interval between two 'HH:MM' New York wall times on `day`."""
    return Interval(at(day, *_hm(start)), at(day, *_hm(end)))


def _hm(text: str) -> tuple[int, int]:
    hour, minute = text.split(":")
    return int(hour), int(minute)


def compute(
    day: date,
    spans: Sequence[tuple[time, time]] = ((time(9), time(12)),),
    busy_times: Sequence[Interval] = (),
    shape: ServiceShape = HALF_HOUR,
    policy: Policy = OPEN_POLICY,
    now: datetime = LONG_AGO,
    last_day: date | None = None,
    closed_days: Sequence[date] = (),
) -> list[Slot]:
    """Free slots of one practitioner (id 1) for one day unless last_day says otherwise."""
    schedule = PractitionerSchedule(1, hours(day, *spans), list(busy_times))
    return free_slots(
        [schedule], shape, policy, NY, day, last_day or day, now, closed_days=closed_days
    )


def local_times(slots: Sequence[Slot]) -> list[str]:
    """Slot starts as 'HH:MM' New York wall times."""
    return [slot.start.astimezone(NY).strftime("%H:%M") for slot in slots]


def by_practitioner(slots: Sequence[Slot]) -> list[tuple[str, int]]:
    """Slot starts as ('HH:MM' New York wall time, practitioner id)."""
    return [(slot.start.astimezone(NY).strftime("%H:%M"), slot.practitioner_id) for slot in slots]


def local_stamps(slots: Sequence[Slot]) -> list[str]:
    """Slot starts as ISO New York times with their UTC offset."""
    return [slot.start.astimezone(NY).isoformat(timespec="minutes") for slot in slots]


# --- occupied_interval ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "expected_start", "expected_end"),
    [
        (ServiceShape(30), (10, 0), (10, 30)),
        (ServiceShape(60, buffer_before=10), (9, 50), (11, 0)),
        (ServiceShape(45, buffer_after=15), (10, 0), (11, 0)),
        (ServiceShape(60, buffer_before=5, buffer_after=20), (9, 55), (11, 20)),
    ],
)
def test_occupied_interval_includes_buffers(
    shape: ServiceShape, expected_start: tuple[int, int], expected_end: tuple[int, int]
) -> None:
    start = at(MONDAY, 10)
    assert occupied_interval(start, shape) == Interval(
        at(MONDAY, *expected_start), at(MONDAY, *expected_end)
    )


def test_occupied_interval_uses_real_minutes_across_fall_back() -> None:
    occupied = occupied_interval(at(FALL_BACK, 1, 30), ServiceShape(60, buffer_after=30))
    assert occupied.end - occupied.start == timedelta(minutes=90)
    assert occupied.end.astimezone(NY).isoformat() == "2026-11-01T02:00:00-05:00"


# --- the basic grid ------------------------------------------------------------------


def test_basic_day_grid() -> None:
    slots = compute(MONDAY)
    assert local_times(slots) == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    assert all(slot.practitioner_id == 1 for slot in slots)


def test_slots_are_utc_and_last_the_service_minutes() -> None:
    slots = compute(MONDAY, shape=ServiceShape(45))
    assert local_times(slots) == ["09:00", "09:30", "10:00", "10:30", "11:00"]
    for slot in slots:
        assert slot.start.utcoffset() == timedelta(0)
        assert slot.end.utcoffset() == timedelta(0)
        assert slot.end - slot.start == timedelta(minutes=45)
    assert slots[0].start == datetime(2026, 6, 1, 13, 0, tzinfo=UTC)


def test_visit_must_fit_inside_working_hours() -> None:
    slots = compute(MONDAY, spans=[(time(9), time(11))], shape=ServiceShape(90))
    assert local_times(slots) == ["09:00", "09:30"]


def test_visit_longer_than_working_hours_gives_nothing() -> None:
    assert compute(MONDAY, spans=[(time(9), time(10))], shape=ServiceShape(90)) == []


def test_grid_starts_at_each_interval_start() -> None:
    slots = compute(MONDAY, spans=[(time(9, 15), time(10, 30))])
    assert local_times(slots) == ["09:15", "09:45"]


def test_finer_step_than_service() -> None:
    policy = Policy(timedelta(0), timedelta(days=400), timedelta(minutes=15))
    slots = compute(MONDAY, spans=[(time(9), time(10))], policy=policy)
    assert local_times(slots) == ["09:00", "09:15", "09:30"]


def test_several_intervals_per_day() -> None:
    spans = [(time(9), time(10, 30)), (time(14), time(15))]
    assert local_times(compute(MONDAY, spans=spans)) == [
        "09:00",
        "09:30",
        "10:00",
        "14:00",
        "14:30",
    ]


def test_intervals_given_out_of_order_still_sorted() -> None:
    spans = [(time(14), time(15)), (time(9), time(10))]
    assert local_times(compute(MONDAY, spans=spans)) == ["09:00", "09:30", "14:00", "14:30"]


def test_overlapping_hours_do_not_duplicate_slots() -> None:
    spans = [(time(9), time(11)), (time(10), time(12))]
    assert local_times(compute(MONDAY, spans=spans)) == [
        "09:00",
        "09:30",
        "10:00",
        "10:30",
        "11:00",
        "11:30",
    ]


def test_weekday_without_hours_gives_nothing() -> None:
    schedule = PractitionerSchedule(1, hours(MONDAY, (time(9), time(12))), [])
    assert free_slots([schedule], HALF_HOUR, OPEN_POLICY, NY, TUESDAY, TUESDAY, LONG_AGO) == []


def test_several_days_follow_the_weekday() -> None:
    schedule = PractitionerSchedule(
        1,
        [WorkingHours(0, time(9), time(10)), WorkingHours(2, time(16), time(17))],
        [],
    )
    slots = free_slots([schedule], HALF_HOUR, OPEN_POLICY, NY, MONDAY, SUNDAY, LONG_AGO)
    assert [slot.start.astimezone(NY).strftime("%a %H:%M") for slot in slots] == [
        "Mon 09:00",
        "Mon 09:30",
        "Wed 16:00",
        "Wed 16:30",
    ]


def test_empty_or_inverted_hours_give_nothing() -> None:
    assert compute(MONDAY, spans=[(time(10), time(10)), (time(12), time(11))]) == []


# --- busy time and buffers -----------------------------------------------------------


def test_busy_interval_removes_overlapping_slots() -> None:
    slots = compute(MONDAY, busy_times=[busy(MONDAY, "10:00", "11:00")])
    assert local_times(slots) == ["09:00", "09:30", "11:00", "11:30"]


def test_touching_busy_intervals_are_fine() -> None:
    slots = compute(
        MONDAY, busy_times=[busy(MONDAY, "09:00", "09:30"), busy(MONDAY, "10:30", "11:00")]
    )
    assert local_times(slots) == ["09:30", "10:00", "11:00", "11:30"]


def test_one_minute_of_overlap_blocks() -> None:
    slots = compute(
        MONDAY, busy_times=[busy(MONDAY, "09:00", "09:31"), busy(MONDAY, "10:59", "11:30")]
    )
    assert local_times(slots) == ["10:00", "11:30"]


def test_overlapping_and_unsorted_busy_intervals_are_merged() -> None:
    slots = compute(
        MONDAY,
        busy_times=[
            busy(MONDAY, "10:15", "10:45"),
            busy(MONDAY, "09:10", "09:20"),
            busy(MONDAY, "10:00", "10:30"),
            busy(MONDAY, "10:20", "10:40"),
            busy(MONDAY, "09:15", "09:25"),
        ],
    )
    assert local_times(slots) == ["09:30", "11:00", "11:30"]


def test_busy_interval_containing_the_whole_day() -> None:
    whole = Interval(at(MONDAY, 0), at(TUESDAY, 0))
    assert compute(MONDAY, busy_times=[whole]) == []


def test_empty_busy_interval_blocks_nothing() -> None:
    slots = compute(MONDAY, busy_times=[busy(MONDAY, "10:00", "10:00")])
    assert local_times(slots) == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]


def test_busy_time_of_another_practitioner_is_ignored() -> None:
    first = PractitionerSchedule(1, hours(MONDAY, (time(9), time(10))), [])
    second = PractitionerSchedule(
        2, hours(MONDAY, (time(9), time(10))), [busy(MONDAY, "09:00", "10:00")]
    )
    slots = free_slots([first, second], HALF_HOUR, OPEN_POLICY, NY, MONDAY, MONDAY, LONG_AGO)
    assert by_practitioner(slots) == [("09:00", 1), ("09:30", 1)]


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        # busy 10:00-10:30; hours 09:00-12:00; 30-minute visits.
        (ServiceShape(30), ["09:00", "09:30", "10:30", "11:00", "11:30"]),
        # 15 min before: 10:30 needs 10:15 free -> blocked; 11:00 needs 10:45 -> fine.
        (ServiceShape(30, buffer_before=15), ["09:00", "09:30", "11:00", "11:30"]),
        # 15 min after: 09:30 needs until 10:15 -> blocked.
        (ServiceShape(30, buffer_after=15), ["09:00", "10:30", "11:00", "11:30"]),
        (ServiceShape(30, buffer_before=15, buffer_after=15), ["09:00", "11:00", "11:30"]),
        # Buffers that end exactly at the busy start / start exactly at its end touch only.
        (ServiceShape(30, buffer_before=30, buffer_after=30), ["09:00", "11:00", "11:30"]),
        # One minute more on either side overlaps by one minute.
        (ServiceShape(30, buffer_before=31), ["09:00", "09:30", "11:30"]),
        (ServiceShape(30, buffer_after=31), ["10:30", "11:00", "11:30"]),
    ],
)
def test_buffers(shape: ServiceShape, expected: list[str]) -> None:
    slots = compute(MONDAY, busy_times=[busy(MONDAY, "10:00", "10:30")], shape=shape)
    assert local_times(slots) == expected


def test_buffers_may_extend_outside_working_hours() -> None:
    shape = ServiceShape(30, buffer_before=30, buffer_after=30)
    slots = compute(MONDAY, spans=[(time(9), time(10))], shape=shape)
    assert local_times(slots) == ["09:00", "09:30"]


def test_buffer_outside_hours_still_respects_busy_time() -> None:
    shape = ServiceShape(30, buffer_before=15, buffer_after=15)
    slots = compute(
        MONDAY,
        spans=[(time(9), time(10))],
        busy_times=[busy(MONDAY, "08:30", "08:50"), busy(MONDAY, "10:10", "10:30")],
        shape=shape,
    )
    assert local_times(slots) == []


def test_buffer_touching_busy_outside_hours_is_fine() -> None:
    shape = ServiceShape(30, buffer_before=15, buffer_after=15)
    slots = compute(
        MONDAY,
        spans=[(time(9), time(10))],
        busy_times=[busy(MONDAY, "08:30", "08:45"), busy(MONDAY, "10:15", "10:30")],
        shape=shape,
    )
    assert local_times(slots) == ["09:00", "09:30"]


def test_busy_interval_in_another_zone_is_compared_as_instant() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    # 2026-06-01 10:00 in New York (EDT, -04:00) is 23:00 the same day in Tokyo (+09:00).
    busy_tokyo = Interval(
        datetime(2026, 6, 1, 23, 0, tzinfo=tokyo), datetime(2026, 6, 1, 23, 30, tzinfo=tokyo)
    )
    slots = compute(MONDAY, busy_times=[busy_tokyo])
    assert local_times(slots) == ["09:00", "09:30", "10:30", "11:00", "11:30"]


def test_busy_interval_in_fixed_offset_is_compared_as_instant() -> None:
    plus_two = timezone(timedelta(hours=2))
    # 17:00-18:00 at +02:00 is 15:00-16:00 UTC, 11:00-12:00 in New York.
    busy_offset = Interval(
        datetime(2026, 6, 1, 17, tzinfo=plus_two), datetime(2026, 6, 1, 18, tzinfo=plus_two)
    )
    slots = compute(MONDAY, busy_times=[busy_offset])
    assert local_times(slots) == ["09:00", "09:30", "10:00", "10:30"]


def test_many_busy_intervals_leave_the_gaps() -> None:
    start = at(MONDAY, 9)
    # Busy every other half hour from 09:00: 09:00-09:30, 10:00-10:30, 11:00-11:30.
    taken = [
        Interval(start + timedelta(minutes=60 * i), start + timedelta(minutes=60 * i + 30))
        for i in range(3)
    ]
    assert local_times(compute(MONDAY, busy_times=taken)) == ["09:30", "10:30", "11:30"]


# --- policy: notice, horizon, the past -------------------------------------------------


def _notice_policy(notice_minutes: int) -> Policy:
    return Policy(timedelta(minutes=notice_minutes), timedelta(days=30), timedelta(minutes=30))


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # now + 2 h == 10:00 exactly: 10:00 is offered.
        (at(MONDAY, 8), ["10:00", "10:30", "11:00", "11:30"]),
        # now + 2 h == 10:01: 10:00 is one minute too early.
        (at(MONDAY, 8, 1), ["10:30", "11:00", "11:30"]),
        # now + 2 h == 09:59: 10:00 is offered, 09:30 is not.
        (at(MONDAY, 7, 59), ["10:00", "10:30", "11:00", "11:30"]),
    ],
)
def test_min_notice_boundary(now: datetime, expected: list[str]) -> None:
    assert local_times(compute(MONDAY, now=now, policy=_notice_policy(120))) == expected


def test_min_notice_counts_real_time_across_spring_forward() -> None:
    # Saturday 23:00 EST + 5 real hours = Sunday 05:00 EDT (04:00 EST does not exist).
    now = at(date(2026, 3, 7), 23)
    slots = compute(SPRING_FORWARD, spans=[(time(3), time(7))], now=now, policy=_notice_policy(300))
    assert local_times(slots) == ["05:00", "05:30", "06:00", "06:30"]


def test_past_times_are_never_offered() -> None:
    slots = compute(MONDAY, now=at(MONDAY, 10, 15), policy=_notice_policy(0))
    assert local_times(slots) == ["10:30", "11:00", "11:30"]


def test_negative_notice_does_not_offer_the_past() -> None:
    slots = compute(MONDAY, now=at(MONDAY, 10, 15), policy=_notice_policy(-120))
    assert local_times(slots) == ["10:30", "11:00", "11:30"]


def test_slot_starting_exactly_now_is_offered_without_notice() -> None:
    slots = compute(MONDAY, now=at(MONDAY, 11), policy=_notice_policy(0))
    assert local_times(slots) == ["11:00", "11:30"]


def test_whole_range_in_the_past_gives_nothing() -> None:
    assert compute(MONDAY, now=at(TUESDAY, 0), policy=_notice_policy(0)) == []


@pytest.mark.parametrize(
    ("horizon", "expected"),
    [
        # now 09:00 + 1 h == 10:00 exactly: 10:00 is still offered.
        (timedelta(hours=1), ["09:00", "09:30", "10:00"]),
        # one minute less: 10:00 is past the horizon.
        (timedelta(minutes=59), ["09:00", "09:30"]),
        (timedelta(0), ["09:00"]),
    ],
)
def test_horizon_boundary(horizon: timedelta, expected: list[str]) -> None:
    policy = Policy(timedelta(0), horizon, timedelta(minutes=30))
    assert local_times(compute(MONDAY, now=at(MONDAY, 9), policy=policy)) == expected


def test_horizon_cuts_later_days() -> None:
    policy = Policy(timedelta(0), timedelta(days=1), timedelta(minutes=30))
    slots = compute(
        MONDAY,
        spans=[(time(9), time(10))],
        now=at(MONDAY, 9, 30),
        policy=policy,
        last_day=SUNDAY,
    )
    # Hours are Mondays only: the next Monday is beyond a one-day horizon.
    assert local_stamps(slots) == ["2026-06-01T09:30-04:00"]


def test_notice_and_busy_together() -> None:
    slots = compute(
        MONDAY,
        busy_times=[busy(MONDAY, "10:30", "11:00")],
        now=at(MONDAY, 9),
        policy=_notice_policy(60),
    )
    assert local_times(slots) == ["10:00", "11:00", "11:30"]


# --- closures and ranges -------------------------------------------------------------


def test_closed_day_has_no_slots() -> None:
    schedule = PractitionerSchedule(
        1, [WorkingHours(day, time(9), time(10)) for day in range(7)], []
    )
    slots = free_slots(
        [schedule],
        HALF_HOUR,
        OPEN_POLICY,
        NY,
        MONDAY,
        date(2026, 6, 3),
        LONG_AGO,
        closed_days={TUESDAY},
    )
    assert local_stamps(slots) == [
        "2026-06-01T09:00-04:00",
        "2026-06-01T09:30-04:00",
        "2026-06-03T09:00-04:00",
        "2026-06-03T09:30-04:00",
    ]


def test_all_days_closed() -> None:
    assert compute(MONDAY, closed_days=[MONDAY]) == []


def test_first_day_after_last_day_gives_nothing() -> None:
    assert compute(TUESDAY, last_day=MONDAY) == []


def test_local_day_bounds_follow_the_clinic_zone() -> None:
    # 21:00-23:00 New York on Monday is already Tuesday in UTC; it still belongs to Monday.
    schedule = PractitionerSchedule(1, hours(MONDAY, (time(21), time(23))), [])
    slots = free_slots([schedule], HALF_HOUR, OPEN_POLICY, NY, MONDAY, MONDAY, LONG_AGO)
    assert local_stamps(slots) == [
        "2026-06-01T21:00-04:00",
        "2026-06-01T21:30-04:00",
        "2026-06-01T22:00-04:00",
        "2026-06-01T22:30-04:00",
    ]
    assert slots[-1].start == datetime(2026, 6, 2, 2, 30, tzinfo=UTC)


# --- several practitioners -----------------------------------------------------------


def test_several_practitioners_sorted_by_start_then_id() -> None:
    schedules = [
        PractitionerSchedule(7, hours(MONDAY, (time(9), time(10))), []),
        PractitionerSchedule(3, hours(MONDAY, (time(9, 30), time(10, 30))), []),
        PractitionerSchedule(
            5, hours(MONDAY, (time(9), time(10))), [busy(MONDAY, "09:00", "09:30")]
        ),
    ]
    slots = free_slots(schedules, HALF_HOUR, OPEN_POLICY, NY, MONDAY, MONDAY, LONG_AGO)
    assert by_practitioner(slots) == [
        ("09:00", 7),
        ("09:30", 3),
        ("09:30", 5),
        ("09:30", 7),
        ("10:00", 3),
    ]
    assert slots == sorted(slots)


def test_no_schedules_gives_nothing() -> None:
    assert free_slots([], HALF_HOUR, OPEN_POLICY, NY, MONDAY, SUNDAY, LONG_AGO) == []


# --- daylight saving (America/New_York, 2026) ----------------------------------------

NIGHT = [(time(0), time(4))]


@pytest.mark.parametrize(
    ("day", "count"),
    [
        (date(2026, 3, 1), 8),  # an ordinary Sunday: 4 real hours
        (SPRING_FORWARD, 6),  # 02:00-03:00 does not exist: 3 real hours
        (FALL_BACK, 10),  # 01:00-02:00 happens twice: 5 real hours
        (date(2026, 11, 8), 8),
    ],
)
def test_night_interval_counts_real_time(day: date, count: int) -> None:
    slots = compute(day, spans=NIGHT)
    assert len(slots) == count
    assert len({slot.start for slot in slots}) == count


def test_spring_forward_skips_the_missing_hour() -> None:
    slots = compute(SPRING_FORWARD, spans=NIGHT)
    assert local_stamps(slots) == [
        "2026-03-08T00:00-05:00",
        "2026-03-08T00:30-05:00",
        "2026-03-08T01:00-05:00",
        "2026-03-08T01:30-05:00",
        "2026-03-08T03:00-04:00",
        "2026-03-08T03:30-04:00",
    ]
    assert all(slot.end - slot.start == timedelta(minutes=30) for slot in slots)
    assert not any(slot.start.astimezone(NY).hour == 2 for slot in slots)


def test_spring_forward_interval_lasts_real_hours() -> None:
    slots = compute(SPRING_FORWARD, spans=[(time(0), time(5))], shape=ServiceShape(240))
    # 00:00-05:00 local is only 4 real hours: exactly one 240-minute visit fits.
    assert local_stamps(slots) == ["2026-03-08T00:00-05:00"]
    assert slots[0].end.astimezone(NY).isoformat() == "2026-03-08T05:00:00-04:00"


def test_visit_across_spring_forward_lasts_real_minutes() -> None:
    slots = compute(SPRING_FORWARD, spans=[(time(1), time(4))], shape=ServiceShape(60))
    assert local_stamps(slots) == [
        "2026-03-08T01:00-05:00",
        "2026-03-08T01:30-05:00",
        "2026-03-08T03:00-04:00",
    ]
    assert slots[1].end.astimezone(NY).isoformat() == "2026-03-08T03:30:00-04:00"
    assert all(slot.end - slot.start == timedelta(minutes=60) for slot in slots)


def test_hours_starting_in_the_gap_move_to_its_end() -> None:
    slots = compute(SPRING_FORWARD, spans=[(time(2, 30), time(5))])
    assert local_stamps(slots) == [
        "2026-03-08T03:00-04:00",
        "2026-03-08T03:30-04:00",
        "2026-03-08T04:00-04:00",
        "2026-03-08T04:30-04:00",
    ]


def test_hours_ending_in_the_gap_end_at_its_end() -> None:
    slots = compute(SPRING_FORWARD, spans=[(time(0), time(2, 30))])
    assert local_stamps(slots) == [
        "2026-03-08T00:00-05:00",
        "2026-03-08T00:30-05:00",
        "2026-03-08T01:00-05:00",
        "2026-03-08T01:30-05:00",
    ]


def test_hours_entirely_in_the_gap_give_nothing() -> None:
    assert compute(SPRING_FORWARD, spans=[(time(2), time(2, 45))]) == []


def test_half_hour_gap_in_another_zone() -> None:
    # Lord Howe Island springs forward 30 minutes: 02:00-02:30 local does not exist.
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    day = date(2026, 10, 4)
    schedule = PractitionerSchedule(1, hours(day, (time(2, 15), time(4))), [])
    slots = free_slots([schedule], HALF_HOUR, OPEN_POLICY, lord_howe, day, day, LONG_AGO)
    assert [slot.start.astimezone(lord_howe).isoformat(timespec="minutes") for slot in slots] == [
        "2026-10-04T02:30+11:00",
        "2026-10-04T03:00+11:00",
        "2026-10-04T03:30+11:00",
    ]


def test_fall_back_offers_both_occurrences_once() -> None:
    slots = compute(FALL_BACK, spans=NIGHT)
    assert local_stamps(slots) == [
        "2026-11-01T00:00-04:00",
        "2026-11-01T00:30-04:00",
        "2026-11-01T01:00-04:00",
        "2026-11-01T01:30-04:00",
        "2026-11-01T01:00-05:00",
        "2026-11-01T01:30-05:00",
        "2026-11-01T02:00-05:00",
        "2026-11-01T02:30-05:00",
        "2026-11-01T03:00-05:00",
        "2026-11-01T03:30-05:00",
    ]
    starts = [slot.start for slot in slots]
    assert all(b - a == timedelta(minutes=30) for a, b in zip(starts, starts[1:], strict=False))
    assert all(slot.end - slot.start == timedelta(minutes=30) for slot in slots)


def test_fall_back_ambiguous_hours_use_first_occurrence() -> None:
    # 01:30 is ambiguous: the interval starts at 01:30 EDT, so 2.5 real hours to 03:00 EST.
    slots = compute(FALL_BACK, spans=[(time(1, 30), time(3))])
    assert local_stamps(slots) == [
        "2026-11-01T01:30-04:00",
        "2026-11-01T01:00-05:00",
        "2026-11-01T01:30-05:00",
        "2026-11-01T02:00-05:00",
        "2026-11-01T02:30-05:00",
    ]


def test_fall_back_ambiguous_end_uses_first_occurrence() -> None:
    slots = compute(FALL_BACK, spans=[(time(0), time(1, 30))])
    assert local_stamps(slots) == [
        "2026-11-01T00:00-04:00",
        "2026-11-01T00:30-04:00",
        "2026-11-01T01:00-04:00",
    ]


def test_fall_back_busy_second_occurrence_only() -> None:
    second = Interval(at(FALL_BACK, 1, 0, fold=1), at(FALL_BACK, 1, 30, fold=1))
    slots = compute(FALL_BACK, spans=[(time(1), time(2))], busy_times=[second])
    # 01:00-02:00 local from 01:00 EDT lasts two real hours; only 01:00 EST is busy.
    assert local_stamps(slots) == [
        "2026-11-01T01:00-04:00",
        "2026-11-01T01:30-04:00",
        "2026-11-01T01:30-05:00",
    ]


def test_visit_across_fall_back_lasts_real_minutes() -> None:
    slots = compute(FALL_BACK, spans=[(time(1), time(2))], shape=ServiceShape(90))
    # The window is two real hours (01:00 EDT to 02:00 EST).
    assert local_stamps(slots) == ["2026-11-01T01:00-04:00", "2026-11-01T01:30-04:00"]
    assert slots[1].end.astimezone(NY).isoformat() == "2026-11-01T02:00:00-05:00"


DAY = [(time(9), time(17))]
DAY_GRID = [f"{h:02d}:{m:02d}" for h in range(9, 17) for m in (0, 30)]


@pytest.mark.parametrize(
    ("day", "offset"),
    [
        (date(2026, 3, 7), "-05:00"),  # Saturday before spring forward: EST
        (SPRING_FORWARD, "-04:00"),
        (date(2026, 3, 9), "-04:00"),  # Monday after: EDT
        (date(2026, 10, 31), "-04:00"),  # Saturday before fall back: EDT
        (FALL_BACK, "-05:00"),
        (date(2026, 11, 2), "-05:00"),  # Monday after: EST
    ],
)
def test_normal_day_around_daylight_saving(day: date, offset: str) -> None:
    slots = compute(day, spans=DAY)
    assert local_times(slots) == DAY_GRID
    assert local_stamps(slots)[0] == f"{day.isoformat()}T09:00{offset}"
    assert {stamp[-6:] for stamp in local_stamps(slots)} == {offset}
    assert all(slot.end - slot.start == timedelta(minutes=30) for slot in slots)


def test_week_across_spring_forward_keeps_local_nine_oclock() -> None:
    schedule = PractitionerSchedule(
        1, [WorkingHours(day, time(9), time(10)) for day in range(7)], []
    )
    slots = free_slots(
        [schedule],
        ServiceShape(60),
        OPEN_POLICY,
        NY,
        date(2026, 3, 7),
        date(2026, 3, 9),
        LONG_AGO,
    )
    assert [slot.start for slot in slots] == [
        datetime(2026, 3, 7, 14, tzinfo=UTC),
        datetime(2026, 3, 8, 13, tzinfo=UTC),
        datetime(2026, 3, 9, 13, tzinfo=UTC),
    ]


# --- input checks --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "policy"),
    [
        (ServiceShape(0), OPEN_POLICY),
        (ServiceShape(30, buffer_before=-5), OPEN_POLICY),
        (HALF_HOUR, Policy(timedelta(0), timedelta(days=1), timedelta(0))),
    ],
)
def test_invalid_inputs_are_rejected(shape: ServiceShape, policy: Policy) -> None:
    with pytest.raises(ValueError):
        compute(MONDAY, shape=shape, policy=policy)


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError):
        compute(MONDAY, now=datetime(2026, 1, 1))


# --- cross-check against a brute-force reference -------------------------------------


def _reference(
    schedules: Sequence[PractitionerSchedule],
    shape: ServiceShape,
    policy: Policy,
    first_day: date,
    last_day: date,
    now: datetime,
) -> list[Slot]:
    """Every candidate against every busy interval; only valid away from DST changes."""
    found: set[Slot] = set()
    duration = timedelta(minutes=shape.minutes)
    day = first_day
    while day <= last_day:
        for schedule in schedules:
            for entry in schedule.hours:
                if entry.weekday != day.weekday():
                    continue
                start = datetime.combine(day, entry.start, NY).astimezone(UTC)
                end = datetime.combine(day, entry.end, NY).astimezone(UTC)
                while start + duration <= end:
                    occupied = occupied_interval(start, shape)
                    # An empty busy interval [t, t) holds no instant, so it blocks nothing.
                    clash = any(
                        b.start < b.end and b.start < occupied.end and occupied.start < b.end
                        for b in schedule.busy
                    )
                    in_policy = now + policy.min_notice <= start <= now + policy.horizon
                    if not clash and in_policy and start >= now:
                        found.add(Slot(start, start + duration, schedule.practitioner_id))
                    start += policy.slot_step
        day += timedelta(days=1)
    return sorted(found)


def _random_busy(rng: random.Random, first_day: date) -> Interval:
    zone = rng.choice([UTC, NY, ZoneInfo("Europe/Berlin")])
    start = datetime.combine(first_day, time(6), NY) + timedelta(minutes=5 * rng.randrange(3000))
    length = timedelta(minutes=5 * rng.randrange(0, 40))
    return Interval(start.astimezone(zone), (start + length).astimezone(zone))


@pytest.mark.parametrize("seed", range(25))
def test_matches_brute_force_reference(seed: int) -> None:
    rng = random.Random(seed)
    first_day, last_day = MONDAY, date(2026, 6, 14)
    schedules = [
        PractitionerSchedule(
            pid,
            [
                WorkingHours(
                    rng.randrange(7), time(rng.randrange(6, 12)), time(rng.randrange(12, 20))
                )
                for _ in range(rng.randrange(1, 8))
            ],
            [_random_busy(rng, first_day) for _ in range(rng.randrange(0, 60))],
        )
        for pid in range(1, 4)
    ]
    shape = ServiceShape(rng.choice([20, 30, 45, 60]), rng.randrange(0, 20), rng.randrange(0, 20))
    policy = Policy(
        timedelta(minutes=rng.randrange(0, 600)),
        timedelta(days=rng.randrange(1, 14)),
        timedelta(minutes=rng.choice([10, 15, 30])),
    )
    now = datetime.combine(first_day, time(rng.randrange(24)), NY)
    expected = _reference(schedules, shape, policy, first_day, last_day, now)
    assert free_slots(schedules, shape, policy, NY, first_day, last_day, now) == expected

"""Unit tests for booking.notify.ics: parse the output back with icalendar."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event, Timezone

from booking.notify.ics import (
    CalendarEvent,
    EventStatus,
    Method,
    appointment_uid,
    event_calendar,
    feed_calendar,
)

NEW_YORK = "America/New_York"
STAMP = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def make_event(start: datetime, **changes: object) -> CalendarEvent:
    """Return a booked-appointment event starting at the given UTC instant."""
    event = CalendarEvent(
        uid=appointment_uid(42, "clinic.example"),
        sequence=0,
        start=start,
        end=start + timedelta(minutes=60),
        zone=NEW_YORK,
        summary="First visit: assessment and dry needling",
        location="Back Pain Clinic, 1 Main St, New York",
        description="Manage: https://clinic.example/a/42",
        organizer_email="desk@clinic.example",
        organizer_name="Back Pain Clinic",
        attendee_email="patient@example.com",
        url="https://clinic.example/a/42",
        stamp=STAMP,
    )
    return replace(event, **changes)


# 2026-03-08: clocks go 02:00 EST -> 03:00 EDT; 07:30 UTC is 03:30 EDT.
SPRING = make_event(datetime(2026, 3, 8, 7, 30, tzinfo=UTC))
# 2026-11-01: clocks go 02:00 EDT -> 01:00 EST; 15:00 UTC is 10:00 EST.
AUTUMN = make_event(datetime(2026, 11, 1, 15, 0, tzinfo=UTC))
SUMMER = make_event(datetime(2026, 7, 1, 13, 0, tzinfo=UTC))


def parse(data: bytes) -> Calendar:
    """Parse iCalendar bytes into a Calendar."""
    assert isinstance(data, bytes)
    return Calendar.from_ical(data)


def only_event(calendar: Calendar) -> Event:
    """Return the single VEVENT of a calendar."""
    events = calendar.events
    assert len(events) == 1
    return events[0]


def test_appointment_uid() -> None:
    assert appointment_uid(42, "clinic.example") == "appointment-42@clinic.example"


def test_request_has_headers_uid_sequence_and_status() -> None:
    calendar = parse(event_calendar(replace(SUMMER, sequence=2), Method.REQUEST))
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"])
    assert calendar["METHOD"] == "REQUEST"
    event = only_event(calendar)
    assert str(event["UID"]) == "appointment-42@clinic.example"
    assert int(event["SEQUENCE"]) == 2
    assert event["STATUS"] == "CONFIRMED"


def test_request_has_organizer_and_attendee() -> None:
    event = only_event(parse(event_calendar(SUMMER, Method.REQUEST)))
    organizer = event["ORGANIZER"]
    assert str(organizer) == "mailto:desk@clinic.example"
    assert organizer.params["CN"] == "Back Pain Clinic"
    assert str(event["ATTENDEE"]) == "mailto:patient@example.com"


def test_sequence_zero_is_written() -> None:
    event = only_event(parse(event_calendar(SUMMER, Method.REQUEST)))
    assert int(event["SEQUENCE"]) == 0


def test_dtstamp_is_utc() -> None:
    data = event_calendar(SUMMER, Method.REQUEST)
    assert b"DTSTAMP:20260115T120000Z" in data
    event = only_event(parse(data))
    assert event["DTSTAMP"].dt == STAMP


def test_dtstamp_defaults_to_now() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    event = only_event(parse(event_calendar(replace(SUMMER, stamp=None), Method.REQUEST)))
    assert before <= event["DTSTAMP"].dt <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("event", "local_start", "local_end", "offset_hours"),
    [
        (SPRING, datetime(2026, 3, 8, 3, 30), datetime(2026, 3, 8, 4, 30), -4),
        (AUTUMN, datetime(2026, 11, 1, 10, 0), datetime(2026, 11, 1, 11, 0), -5),
        (SUMMER, datetime(2026, 7, 1, 9, 0), datetime(2026, 7, 1, 10, 0), -4),
    ],
    ids=["dst-start-day", "dst-end-day", "summer"],
)
def test_times_are_local_with_tzid(
    event: CalendarEvent, local_start: datetime, local_end: datetime, offset_hours: int
) -> None:
    data = event_calendar(event, Method.REQUEST)
    parsed = only_event(parse(data))
    for name, local, instant in (
        ("DTSTART", local_start, event.start),
        ("DTEND", local_end, event.end),
    ):
        prop = parsed[name]
        assert prop.params["TZID"] == NEW_YORK
        assert prop.dt.replace(tzinfo=None) == local
        assert prop.dt.utcoffset() == timedelta(hours=offset_hours)
        assert prop.dt == instant
        assert prop.dt.astimezone(UTC) == instant
    wall = local_start.strftime("%Y%m%dT%H%M%S").encode()
    assert b"DTSTART;TZID=America/New_York:" + wall in data


def test_vtimezone_has_standard_and_daylight() -> None:
    calendar = parse(event_calendar(SPRING, Method.REQUEST))
    timezones = calendar.timezones
    assert len(timezones) == 1
    timezone = timezones[0]
    assert timezone["TZID"] == NEW_YORK
    kinds = {component.name for component in timezone.subcomponents}
    assert {"STANDARD", "DAYLIGHT"} <= kinds
    assert calendar.get_missing_tzids() == set()


@pytest.mark.parametrize("event", [SPRING, AUTUMN, SUMMER], ids=["spring", "autumn", "summer"])
def test_vtimezone_alone_gives_the_right_instant(event: CalendarEvent) -> None:
    """A client without tzdata resolves the local DTSTART through the VTIMEZONE."""
    calendar = parse(event_calendar(event, Method.REQUEST))
    timezone: Timezone = calendar.timezones[0]
    embedded = timezone.to_tz(lookup_tzid=False)
    local = event.start.astimezone(ZoneInfo(NEW_YORK)).replace(tzinfo=None)
    assert local.replace(tzinfo=embedded).astimezone(UTC) == event.start


def test_vtimezone_comes_before_the_event() -> None:
    calendar = parse(event_calendar(SUMMER, Method.REQUEST))
    names = [component.name for component in calendar.subcomponents]
    assert names == ["VTIMEZONE", "VEVENT"]


def test_cancel_keeps_uid_and_raises_sequence() -> None:
    booked = only_event(parse(event_calendar(SUMMER, Method.REQUEST)))
    cancelled_event = replace(SUMMER, sequence=SUMMER.sequence + 1)
    calendar = parse(event_calendar(cancelled_event, Method.CANCEL))
    cancelled = only_event(calendar)
    assert calendar["METHOD"] == "CANCEL"
    assert cancelled["STATUS"] == "CANCELLED"
    assert str(cancelled["UID"]) == str(booked["UID"])
    assert int(cancelled["SEQUENCE"]) > int(booked["SEQUENCE"])
    assert str(cancelled["ORGANIZER"]) == "mailto:desk@clinic.example"


@pytest.mark.parametrize("method", [Method.REQUEST, Method.PUBLISH])
def test_a_visit_awaiting_review_is_tentative(method: Method) -> None:
    held = replace(SUMMER, status=EventStatus.TENTATIVE)
    event = only_event(parse(event_calendar(held, method)))
    assert event["STATUS"] == "TENTATIVE"
    assert str(event["UID"]) == "appointment-42@clinic.example"


def test_a_confirmed_visit_stays_confirmed_by_default() -> None:
    assert SUMMER.status is EventStatus.CONFIRMED
    assert only_event(parse(event_calendar(SUMMER, Method.REQUEST)))["STATUS"] == "CONFIRMED"


def test_the_status_may_be_given_as_its_text() -> None:
    held = replace(SUMMER, status="TENTATIVE")
    assert only_event(parse(event_calendar(held, Method.REQUEST)))["STATUS"] == "TENTATIVE"


def test_cancelling_a_tentative_visit_says_cancelled() -> None:
    held = replace(SUMMER, status=EventStatus.TENTATIVE, sequence=1)
    assert only_event(parse(event_calendar(held, Method.CANCEL)))["STATUS"] == "CANCELLED"


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError):
        event_calendar(replace(SUMMER, status="MAYBE"), Method.REQUEST)


def test_feed_gives_each_event_its_own_status() -> None:
    events = [
        replace(SPRING, uid=appointment_uid(1, "clinic.example")),
        replace(SUMMER, uid=appointment_uid(2, "clinic.example"), status=EventStatus.TENTATIVE),
    ]
    parsed = parse(feed_calendar(events, "Appointments")).events
    assert [str(event["STATUS"]) for event in parsed] == ["CONFIRMED", "TENTATIVE"]


@pytest.mark.parametrize("method", [Method.REQUEST, Method.CANCEL])
def test_organizer_required_for_itip(method: Method) -> None:
    with pytest.raises(ValueError, match="organizer"):
        event_calendar(replace(SUMMER, organizer_email=None), method)


def test_publish_without_organizer_or_attendee() -> None:
    bare = replace(SUMMER, organizer_email=None, organizer_name=None, attendee_email=None)
    calendar = parse(event_calendar(bare, Method.PUBLISH))
    event = only_event(calendar)
    assert calendar["METHOD"] == "PUBLISH"
    assert "ORGANIZER" not in event
    assert "ATTENDEE" not in event
    assert event["STATUS"] == "CONFIRMED"


def test_text_escaping_round_trips() -> None:
    summary = "Follow-up; dry needling, lower back\nbring: shorts"
    description = (
        "Manage: https://clinic.example/a/42?x=1,2;y=3\nDirections: https://maps.example/c"
    )
    location = "Back Pain Clinic; Suite 4, 1 Main St\nNew York"
    event = replace(SUMMER, summary=summary, description=description, location=location)
    data = event_calendar(event, Method.REQUEST)
    assert b"Follow-up\\; dry needling\\, lower back\\nbring: shorts" in data
    parsed = only_event(parse(data))
    assert str(parsed["SUMMARY"]) == summary
    assert str(parsed["DESCRIPTION"]) == description
    assert str(parsed["LOCATION"]) == location


def test_empty_description_is_omitted() -> None:
    event = only_event(parse(event_calendar(replace(SUMMER, description=""), Method.REQUEST)))
    assert "DESCRIPTION" not in event


def test_url_is_written() -> None:
    event = only_event(parse(event_calendar(SUMMER, Method.REQUEST)))
    assert str(event["URL"]) == "https://clinic.example/a/42"


def test_lines_are_crlf_and_folded() -> None:
    long_event = replace(SUMMER, description="https://clinic.example/" + "x" * 200)
    data = event_calendar(long_event, Method.REQUEST)
    lines = data.split(b"\r\n")
    assert lines[0] == b"BEGIN:VCALENDAR"
    assert all(len(line) <= 75 for line in lines)
    assert str(only_event(parse(data))["DESCRIPTION"]) == long_event.description


def test_feed_has_events_and_one_vtimezone() -> None:
    events = [
        replace(SPRING, uid=appointment_uid(1, "clinic.example")),
        replace(SUMMER, uid=appointment_uid(2, "clinic.example")),
        replace(AUTUMN, uid=appointment_uid(3, "clinic.example"), sequence=3),
    ]
    data = feed_calendar(events, "My clinic appointments")
    calendar = parse(data)
    assert calendar["METHOD"] == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == "My clinic appointments"
    assert str(calendar["VERSION"]) == "2.0"
    assert len(calendar.timezones) == 1
    assert data.count(b"BEGIN:VTIMEZONE") == 1
    parsed = calendar.events
    assert [str(event["UID"]) for event in parsed] == [event.uid for event in events]
    assert [event["DTSTART"].dt for event in parsed] == [event.start for event in events]
    assert all(event["DTSTART"].params["TZID"] == NEW_YORK for event in parsed)
    assert [int(event["SEQUENCE"]) for event in parsed] == [0, 0, 3]


def test_feed_vtimezone_covers_every_event() -> None:
    early = make_event(datetime(2025, 12, 30, 15, 0, tzinfo=UTC))
    late = make_event(datetime(2027, 11, 7, 15, 0, tzinfo=UTC))
    calendar = parse(feed_calendar([early, late], "Appointments"))
    embedded = calendar.timezones[0].to_tz(lookup_tzid=False)
    for event in (early, late):
        local = event.start.astimezone(ZoneInfo(NEW_YORK)).replace(tzinfo=None)
        assert local.replace(tzinfo=embedded).astimezone(UTC) == event.start


def test_feed_with_several_zones_has_one_vtimezone_each() -> None:
    chicago = replace(SUMMER, uid="appointment-7@clinic.example", zone="America/Chicago")
    calendar = parse(feed_calendar([SPRING, chicago, AUTUMN], "Appointments"))
    assert sorted(str(tz["TZID"]) for tz in calendar.timezones) == [
        "America/Chicago",
        NEW_YORK,
    ]


def test_empty_feed_parses() -> None:
    calendar = parse(feed_calendar([], "Appointments"))
    assert calendar.events == []
    assert calendar.timezones == []


@pytest.mark.parametrize(
    "changes",
    [
        {"start": datetime(2026, 7, 1, 13, 0)},
        {"end": SUMMER.start},
        {"sequence": -1},
        {"zone": "Mars/Olympus_Mons"},
    ],
    ids=["naive-start", "end-not-after-start", "negative-sequence", "unknown-zone"],
)
def test_invalid_events_raise_value_error(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        event_calendar(replace(SUMMER, **changes), Method.REQUEST)

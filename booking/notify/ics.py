"""iCalendar (RFC 5545 / RFC 5546) files for appointment emails and subscription feeds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event, vCalAddress, vDuration

PRODID = "-//Back Pain Clinic//Booking Service//EN"
FEED_REFRESH = timedelta(hours=1)


class Method(StrEnum):
    """The iTIP method of a calendar object (RFC 5546)."""

    REQUEST = "REQUEST"
    CANCEL = "CANCEL"
    PUBLISH = "PUBLISH"


class EventStatus(StrEnum):
    """The STATUS of a VEVENT (RFC 5545): a visit held for review is only TENTATIVE."""

    CONFIRMED = "CONFIRMED"
    TENTATIVE = "TENTATIVE"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class CalendarEvent:
    """One appointment as it appears in a calendar; times are aware UTC.

    `status` is the visit's own: CONFIRMED, or TENTATIVE while it awaits a clinician's review.
    A METHOD:CANCEL calendar always says CANCELLED, whatever the status given.
    """

    uid: str
    sequence: int
    start: datetime
    end: datetime
    zone: str
    summary: str
    location: str
    description: str = ""
    organizer_email: str | None = None
    organizer_name: str | None = None
    attendee_email: str | None = None
    url: str | None = None
    stamp: datetime | None = None
    status: EventStatus = EventStatus.CONFIRMED


def appointment_uid(appointment_id: int, domain: str) -> str:
    """Return the stable UID of an appointment, e.g. ``appointment-42@clinic.example``."""
    return f"appointment-{appointment_id}@{domain}"


def event_calendar(event: CalendarEvent, method: Method) -> bytes:
    """Return a VCALENDAR with one VEVENT for an iMIP email attachment."""
    method = Method(method)
    if method in (Method.REQUEST, Method.CANCEL) and not event.organizer_email:
        raise ValueError(f"METHOD:{method.value} requires an organizer email (RFC 5546)")
    calendar = _new_calendar(method)
    calendar.add_component(_vevent(event, cancelled=method is Method.CANCEL))
    _add_timezones(calendar, [event])
    return calendar.to_ical()


def events_calendar(events: Sequence[CalendarEvent]) -> bytes:
    """Return a METHOD:PUBLISH VCALENDAR with one VEVENT (own UID) per event, e.g. a series of
    visits in one email: iTIP's REQUEST carries one UID per object, PUBLISH may carry several."""
    if any(not event.organizer_email for event in events):
        raise ValueError("METHOD:PUBLISH requires an organizer email (RFC 5546)")
    calendar = _new_calendar(Method.PUBLISH)
    for event in events:
        calendar.add_component(_vevent(event, cancelled=False))
    _add_timezones(calendar, events)
    return calendar.to_ical()


def feed_calendar(events: Sequence[CalendarEvent], name: str) -> bytes:
    """Return a METHOD:PUBLISH subscription feed with one VEVENT per event."""
    calendar = _new_calendar(Method.PUBLISH)
    calendar.calendar_name = name
    calendar.add("REFRESH-INTERVAL", vDuration(FEED_REFRESH), parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", vDuration(FEED_REFRESH))
    for event in events:
        calendar.add_component(_vevent(event, cancelled=False))
    _add_timezones(calendar, events)
    return calendar.to_ical()


def _new_calendar(method: Method) -> Calendar:
    """Return an empty VCALENDAR with PRODID, VERSION and METHOD."""
    calendar = Calendar()
    calendar.prodid = PRODID
    calendar.version = "2.0"
    calendar.method = method.value
    return calendar


def _vevent(event: CalendarEvent, *, cancelled: bool) -> Event:
    """Return the VEVENT for an event, with times in the clinic's zone."""
    _validate(event)
    zone = _zone(event.zone)
    return Event.new(
        uid=event.uid,
        sequence=event.sequence,
        stamp=_utc(event.stamp or datetime.now(UTC), "stamp"),
        start=_utc(event.start, "start").astimezone(zone),
        end=_utc(event.end, "end").astimezone(zone),
        summary=event.summary,
        location=event.location,
        description=event.description or None,
        url=event.url,
        status=EventStatus.CANCELLED.value if cancelled else EventStatus(event.status).value,
        organizer=_organizer(event),
        attendees=_attendees(event),
    )


def _validate(event: CalendarEvent) -> None:
    """Raise ValueError for a negative sequence or an end not after the start."""
    if event.sequence < 0:
        raise ValueError("sequence must not be negative")
    if _utc(event.end, "end") <= _utc(event.start, "start"):
        raise ValueError("end must be after start")


def _organizer(event: CalendarEvent) -> vCalAddress | None:
    """Return the ORGANIZER address, if an organizer email is given."""
    if not event.organizer_email:
        return None
    return vCalAddress.new(event.organizer_email, cn=event.organizer_name)


def _attendees(event: CalendarEvent) -> list[vCalAddress] | None:
    """Return the ATTENDEE list: the patient, already booked, no reply asked."""
    if not event.attendee_email:
        return None
    attendee = vCalAddress.new(
        event.attendee_email,
        cutype="INDIVIDUAL",
        role="REQ-PARTICIPANT",
        partstat="ACCEPTED",
        rsvp=False,
    )
    return [attendee]


def _add_timezones(calendar: Calendar, events: Sequence[CalendarEvent]) -> None:
    """Add one VTIMEZONE per zone used, covering the events with a year's margin."""
    if not events:
        return
    first = min(event.start for event in events)
    last = max(event.end for event in events)
    calendar.add_missing_timezones(
        first_date=date(first.year - 1, 1, 1), last_date=date(last.year + 2, 1, 1)
    )


def _zone(name: str) -> ZoneInfo:
    """Return the IANA zone, raising ValueError when it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone: {name!r}") from error


def _utc(moment: datetime, field: str) -> datetime:
    """Return an aware datetime in UTC, raising ValueError when it is naive."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{field} must be timezone-aware")
    return moment.astimezone(UTC)

"""How dates, times and durations are written for people: one place, used by pages and messages.

PURE: no Flask, no database. Datetimes must already be in the zone they are shown in (the
callers convert UTC to the clinic's zone first: `web.filters` and `notify` do).
"""

from __future__ import annotations

from datetime import date, datetime, time


def clock(moment: datetime | time) -> str:
    """'9:30 AM'."""
    return moment.strftime("%-I:%M %p")


def clock_24(moment: datetime | time) -> str:
    """'14:30': for machine-readable attributes, never for reading."""
    return moment.strftime("%H:%M")


def day_long(day: date | datetime) -> str:
    """'Monday, November 23, 2026'."""
    return day.strftime("%A, %B %-d, %Y")


def day_and_month(day: date | datetime) -> str:
    """'Monday, November 23': where the year is plain from the page."""
    return day.strftime("%A, %B %-d")


def day_short(day: date | datetime) -> str:
    """'Mon, Nov 23': column headings and compact lists."""
    return day.strftime("%a, %b %-d")


def date_of_year(day: date | datetime) -> str:
    """'November 23, 2026': dates of birth, week headings."""
    return day.strftime("%B %-d, %Y")


def weekday(day: date | datetime) -> str:
    """'Monday'."""
    return day.strftime("%A")


def moment_long(moment: datetime) -> str:
    """'Monday, November 23, 2026 at 9:30 AM'."""
    return f"{day_long(moment)} at {clock(moment)}"


def moment_short(moment: datetime) -> str:
    """'Monday, November 23 at 9:30 AM'."""
    return f"{day_and_month(moment)} at {clock(moment)}"


def span(start: datetime, end: datetime) -> str:
    """'Monday, November 23 from 12:00 PM to 1:00 PM', or both days when they differ."""
    if start.date() == end.date():
        return f"{day_and_month(start)} from {clock(start)} to {clock(end)}"
    return f"{moment_short(start)} to {moment_short(end)}"


def zone_abbreviation(moment: datetime) -> str:
    """'EST' or 'EDT': for machine-like stamps (`timestamp`), never beside a time for reading."""
    return moment.strftime("%Z")


def zone_name(zone_key: str) -> str:
    """'New York time' for 'America/New_York': the one way pages and emails name the clinic's
    zone (it holds across daylight saving, where 'EST' would be wrong half the year)."""
    city = zone_key.rsplit("/", 1)[-1].replace("_", " ")
    return f"{city} time"


def timestamp(moment: datetime) -> str:
    """'2026-11-23 09:30 EST': logs and audit lists, sortable by eye."""
    return moment.strftime("%Y-%m-%d %H:%M %Z")


def duration(minutes: int) -> str:
    """'45 minutes', '1 hour', '1 hour 30 minutes'."""
    hours, rest = divmod(int(minutes), 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if rest or not hours:
        parts.append(f"{rest} minute{'s' if rest != 1 else ''}")
    return " ".join(parts)

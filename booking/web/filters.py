"""Every template filter and global, registered in one place.

Times are stored in UTC; the filters show them in the clinic's zone with the wording of
`booking.formatting`. Dates and wall-clock times (already local) pass through unchanged.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Flask, g

from booking import formatting
from booking.clinic.service import get_clinic
from booking.db import now_utc
from booking.scheduling.changes import can_patient_change

Shown = datetime | date | time


def clinic_zone() -> ZoneInfo:
    if "clinic_zone" not in g:
        g.clinic_zone = get_clinic().zone
    return g.clinic_zone


def local(value: Shown) -> Shown:
    """An aware datetime in the clinic's zone; a date or wall-clock time as it is."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(clinic_zone())
    return value


def local_day(moment: datetime) -> date:
    return moment.astimezone(clinic_zone()).date()


def local_time(value: Shown) -> str:
    """'9:30 AM' in the clinic's zone."""
    return formatting.clock(local(value))


def date_long(value: Shown) -> str:
    """'Monday, November 23, 2026' in the clinic's zone."""
    return formatting.day_long(local(value))


def clinic_time() -> str:
    """'New York time': the one name of the clinic's zone, beside times and on times pages."""
    return formatting.zone_name(clinic_zone().key)


def zone_abbr(value: datetime) -> str:
    """Beside a time: the clinic's zone by its one name ('New York time'), whatever the date
    (kept under this name for the staff templates that use it)."""
    return clinic_time()


def local_iso_day(moment: datetime) -> str:
    """'2026-11-23': the clinic's day of an instant, for links and form values."""
    return local_day(moment).isoformat()


def changeable_online(appointment) -> bool:
    """May the patient still move or cancel this visit online (outside the window)? Pages say
    the window's wording only then."""
    return can_patient_change(appointment, now_utc())


def add_days(day: date, days: int) -> date:
    return day + timedelta(days=days)


def _shown_locally(format_function):
    """A filter that shows a UTC instant (or a local date or time) with one of the wordings."""

    def show(value: Shown) -> str:
        return format_function(local(value))

    show.__name__ = format_function.__name__
    show.__doc__ = format_function.__doc__
    return show


# Filter name -> wording, for the formats that need nothing but the clinic's zone.
WORDINGS = {
    "clock_24": formatting.clock_24,
    "day_and_month": formatting.day_and_month,
    "day_short": formatting.day_short,
    "date_of_year": formatting.date_of_year,
    "weekday": formatting.weekday,
    "moment_long": formatting.moment_long,
    "moment_short": formatting.moment_short,
    "timestamp": formatting.timestamp,
}


def register(app: Flask) -> None:
    """Filters, globals and the clinic in every template: the app factory calls this once."""
    from booking.notify.links import manage_token
    from booking.scheduling.waitlist import describe_preferences
    from booking.web.staff import staff_links

    for name, wording in WORDINGS.items():
        app.add_template_filter(_shown_locally(wording), name)
    for function in (local_time, date_long, zone_abbr, local_iso_day, add_days):
        app.add_template_filter(function)
    app.add_template_filter(formatting.duration, "duration")
    app.add_template_filter(describe_preferences, "waitlist_when")
    app.add_template_global(manage_token)
    app.add_template_global(changeable_online)
    app.add_template_global(staff_links)  # the staff menu, by the signed-in member's roles

    @app.context_processor
    def inject_clinic():
        return {"clinic": get_clinic(), "clinic_time": clinic_time()}

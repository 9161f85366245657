"""Template filters and globals for showing UTC times in the clinic's zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, g

from booking.clinic.service import get_clinic


def clinic_zone() -> ZoneInfo:
    if "clinic_zone" not in g:
        g.clinic_zone = get_clinic().zone
    return g.clinic_zone


def local(dt: datetime) -> datetime:
    return dt.astimezone(clinic_zone())


def local_time(dt: datetime) -> str:
    """'9:30 AM' in the clinic's zone."""
    return local(dt).strftime("%-I:%M %p")


def date_long(dt: datetime) -> str:
    """'Monday, November 23, 2026' in the clinic's zone."""
    return local(dt).strftime("%A, %B %-d, %Y")


def zone_abbr(dt: datetime) -> str:
    """'EST' or 'EDT': said next to times on daylight-saving days."""
    return local(dt).strftime("%Z")


def register(app: Flask) -> None:
    app.add_template_filter(local_time)
    app.add_template_filter(date_long)
    app.add_template_filter(zone_abbr)

    @app.context_processor
    def inject_clinic():
        return {"clinic": get_clinic()}

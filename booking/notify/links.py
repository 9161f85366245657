"""The patient's private link to a visit, and absolute links for emails.

The link carries a signed token naming the appointment and its version (its iCalendar
SEQUENCE): ``[appointment id, sequence]``, signed with SECRET_KEY and the salt "manage-visit".
Every change to the visit raises the sequence, so older links stop working and the newest email
carries the only live one; a link also ends when the visit starts. A refused token never says
why, so nobody can learn from a link whether an appointment exists.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from itsdangerous import BadData, URLSafeSerializer

from booking.extensions import db
from booking.scheduling.models import HOLD_STATUSES, Appointment

SALT = "manage-visit"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def manage_token(appointment: Appointment) -> str:
    """Return the token of the visit's current version."""
    return _serializer().dumps([appointment.id, appointment.sequence])


def appointment_for_token(token: str, now: datetime) -> Appointment | None:
    """Return the appointment a token names while its link stands, else None (for any reason)."""
    try:
        payload = _serializer().loads(token)
    except BadData:
        return None
    if not _is_pair_of_ids(payload):
        return None
    appointment_id, sequence = payload
    appointment = db.session.get(Appointment, appointment_id)
    if (
        appointment is None
        or appointment.sequence != sequence
        or appointment.status in HOLD_STATUSES  # a hold: never linked
        or now >= appointment.starts_at
    ):
        return None
    return appointment


def _is_pair_of_ids(payload: Any) -> bool:
    return (
        isinstance(payload, list)
        and len(payload) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in payload)
    )


def external_url(endpoint: str, **values: Any) -> str:
    """Return an absolute URL on PUBLIC_BASE_URL; works outside requests (emails, the worker)."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc,
        script_name=base.path.rstrip("/") or "/",
        url_scheme=base.scheme or "https",
    )
    return adapter.build(endpoint, values, force_external=True)


def manage_url(appointment: Appointment) -> str:
    """Return the absolute link to the patient's page for this version of the visit."""
    return external_url("manage.visit", token=manage_token(appointment))


def questions_url(appointment: Appointment) -> str:
    """Return the absolute link to the visit's health questionnaire (this version's token)."""
    return external_url("manage.questions", token=manage_token(appointment))


def calendar_url(appointment: Appointment) -> str:
    """Return the absolute link to the visit's .ics download."""
    return external_url("manage.calendar", token=manage_token(appointment))


def calendar_domain() -> str:
    """Return the domain of the visits' iCalendar UIDs: the site's host, stable per deployment."""
    return urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "localhost"

"""A practitioner's private calendar feed: the secret address, and the visits it lists.

The feed is fetched by calendar apps without a login, so the address is the only key: a long
random token, shown to its practitioner, replaced or revoked at will. It lists time, service
and patient initials only: a calendar on a phone is no place for clinical detail.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from booking.audit.service import record_audit
from booking.clinical.models import FeedToken
from booking.extensions import db
from booking.notify.ics import CalendarEvent, EventStatus, feed_calendar
from booking.scheduling.models import Appointment, AppointmentStatus, Practitioner
from booking.tokens import new_token

FEED_PAST = timedelta(days=30)
FEED_AHEAD = timedelta(days=180)
FEED_STATUSES = (
    AppointmentStatus.AWAITING_REVIEW,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.CHECKED_IN,
    AppointmentStatus.COMPLETED,
)


def live_token(practitioner: Practitioner) -> FeedToken | None:
    return db.session.scalar(
        select(FeedToken).where(
            FeedToken.practitioner_id == practitioner.id, FeedToken.revoked_at.is_(None)
        )
    )


def issue_token(practitioner: Practitioner, now: datetime) -> FeedToken:
    """A new feed address for the practitioner; the old one, if any, stops working."""
    revoke_token(practitioner, now)
    # Not guessable (43 URL-safe characters): the address is the credential.
    token = FeedToken(practitioner_id=practitioner.id, token=new_token())
    db.session.add(token)
    db.session.flush()
    record_audit("feed_token_issued", "practitioner", practitioner.id, token_id=token.id)
    return token


def revoke_token(practitioner: Practitioner, now: datetime) -> bool:
    """Stop the practitioner's feed address; False when there was none."""
    token = live_token(practitioner)
    if token is None:
        return False
    token.revoked_at = now
    db.session.flush()
    record_audit("feed_token_revoked", "practitioner", practitioner.id, token_id=token.id)
    return True


def practitioner_for_token(token: str) -> Practitioner | None:
    """The practitioner whose live feed address holds this token; None if unknown or revoked."""
    if not token or len(token) > 64:
        return None
    found = db.session.scalar(
        select(FeedToken)
        .where(FeedToken.token == token, FeedToken.revoked_at.is_(None))
        .options(selectinload(FeedToken.practitioner))
    )
    return found.practitioner if found is not None else None


def feed_uid(appointment_id: int, domain: str) -> str:
    """A UID of its own, so the feed's entry never merges with a patient's emailed invitation."""
    return f"practitioner-visit-{appointment_id}@{domain}"


def feed_events(
    practitioner: Practitioner, now: datetime, zone: str, base_url: str
) -> list[CalendarEvent]:
    """The practitioner's visits from a month ago to six months ahead: time, service, initials."""
    domain = urlsplit(base_url).hostname or "localhost"
    appointments = db.session.scalars(
        select(Appointment)
        .where(
            Appointment.practitioner_id == practitioner.id,
            Appointment.status.in_(FEED_STATUSES),
            Appointment.starts_at >= now - FEED_PAST,
            Appointment.starts_at < now + FEED_AHEAD,
        )
        .options(selectinload(Appointment.service), selectinload(Appointment.patient))
        .order_by(Appointment.starts_at, Appointment.id)
    )
    return [
        CalendarEvent(
            uid=feed_uid(appointment.id, domain),
            sequence=appointment.sequence,
            start=appointment.starts_at,
            end=appointment.ends_at,
            zone=zone,
            summary=_summary(appointment),
            location="",
            stamp=appointment.updated_at,
            status=(
                EventStatus.TENTATIVE
                if appointment.status == AppointmentStatus.AWAITING_REVIEW
                else EventStatus.CONFIRMED
            ),
        )
        for appointment in appointments
    ]


def _summary(appointment: Appointment) -> str:
    if appointment.patient is None:
        return appointment.service.name
    return f"{appointment.service.name} · {appointment.patient.initials}"


def feed_body(practitioner: Practitioner, now: datetime, zone: str, base_url: str) -> bytes:
    return feed_calendar(
        feed_events(practitioner, now, zone, base_url), f"Visits · {practitioner.name}"
    )

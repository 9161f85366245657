"""Caps on live holds, so that nobody can block the calendar by holding every free time.

One client address may keep HOLDS_PER_CLIENT live holds (an IPv6 client gets a whole /64, so
it is counted per /64), and one email address, once given on the details step, HOLDS_PER_EMAIL.
Neither the address nor the email is stored: a hold carries a keyed hash of each (HMAC-SHA256
with SECRET_KEY, 128 bits), which cannot be turned back into either without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select

from booking.extensions import db
from booking.scheduling.models import Appointment, AppointmentStatus

DIGEST_CHARS = 32
IPV6_CLIENT_PREFIX = 64  # one household or phone is given a whole /64


@dataclass
class HoldCapReached(Exception):
    """The client (`per="client"`) or email (`per="email"`) already keeps `limit` live holds;
    the first of them ends at `frees_at`."""

    per: str
    limit: int
    frees_at: datetime


def keyed_digest(kind: str, value: str) -> str:
    """HMAC-SHA256 of the value with SECRET_KEY, truncated: equal values match, nothing more."""
    key = current_app.config["SECRET_KEY"].encode()
    message = f"{kind}:{value}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:DIGEST_CHARS]


def client_network(address: str) -> str:
    """The part of an address that names one client: an IPv4 address, an IPv6 /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # an IPv4 client on a dual-stack socket
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(ip)


def client_digest(address: str | None) -> str | None:
    """The keyed hash a hold stores for the client's address; None when there is no address."""
    return keyed_digest("client", client_network(address)) if address else None


def email_digest(email: str) -> str:
    return keyed_digest("email", email.strip().lower())


def check_client_cap(digest: str | None, now: datetime, replacing: Appointment | None) -> None:
    """Raise HoldCapReached if the client keeps as many live holds as allowed already. The hold
    being replaced (the same browser's previous choice) does not count: it is given back."""
    if digest is not None:
        limit = current_app.config["HOLDS_PER_CLIENT"]
        _check(Appointment.client_digest == digest, "client", limit, now, replacing)


def claim_for_email(hold: Appointment, email: str, now: datetime) -> None:
    """Mark the hold as carrying this email, unless the email keeps as many live holds as
    allowed already (HoldCapReached)."""
    digest = email_digest(email)
    limit = current_app.config["HOLDS_PER_EMAIL"]
    _check(Appointment.email_digest == digest, "email", limit, now, hold)
    hold.email_digest = digest


def _check(match, per: str, limit: int, now: datetime, leaving_out: Appointment | None) -> None:
    query = select(func.count(), func.min(Appointment.hold_expires_at)).where(
        match,
        Appointment.status == AppointmentStatus.HELD,
        Appointment.hold_expires_at > now,
    )
    if leaving_out is not None:
        query = query.where(Appointment.id != leaving_out.id)
    live, first_ends = db.session.execute(query).one()
    if live >= limit:
        raise HoldCapReached(per, limit, first_ends)

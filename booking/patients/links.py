"""One-time sign-in links for returning patients: no passwords, a link by email instead.

A link carries a random token (``secrets.token_urlsafe(32)``); only its SHA-256 is stored, so
the table alone opens nothing. A link works once, within LINK_LIFETIME of being made. Using it
is one conditional UPDATE, so two clicks at the same moment cannot both succeed.
Services flush; the request boundary commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from booking.db import UTCDateTime
from booking.extensions import db
from booking.tokens import could_be_token, hash_token, new_token

LINK_LIFETIME = timedelta(minutes=15)


class PatientSignInLink(db.Model):
    __tablename__ = "patient_sign_in_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patient.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def issue_sign_in_link(patient_id: int, now: datetime) -> str:
    """Make a link for the patient; returns the token, which is nowhere else (flushed)."""
    token = new_token()
    db.session.add(
        PatientSignInLink(
            token_hash=hash_token(token),
            patient_id=patient_id,
            created_at=now,
            expires_at=now + LINK_LIFETIME,
        )
    )
    db.session.flush()
    return token


def _usable(token: str, now: datetime):
    return (
        PatientSignInLink.token_hash == hash_token(token),
        PatientSignInLink.used_at.is_(None),
        PatientSignInLink.expires_at > now,
    )


def link_is_usable(token: str, now: datetime) -> bool:
    """Whether the link would still sign someone in (read only: opening the page uses nothing)."""
    if not could_be_token(token):
        return False
    return db.session.scalar(select(PatientSignInLink.id).where(*_usable(token, now))) is not None


def use_sign_in_link(token: str, now: datetime) -> int | None:
    """Use the link up and return its patient's id; None when it is unknown, used or expired.

    The refusal never says which: nobody learns from a link whether it ever existed.
    """
    if not could_be_token(token):
        return None
    used = db.session.execute(
        update(PatientSignInLink)
        .where(*_usable(token, now))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:
        return None
    return db.session.scalar(
        select(PatientSignInLink.patient_id).where(
            PatientSignInLink.token_hash == hash_token(token)
        )
    )

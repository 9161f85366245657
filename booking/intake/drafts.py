"""An online booking in progress, kept in the database: the visit chosen, the held time, the
contact details typed and the questionnaire's answers so far.

The patient's session cookie carries only a random token (booking/tokens.py); the table stores
its SHA-256, so the table alone opens nothing and the cookie holds nothing personal. A draft
lasts as long as its hold plus a grace period (DRAFT_GRACE, from the last change), so a patient
whose time ran out can pick another and keep what they typed. It is emptied when the booking
ends (booked, held for review, or stopped for emergency care), keeping only where it ended, so
that a second tap on the last button shows the same page; it is deleted when given up, and
expired ones are swept away whenever a new draft starts.
Services flush; the request boundary commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, String, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from booking.db import JSONType, UTCDateTime
from booking.extensions import db
from booking.tokens import could_be_token, hash_token, new_token

DRAFT_GRACE = timedelta(hours=1)


class BookingDraft(db.Model):
    __tablename__ = "booking_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    practitioner: Mapped[str] = mapped_column(String(20), default="any")  # an id, or "any"
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id", ondelete="SET NULL"))
    hold_key: Mapped[str | None] = mapped_column(String(64))
    # A follow-up's signed-in returning patient; None for a first visit until it is booked.
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    details: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    # The questionnaire as typed: raw answers, steps done, the consent name (web/intake_flow.py).
    questionnaire: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Where it ended: the visit booked (or held for review), or the emergency intake.
    booked_appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="SET NULL")
    )
    emergency_intake_id: Mapped[int | None] = mapped_column(
        ForeignKey("intake.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


def find_booking_draft(token: object, now: datetime) -> BookingDraft | None:
    """The draft the token opens, unless it has expired (then it is gone)."""
    if not could_be_token(token):
        return None
    found = select(BookingDraft).where(BookingDraft.token_hash == hash_token(token))
    draft = db.session.scalar(found)
    if draft is None:
        return None
    if draft.expires_at <= now:
        discard_booking_draft(draft)
        return None
    return draft


def start_booking_draft(service_id: int, now: datetime) -> tuple[BookingDraft, str]:
    """A new, empty draft and the token that opens it (the token is nowhere else)."""
    db.session.execute(delete(BookingDraft).where(BookingDraft.expires_at <= now))
    token = new_token()
    draft = BookingDraft(
        token_hash=hash_token(token),
        service_id=service_id,
        details={},
        questionnaire={},
        updated_at=now,
        expires_at=now + DRAFT_GRACE,
    )
    db.session.add(draft)
    return draft, token


def keep_until(draft: BookingDraft, hold_expires_at: datetime | None, now: datetime) -> None:
    """A changed draft lasts until its hold runs out, plus the grace period from now on."""
    draft.updated_at = now
    draft.expires_at = max(hold_expires_at or now, now) + DRAFT_GRACE
    db.session.flush()


def end_booking_draft(
    draft: BookingDraft, *, appointment_id: int | None = None, intake_id: int | None = None
) -> None:
    """The booking ended: nothing typed is kept, only where it ended."""
    draft.details, draft.questionnaire = {}, {}
    draft.hold_id = draft.hold_key = None
    draft.booked_appointment_id, draft.emergency_intake_id = appointment_id, intake_id
    db.session.flush()


def discard_booking_draft(draft: BookingDraft) -> None:
    db.session.delete(draft)
    db.session.flush()

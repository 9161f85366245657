"""Stored intakes: the answers as given and the screening result they produced."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, event, inspect
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.accounts.models import User
from booking.db import JSONType, UTCDateTime, now_utc
from booking.extensions import db
from booking.intake.screening import Tier
from booking.patients.models import Patient

TIERS = tuple(tier.value for tier in Tier)  # the screening's tiers, in one place


class Intake(db.Model):
    """One answer set. Never changed once stored: a new answer set is a new intake."""

    __tablename__ = "intake"
    __table_args__ = (
        CheckConstraint(f"tier IN ({', '.join(repr(t) for t in TIERS)})", name="tier_known"),
        CheckConstraint("kind IN ('first_visit', 'check_in')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="RESTRICT"))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    questionnaire_version: Mapped[str] = mapped_column(String(40))
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType)
    ruleset_version: Mapped[str] = mapped_column(String(40))
    tier: Mapped[str] = mapped_column(String(20), index=True)
    screening: Mapped[dict[str, Any]] = mapped_column(JSONType)
    no_needling: Mapped[bool] = mapped_column(default=False)
    consent_version: Mapped[str | None] = mapped_column(String(40))
    consent_name: Mapped[str | None] = mapped_column(String(200))
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    # Who typed the answers when staff did (the desk, with the patient on the phone); set at
    # insert like every column. RESTRICT: staff accounts are deactivated, never deleted, and a
    # SET NULL would be an update the immutability triggers refuse.
    entered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="RESTRICT")
    )

    patient: Mapped[Patient] = relationship()


class IntakeImmutableError(Exception):
    """A stored intake was about to be changed: store a new intake instead."""


@event.listens_for(Intake, "before_update")
def _refuse_intake_update(_mapper, _connection, intake: Intake) -> None:
    """The ORM side of the rule the database also enforces (migration 0003).

    The one change allowed is the one the database makes itself: `appointment_id` set to NULL
    when the appointment is deleted (ON DELETE SET NULL).
    """
    state = inspect(intake)
    for attribute in state.mapper.column_attrs:
        history = state.attrs[attribute.key].history
        if not history.has_changes():
            continue
        if attribute.key == "appointment_id" and history.added == [None]:
            continue
        raise IntakeImmutableError(f"intake {intake.id} is stored and cannot change")


class ConsentText(db.Model):
    """A version of the consent-to-treatment text; intakes record the version agreed to."""

    __tablename__ = "consent_text"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(40), unique=True)
    text: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)


class CallBack(db.Model):
    """An emergency-tier screening: staff call the patient back until they reach them.

    Every try is a CallBackAttempt. `called_at`, `called_by_id` and `note` say who reached the
    patient, when, and what was said: they are set by the answered attempt, so a call-back with
    no `called_at` is still open however often it was tried.
    """

    __tablename__ = "call_back"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="RESTRICT"))
    intake_id: Mapped[int] = mapped_column(ForeignKey("intake.id", ondelete="RESTRICT"))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc, index=True)
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    called_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)

    patient: Mapped[Patient] = relationship()
    intake: Mapped[Intake] = relationship()
    called_by: Mapped[User | None] = relationship()
    attempts: Mapped[list[CallBackAttempt]] = relationship(
        back_populates="call_back",
        order_by="(CallBackAttempt.attempted_at, CallBackAttempt.id)",
    )

    @property
    def last_attempt(self) -> CallBackAttempt | None:
        return self.attempts[-1] if self.attempts else None


class CallBackAttempt(db.Model):
    """One try at calling the patient back: when, by whom, answered or not, and a note.

    A note is required when the patient answered (what was said or arranged); a try that was
    not answered may say nothing (or e.g. "left a voicemail"). Kept for good.
    """

    __tablename__ = "call_back_attempt"
    __table_args__ = (
        CheckConstraint("NOT answered OR length(trim(note)) > 0", name="answered_note_given"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_back_id: Mapped[int] = mapped_column(
        ForeignKey("call_back.id", ondelete="RESTRICT"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    answered: Mapped[bool]
    note: Mapped[str] = mapped_column(Text, default="")

    call_back: Mapped[CallBack] = relationship(back_populates="attempts")
    by: Mapped[User | None] = relationship()


class QuestionnaireDraft(db.Model):
    """A booked visit's questionnaire in progress (the link or the desk): the raw answers as
    typed, the steps sent valid, the consent name. Kept server-side, never in the cookie, and
    deleted once the intake is stored."""

    __tablename__ = "questionnaire_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointment.id", ondelete="CASCADE"), unique=True
    )
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    done_steps: Mapped[list[str]] = mapped_column(JSONType, default=list)
    consent_name: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc, onupdate=now_utc)

"""What practitioners record: review decisions, needling clearances, visit outcomes, feed tokens,
and access to another practitioner's patient (covering for a colleague)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.accounts.models import StaffSession, User
from booking.db import JSONType, UTCDateTime, enum_column, now_utc
from booking.extensions import db
from booking.intake.models import Intake
from booking.scheduling.models import Appointment, Practitioner

# The muscles the clinic's materials name for back pain, in the order a chart lists them.
MUSCLES: tuple[tuple[str, str], ...] = (
    ("quadratus_lumborum", "Quadratus lumborum"),
    ("multifidus", "Multifidus"),
    ("iliocostalis_lumborum", "Iliocostalis lumborum"),
    ("iliocostalis_thoracis", "Iliocostalis thoracis"),
    ("erector_spinae", "Erector spinae (thoracolumbar)"),
    ("gluteus_medius", "Gluteus medius"),
    ("gluteus_minimus", "Gluteus minimus"),
    ("piriformis", "Piriformis"),
    ("psoas_major", "Psoas major"),
    ("other", "Other"),
)


class ReviewOutcome(enum.StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    CALLED = "called"  # the practitioner called the patient; the booking stays in the queue

    @property
    def label(self) -> str:
        """As staff pages say it: "Approved", "Declined", "Called the patient"."""
        return _REVIEW_OUTCOME_LABELS[self]


_REVIEW_OUTCOME_LABELS = {
    ReviewOutcome.APPROVED: "Approved",
    ReviewOutcome.DECLINED: "Declined",
    ReviewOutcome.CALLED: "Called the patient",
}


class ReviewDecision(db.Model):
    """A practitioner's decision on a booking held for medical review, with the why."""

    __tablename__ = "review_decision"
    __table_args__ = (CheckConstraint("length(trim(note)) > 0", name="note_given"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointment.id", ondelete="RESTRICT"), index=True
    )
    outcome: Mapped[ReviewOutcome] = mapped_column(enum_column(ReviewOutcome, "review_outcome"))
    note: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    appointment: Mapped[Appointment] = relationship()
    decided_by: Mapped[User | None] = relationship()


class NeedlingClearance(db.Model):
    """A practitioner's word on a no-needling intake: cleared for needling, or not. Newest wins."""

    __tablename__ = "needling_clearance"
    __table_args__ = (CheckConstraint("length(trim(note)) > 0", name="note_given"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    intake_id: Mapped[int] = mapped_column(ForeignKey("intake.id", ondelete="RESTRICT"), index=True)
    cleared: Mapped[bool]
    note: Mapped[str] = mapped_column(Text)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    intake: Mapped[Intake] = relationship()
    by: Mapped[User | None] = relationship()


class VisitOutcome(db.Model):
    """What a visit showed and what was done: one per appointment, editable afterwards."""

    __tablename__ = "visit_outcome"
    __table_args__ = (
        CheckConstraint("pain_now BETWEEN 0 AND 10", name="pain_now_range"),
        CheckConstraint("bad_days_week BETWEEN 0 AND 7", name="bad_days_week_range"),
        CheckConstraint("relief_days_week BETWEEN 0 AND 7", name="relief_days_week_range"),
        CheckConstraint("series_every_weeks BETWEEN 1 AND 4", name="series_every_weeks_range"),
        CheckConstraint("series_visits BETWEEN 2 AND 12", name="series_visits_range"),
        # The series plan is whole or absent: how often without how many means nothing.
        CheckConstraint(
            "(series_every_weeks IS NULL) = (series_visits IS NULL)", name="series_plan_whole"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointment.id", ondelete="RESTRICT"), unique=True
    )
    pain_now: Mapped[int]
    bad_days_week: Mapped[int]
    relief_days_week: Mapped[int | None]
    # The intake's activities re-rated, keyed like the intake: {"activity_1_score": 6, ...}.
    activity_ratings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # Codes from MUSCLES; "other" with `muscles_other` saying which.
    muscles_treated: Mapped[list[str]] = mapped_column(JSONType, default=list)
    muscles_other: Mapped[str] = mapped_column(String(200), default="")
    response: Mapped[str] = mapped_column(Text, default="")
    soreness: Mapped[str] = mapped_column(Text, default="")
    plan: Mapped[str] = mapped_column(Text, default="")
    # The plan as a series the desk or the patient can book: every N weeks, K visits.
    series_every_weeks: Mapped[int | None]
    series_visits: Mapped[int | None]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    appointment: Mapped[Appointment] = relationship()
    recorded_by: Mapped[User | None] = relationship()


class FeedToken(db.Model):
    """The secret in a practitioner's calendar-feed address; revoking it kills that address."""

    __tablename__ = "feed_token"
    __table_args__ = (
        # At most one live address per practitioner: a new one replaces the old.
        Index(
            "uq_feed_token_one_live_per_practitioner",
            "practitioner_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(
        ForeignKey("practitioner.id", ondelete="CASCADE"), index=True
    )
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    practitioner: Mapped[Practitioner] = relationship()


class PatientAccess(db.Model):
    """A practitioner opened another practitioner's patient, giving a reason (in the audit log).

    Lasts as long as the staff session it was given in: sign-out, a password change or the idle
    limit end the session and, with it (CASCADE), the access.
    """

    __tablename__ = "patient_access"
    __table_args__ = (UniqueConstraint("staff_session_id", "patient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_session_id: Mapped[str] = mapped_column(
        ForeignKey(StaffSession.id, ondelete="CASCADE")
    )
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

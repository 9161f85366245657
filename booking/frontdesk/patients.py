"""A patient as the desk sees them: visits (booked, past and to come; no holds), emergency
screenings with their call-backs, and the outcome of practitioners' reviews.

The desk never sees clinical answers or flags: screenings are read as tier and time only, and
review decisions as outcome, who and when. A review note is a practitioner's and may hold
clinical detail, so it is not read here at all. Call-back notes are the desk's own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from booking.accounts.models import User
from booking.clinical.models import ReviewDecision, ReviewOutcome
from booking.extensions import db
from booking.intake.models import CallBack, CallBackAttempt, Intake
from booking.intake.screening import Tier
from booking.patients.models import Patient
from booking.scheduling.models import HOLD_STATUSES, Appointment


def patient_visits(patient: Patient) -> list[Appointment]:
    """Every booking the patient has or had, newest first."""
    return list(db.session.scalars(
        select(Appointment).where(
            Appointment.patient_id == patient.id,
            Appointment.status.not_in(HOLD_STATUSES),
        ).order_by(Appointment.starts_at.desc())
    ))


def upcoming_visits(patient: Patient, now: datetime) -> list[Appointment]:
    """Bookings still to end that hold the practitioner's time."""
    return [v for v in patient_visits(patient) if v.ends_at > now and v.is_active]


# --- Review outcomes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewSeen:
    """A practitioner's review decision as the desk sees it: outcome, who and when; no note."""

    appointment_id: int
    outcome: ReviewOutcome
    by: str  # the practitioner's name (or email); "a former staff member" when removed
    at: datetime


def review_outcomes(appointment_ids: Iterable[int]) -> dict[int, list[ReviewSeen]]:
    """Each appointment's review decisions, oldest first. Reads no note column."""
    ids = list(appointment_ids)
    found: dict[int, list[ReviewSeen]] = defaultdict(list)
    if not ids:
        return found
    rows = db.session.execute(
        select(
            ReviewDecision.appointment_id, ReviewDecision.outcome, ReviewDecision.decided_at,
            User.name, User.email,
        )
        .outerjoin(User, ReviewDecision.decided_by_id == User.id)
        .where(ReviewDecision.appointment_id.in_(ids))
        .order_by(ReviewDecision.decided_at, ReviewDecision.id)
    )
    for appointment_id, outcome, at, name, email in rows:
        by = name or email or "a former staff member"
        found[appointment_id].append(ReviewSeen(appointment_id, outcome, by, at))
    return found


# --- Emergency screenings and call-backs ---------------------------------------------------------


@dataclass(frozen=True)
class ScreeningSeen:
    """A screening that raised a call-back (an emergency), as the desk sees it: when and the
    tier, never the answers; with its call-backs and every try at reaching the patient."""

    intake_id: int
    submitted_at: datetime
    tier: Tier
    call_backs: tuple[CallBack, ...]


def patient_call_backs(patient_id: int) -> list[CallBack]:
    """The patient's call-backs, newest first, with their tries (oldest first) and callers."""
    return list(db.session.scalars(
        select(CallBack)
        .where(CallBack.patient_id == patient_id)
        .options(
            selectinload(CallBack.called_by),
            selectinload(CallBack.attempts).selectinload(CallBackAttempt.by),
        )
        .order_by(CallBack.raised_at.desc(), CallBack.id.desc())
    ))


def emergency_screenings(patient: Patient) -> list[ScreeningSeen]:
    """The patient's emergency-tier screenings (and any other that raised a call-back), newest
    first. Only the intake's id, time and tier are read."""
    call_backs = patient_call_backs(patient.id)
    by_intake: dict[int, list[CallBack]] = defaultdict(list)
    for call_back in call_backs:
        by_intake[call_back.intake_id].append(call_back)
    rows = db.session.execute(
        select(Intake.id, Intake.submitted_at, Intake.tier)
        .where(
            Intake.patient_id == patient.id,
            or_(Intake.tier == Tier.EMERGENCY.value, Intake.id.in_(list(by_intake))),
        )
        .order_by(Intake.submitted_at.desc(), Intake.id.desc())
    )
    return [
        ScreeningSeen(intake_id, submitted_at, Tier(tier), tuple(by_intake[intake_id]))
        for intake_id, submitted_at, tier in rows
    ]

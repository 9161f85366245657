"""Visit outcomes: what a visit showed and what was done, recorded once it has started and
correctable afterwards. Viewing and recording are audited, with field names, never values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from booking.accounts.models import User
from booking.audit.service import record_audit, record_view
from booking.clinical.errors import ClinicalError
from booking.clinical.models import VisitOutcome
from booking.clinical.summary import Activity, activities_of
from booking.clinical.visits import SERIES_STATUSES, VisitRow, intakes_of, visit_rows
from booking.extensions import db
from booking.intake.models import Intake
from booking.scheduling.models import Appointment

# Outcomes are recorded for visits that took place or are taking place.
OUTCOME_STATUSES = SERIES_STATUSES


@dataclass(frozen=True)
class OutcomeEntry:
    pain_now: int
    bad_days_week: int
    relief_days_week: int | None
    activity_ratings: dict[str, int]
    muscles_treated: list[str]
    muscles_other: str
    response: str
    soreness: str
    plan: str


@dataclass(frozen=True)
class OutcomeContext:
    """What the outcome page shows around its form."""

    row: VisitRow
    outcome: VisitOutcome | None
    activities: tuple[Activity, ...]
    baseline: Intake | None
    can_record: bool


def outcome_context(appointment: Appointment, now: datetime) -> OutcomeContext:
    """The visit, its outcome so far and the activities to re-rate; audited."""
    row = visit_rows([appointment])[0]
    baseline = None
    if appointment.patient_id is not None:
        baseline = intakes_of([appointment.patient_id])[appointment.patient_id].baseline(
            appointment.starts_at
        )
    outcome = _outcome_of(appointment)
    record_view("visit_outcome_viewed", "appointment", appointment.id)
    return OutcomeContext(
        row=row,
        outcome=outcome,
        activities=activities_of(baseline.answers or {}) if baseline else (),
        baseline=baseline,
        can_record=can_record_outcome(appointment, now),
    )


def can_record_outcome(appointment: Appointment, now: datetime) -> bool:
    """A visit that has started and was not cancelled, missed or left waiting for review."""
    return (
        appointment.patient_id is not None
        and appointment.status in OUTCOME_STATUSES
        and appointment.starts_at <= now
    )


def record_outcome(
    appointment: Appointment, entry: OutcomeEntry, by: User, now: datetime
) -> VisitOutcome:
    """Store (or correct) the visit's outcome; audited with the changed field names only."""
    if not can_record_outcome(appointment, now):
        raise ClinicalError("An outcome can be recorded once the visit has started.")
    outcome = _outcome_of(appointment)
    created = outcome is None
    if outcome is None:
        outcome = VisitOutcome(appointment_id=appointment.id)
        db.session.add(outcome)
    changed = []
    for name, value in vars(entry).items():
        if getattr(outcome, name, None) != value:
            setattr(outcome, name, value)
            changed.append(name)
    outcome.recorded_by_id = by.id
    outcome.recorded_at = now
    db.session.flush()
    record_audit(
        "visit_outcome_recorded" if created else "visit_outcome_changed",
        "appointment", appointment.id, outcome_id=outcome.id, fields=sorted(changed),
    )
    return outcome


def needles_used(appointment_id: int) -> bool:
    """Were needles used at this visit, as far as its recorded outcome says?

    No field of VisitOutcome says "needles were used" in so many words. The nearest is the
    muscles treated (the clinic treats muscles mainly with dry needling), so a visit with any
    muscle treated counts as needled: this errs towards giving the needling safety advice. No
    outcome recorded (yet): False.
    """
    muscles = db.session.scalar(
        select(VisitOutcome.muscles_treated).where(VisitOutcome.appointment_id == appointment_id)
    )
    return bool(muscles)


def _outcome_of(appointment: Appointment) -> VisitOutcome | None:
    return db.session.scalar(
        select(VisitOutcome).where(VisitOutcome.appointment_id == appointment.id)
    )

"""Visit outcomes: what a visit showed and what was done, recorded once it has started and
correctable afterwards. Viewing and recording are audited, with field names, never values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from booking.accounts.models import User
from booking.audit.service import record_audit, record_view
from booking.clinic.service import get_clinic
from booking.clinical.errors import ClinicalError
from booking.clinical.models import VisitOutcome
from booking.clinical.summary import Activity, activities_of
from booking.clinical.visits import SERIES_STATUSES, VisitRow, intakes_of, visit_rows
from booking.extensions import db
from booking.intake.models import Intake
from booking.scheduling.models import (
    BOOKED_STATUSES,
    Appointment,
    Practitioner,
    Service,
    VisitKind,
)
from booking.scheduling.service import active_services, bookable_practitioner_ids

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
    series_every_weeks: int | None = None  # the plan as a series to book: both or neither
    series_visits: int | None = None


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


# --- The series planned on an outcome, as the desk and the patient see it ----------------------


@dataclass(frozen=True)
class SeriesSuggestion:
    """A practitioner's planned series: who, what, from when, how often, how many. Nothing
    clinical, so the desk and the patient may see it."""

    practitioner: Practitioner
    service: Service | None  # a follow-up the practitioner gives; None when they give none
    first_day: date  # the plan's interval after the visit, tomorrow at the earliest
    wall: time  # the visit's local time
    every_weeks: int
    visits: int
    booked_after: bool  # a visit is already booked after the one that planned the series

    @property
    def summary(self) -> str:
        often = "every week" if self.every_weeks == 1 else f"every {self.every_weeks} weeks"
        return f"{often} × {self.visits} visits"


def suggested_series(patient_id: int, now: datetime) -> SeriesSuggestion | None:
    """The series planned on the patient's latest recorded outcome, when it plans one."""
    outcome = _latest_outcome(patient_id)
    if outcome is None or outcome.series_every_weeks is None or outcome.series_visits is None:
        return None
    visit, zone = outcome.appointment, get_clinic().zone
    local = visit.starts_at.astimezone(zone)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return SeriesSuggestion(
        practitioner=visit.practitioner,
        service=_follow_up_of(visit),
        first_day=max(local.date() + timedelta(weeks=outcome.series_every_weeks), tomorrow),
        wall=local.time(),
        every_weeks=outcome.series_every_weeks,
        visits=outcome.series_visits,
        booked_after=_booked_after(visit),
    )


def _latest_outcome(patient_id: int) -> VisitOutcome | None:
    return db.session.scalar(
        select(VisitOutcome)
        .join(Appointment, VisitOutcome.appointment_id == Appointment.id)
        .where(Appointment.patient_id == patient_id)
        .order_by(Appointment.starts_at.desc(), Appointment.id.desc())
        .limit(1)
    )


def _follow_up_of(visit: Appointment) -> Service | None:
    """The visit's own service when it is a follow-up, else the first follow-up its
    practitioner gives."""
    follow_ups = [s for s in active_services() if s.kind == VisitKind.FOLLOW_UP]
    follow_ups.sort(key=lambda s: s.id != visit.service_id)
    return next(
        (s for s in follow_ups if bookable_practitioner_ids(s, visit.practitioner_id)), None
    )


def _booked_after(visit: Appointment) -> bool:
    return db.session.scalar(
        select(Appointment.id).where(
            Appointment.patient_id == visit.patient_id,
            Appointment.starts_at > visit.starts_at,
            Appointment.status.in_(BOOKED_STATUSES),
        ).limit(1)
    ) is not None


def _outcome_of(appointment: Appointment) -> VisitOutcome | None:
    return db.session.scalar(
        select(VisitOutcome).where(VisitOutcome.appointment_id == appointment.id)
    )

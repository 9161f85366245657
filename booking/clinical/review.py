"""Bookings held for medical review: the queue with why each is held, the decision on one, and
needling clearance for a no-needling intake. Every view and decision is audited.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from booking.accounts.models import User
from booking.audit.service import record_audit, record_view
from booking.clinical.errors import ClinicalError, ReviewNotPending
from booking.clinical.models import NeedlingClearance, ReviewDecision, ReviewOutcome
from booking.clinical.summary import flag_lines
from booking.clinical.visits import (
    PatientIntakes,
    VisitRow,
    intakes_of,
    load_appointments,
    visit_rows,
)
from booking.extensions import db
from booking.intake.models import Intake
from booking.intake.screening import Level, Screening
from booking.intake.urgency import urgent_appointment_ids
from booking.scheduling.changes import cancel_appointment
from booking.scheduling.models import Appointment, AppointmentStatus
from booking.scheduling.signals import review_decided

REVIEW_DEADLINE = timedelta(hours=24)
DECLINE_REASON = "Declined after clinical review"


# --- Needling clearance -----------------------------------------------------------------------


def record_clearance(intake: Intake, cleared: bool, note: str, by: User) -> NeedlingClearance:
    """Record that needling is cleared (or still not) for a no-needling intake; audited."""
    note = note.strip()
    if not intake.no_needling:
        raise ClinicalError("Screening did not rule out needling for this intake.")
    if not note:
        raise ClinicalError("Write a note saying why.")
    clearance = NeedlingClearance(intake_id=intake.id, cleared=cleared, note=note, by_id=by.id)
    db.session.add(clearance)
    db.session.flush()
    record_audit(
        "needling_clearance_recorded", "intake", intake.id, clearance_id=clearance.id,
        cleared=cleared,
    )
    return clearance


# --- The review queue -------------------------------------------------------------------------


@dataclass(frozen=True)
class HeldBooking:
    row: VisitRow
    reasons: tuple[str, ...]  # the review-level flags that held it, in the screening's words
    calls: tuple[ReviewDecision, ...]  # "called the patient" notes so far, oldest first
    due: bool  # undecided with less than REVIEW_DEADLINE to go
    urgent: bool = False  # screening asks for the review today, whatever the visit's date

    @property
    def appointment(self) -> Appointment:
        return self.row.appointment


def review_queue(practitioner_ids: list[int] | None, now: datetime) -> list[HeldBooking]:
    """Bookings awaiting review with why each is held: urgent reviews first (call today,
    whatever the visit's date), then soonest first; audited."""
    appointments = load_appointments(
        (Appointment.status == AppointmentStatus.AWAITING_REVIEW,), practitioner_ids
    )
    intakes = intakes_of(a.patient_id for a in appointments if a.patient_id is not None)
    calls = _calls_on(appointments)
    urgent = urgent_appointment_ids(a.id for a in appointments)
    held = [
        HeldBooking(
            row=row,
            reasons=_review_reasons(intakes, row.appointment),
            calls=tuple(calls[row.appointment.id]),
            due=row.appointment.starts_at - REVIEW_DEADLINE <= now,
            urgent=row.appointment.id in urgent,
        )
        for row in visit_rows(appointments)
    ]
    held.sort(key=lambda booking: not booking.urgent)  # stable: each group stays soonest first
    if held:
        record_view(
            "review_queue_viewed", "appointment", None,
            appointment_ids=[h.appointment.id for h in held],
        )
    return held


def _calls_on(appointments: list[Appointment]) -> dict[int, list[ReviewDecision]]:
    """The decisions noted so far on each appointment, oldest first."""
    calls: dict[int, list[ReviewDecision]] = defaultdict(list)
    if not appointments:
        return calls
    for decision in db.session.scalars(
        select(ReviewDecision)
        .where(ReviewDecision.appointment_id.in_([a.id for a in appointments]))
        .options(selectinload(ReviewDecision.decided_by))
        .order_by(ReviewDecision.decided_at, ReviewDecision.id)
    ):
        calls[decision.appointment_id].append(decision)
    return calls


def _review_reasons(
    intakes: dict[int, PatientIntakes], appointment: Appointment
) -> tuple[str, ...]:
    """The emergency and review flags of the visit's intake (else the baseline's)."""
    if appointment.patient_id is None:
        return ()
    record = intakes[appointment.patient_id]
    intake = record.own(appointment) or record.baseline(appointment.starts_at)
    if intake is None:
        return ()
    lines = flag_lines(Screening.from_dict(intake.screening), intake.answers or {})
    return tuple(
        line.summary for line in lines if line.level in (Level.EMERGENCY, Level.REVIEW)
    )


def decide_review(
    appointment: Appointment, outcome: ReviewOutcome, note: str, by: User
) -> ReviewDecision:
    """Approve (confirm), decline (cancel) or note a call; audited. Approve and decline send
    `review_decided`, on which the patient's review-outcome email is queued.
    """
    note = note.strip()
    if not note:
        raise ClinicalError("Write a note: it explains the decision to your colleagues.")
    if appointment.status != AppointmentStatus.AWAITING_REVIEW:
        raise ReviewNotPending("This booking is no longer awaiting review.")
    decision = ReviewDecision(
        appointment_id=appointment.id, outcome=outcome, note=note, decided_by_id=by.id
    )
    db.session.add(decision)
    db.session.flush()
    record_audit(
        "review_decided", "appointment", appointment.id,
        outcome=outcome.value, decision_id=decision.id,
    )
    if outcome is ReviewOutcome.APPROVED:
        # Same practitioner, same time, an active status before and after: nothing to re-check.
        appointment.status = AppointmentStatus.CONFIRMED
        db.session.flush()
        review_decided.send(appointment, outcome=outcome.value)
    elif outcome is ReviewOutcome.DECLINED:
        # Through the change service, so the patient's notice and calendar entry follow.
        cancel_appointment(appointment, DECLINE_REASON, "clinic")
        review_decided.send(appointment, outcome=outcome.value)
    return decision

"""Which review-level flags a practitioner already approved for a patient: the answer to the
question the intake service asks before screening decides whether a booking is held.

Why here and not in `intake`: an approval is a `ReviewDecision`, which is clinical's (a layer
above intake). Intake must not import it, and reading the `review_decision` table behind
clinical's back would hide an upward dependency that the layer test cannot see. So intake
declares the question (`booking.intake.service.ApprovalLookup`), this module answers it with
clinical's own model, and `create_app` connects the two (`register_approval_lookup`), the way
it connects the receivers of intake's and scheduling's signals. What is done with the answer
is pure and lives beside screening (`booking.intake.approvals.apply_approvals`).
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from booking.clinic.service import get_clinic
from booking.clinical.models import ReviewDecision, ReviewOutcome
from booking.extensions import db
from booking.intake.approvals import Approval
from booking.intake.models import Intake
from booking.intake.screening import Level, Screening
from booking.intake.service import Respondent, set_approval_lookup
from booking.patients.models import Patient

# The decisions that settle a review; "called the patient" leaves it open.
SETTLING = (ReviewOutcome.APPROVED, ReviewOutcome.DECLINED)


def approved_flags(respondent: Respondent) -> list[Approval]:
    """The review-level flags approved for anyone with this email and date of birth (the way
    returning patients and a recent emergency are matched), each with the clinic day of the
    approval and the answers of the intake it was approved on.

    The intake behind a decision is the newest one given for the booking by the time of the
    decision (the one the practitioner read). Per rule id the newest settling decision counts:
    a later decline of a booking held for the same flag withdraws an earlier approval. No email
    (a patient booked by phone without one) finds nothing: approvals are never matched on the
    date of birth alone.
    """
    email = respondent.email.strip().lower()
    if not email:
        return []
    same_person = select(Patient.id).where(
        func.lower(Patient.email) == email,
        Patient.date_of_birth == respondent.date_of_birth,
    )
    rows = db.session.execute(
        select(ReviewDecision, Intake)
        .join(Intake, Intake.appointment_id == ReviewDecision.appointment_id)
        .where(
            Intake.patient_id.in_(same_person),
            ReviewDecision.outcome.in_(SETTLING),
            Intake.submitted_at <= ReviewDecision.decided_at,
        )
        .order_by(ReviewDecision.decided_at, ReviewDecision.id, Intake.submitted_at, Intake.id)
    ).all()
    read: dict[int, tuple[ReviewDecision, Intake]] = {}
    for decision, intake in rows:  # the newest intake before each decision wins
        read[decision.id] = (decision, intake)
    zone = get_clinic().zone
    latest: dict[str, Approval | None] = {}
    for decision, intake in read.values():  # oldest decision first: the newest wins
        on = decision.decided_at.astimezone(zone).date()
        for flag in Screening.from_dict(intake.screening).flags:
            if flag.level is not Level.REVIEW:
                continue
            approved = decision.outcome is ReviewOutcome.APPROVED
            latest[flag.rule_id] = (
                Approval(flag.rule_id, on, dict(intake.answers or {})) if approved else None
            )
    return [approval for approval in latest.values() if approval is not None]


def register_approval_lookup(app: Flask) -> None:
    """Let the intake service ask this module what was approved (called by `create_app`)."""
    set_approval_lookup(app, approved_flags)

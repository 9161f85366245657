"""Which flags a practitioner already approved for a patient (`clinical.approvals`), as the
intake service finds them through the lookup `create_app` registers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import count

from booking.accounts.models import User
from booking.clinic.service import get_clinic
from booking.clinical.approvals import approved_flags
from booking.clinical.models import ReviewDecision, ReviewOutcome
from booking.extensions import db
from booking.intake.service import Respondent, approval_lookup
from booking.patients.models import Patient
from booking.scheduling.models import AppointmentStatus, Practitioner, Service
from tests.clinician.helpers import add_intake
from tests.factories import make_appointment, make_patient

DOB = date(1980, 5, 17)
NOW = datetime.now(UTC).replace(microsecond=0)
_HOURS = count()


def held_booking(world, patient: Patient, days_ago: int, **answers):
    """A booking held for review on `days_ago`, with its intake; returns the appointment."""
    submitted = NOW - timedelta(days=days_ago)
    appointment = make_appointment(
        db.session.get(Practitioner, world.maya),
        db.session.get(Service, world.first_visit),
        submitted + timedelta(days=3, hours=next(_HOURS)),  # never overlapping
        status=AppointmentStatus.AWAITING_REVIEW,
        patient=patient,
    )
    add_intake(patient, appointment, submitted_at=submitted, **answers)
    return appointment


def decide(appointment, outcome: ReviewOutcome, days_ago: float) -> None:
    by = db.session.query(User).filter_by(email="maya@example.com").one()
    db.session.add(
        ReviewDecision(
            appointment_id=appointment.id,
            outcome=outcome,
            note="Read the answers.",
            decided_by_id=by.id,
            decided_at=NOW - timedelta(days=days_ago),
        )
    )
    db.session.flush()


def rule_ids(respondent: Respondent) -> set[str]:
    return {approval.rule_id for approval in approved_flags(respondent)}


def test_the_review_flags_of_an_approved_booking_are_approved(app_ctx, world):
    patient = make_patient(email="Robin@Example.com", date_of_birth=DOB)
    booking = held_booking(
        world, patient, 30, cancer_history="yes", blood_thinners="yes", night_pain="yes"
    )
    decide(booking, ReviewOutcome.APPROVED, 29)

    (approval,) = approved_flags(Respondent(" robin@example.COM ", DOB))

    assert approval.rule_id == "cancer_history"  # not the precaution or the single context note
    assert approval.answers["cancer_history"] == "yes"
    # The clinic's day of the decision, as staff pages show it.
    assert approval.approved_on == (NOW - timedelta(days=29)).astimezone(get_clinic().zone).date()
    assert approval_lookup() is approved_flags  # registered by create_app


def test_only_approved_decisions_of_the_same_person_count(app_ctx, world):
    patient = make_patient(email="robin@example.com", date_of_birth=DOB)
    called = held_booking(world, patient, 20, cancer_history="yes")
    decide(called, ReviewOutcome.CALLED, 19)
    undecided = held_booking(world, patient, 10, fever_now="yes")
    other = make_patient(email="robin@example.com", date_of_birth=date(1981, 1, 1))
    decide(held_booking(world, other, 10, major_trauma="yes"), ReviewOutcome.APPROVED, 9)

    assert rule_ids(Respondent("robin@example.com", DOB)) == set()
    assert undecided.id  # held, nothing decided yet
    assert rule_ids(Respondent("robin@example.com", date(1981, 1, 1))) == {"major_trauma"}


def test_a_later_decline_withdraws_an_earlier_approval(app_ctx, world):
    patient = make_patient(email="robin@example.com", date_of_birth=DOB)
    decide(held_booking(world, patient, 60, cancer_history="yes"), ReviewOutcome.APPROVED, 59)
    decide(held_booking(world, patient, 30, cancer_history="yes", major_trauma="yes"),
           ReviewOutcome.APPROVED, 29)
    decide(held_booking(world, patient, 10, cancer_history="yes"), ReviewOutcome.DECLINED, 9)

    assert rule_ids(Respondent("robin@example.com", DOB)) == {"major_trauma"}


def test_an_intake_given_after_the_decision_was_not_what_was_approved(app_ctx, world):
    patient = make_patient(email="robin@example.com", date_of_birth=DOB)
    booking = held_booking(world, patient, 30, cancer_history="yes")
    decide(booking, ReviewOutcome.APPROVED, 29)
    add_intake(patient, booking, submitted_at=NOW - timedelta(days=5), weight_loss="yes")

    assert rule_ids(Respondent("robin@example.com", DOB)) == {"cancer_history"}


def test_no_email_matches_nobody(app_ctx, world):
    patient = make_patient(email="", date_of_birth=DOB)
    decide(held_booking(world, patient, 30, cancer_history="yes"), ReviewOutcome.APPROVED, 29)

    assert approved_flags(Respondent("", DOB)) == []

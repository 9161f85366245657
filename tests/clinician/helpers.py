"""Builders for the practitioners' tests: staff, intakes with real screening, visits in a series."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from booking.accounts.models import RoleName
from booking.clinical.models import VisitOutcome
from booking.extensions import db
from booking.intake.models import Intake
from booking.intake.questionnaire import QUESTIONNAIRE_VERSION
from booking.intake.screening import screen
from booking.patients.models import Patient
from booking.scheduling.models import Appointment, AppointmentStatus, Service, VisitKind
from tests.factories import make_appointment, make_patient, make_practitioner, make_service
from tests.helpers import make_staff

ZONE = ZoneInfo("America/New_York")

# A believable first-visit answer set that screens "clear"; tests add flags on top.
BASE_ANSWERS: dict[str, Any] = {
    "pain_areas": ["low_back_left", "buttock_left"],
    "duration": "over_3_months",
    "pattern": ["morning_stiffness_eases", "worse_sitting"],
    "pain_now": 7,
    "pain_worst_week": 8,
    "pain_average_week": 6,
    "bad_days_week": 5,
    "relief_days_week": 4,
    "flare_recovery_days": 3,
    "activity_1": "Gardening",
    "activity_1_score": 3,
    "activity_2": "Sitting through a film",
    "activity_2_score": 4,
    "goals": "Dig the vegetable beds again",
    "date_of_birth": "1980-05-17",
}


@dataclass
class World:
    """Ids of the rows every test starts with."""

    first_visit: int
    follow_up: int
    maya: int
    sam: int
    maya_email: str = "maya@example.com"
    sam_email: str = "sam@example.com"
    desk_email: str = "desk@example.com"
    admin_email: str = "admin@example.com"


def build_world() -> World:
    """Two services, two practitioners with accounts, a front-desk and an admin account (all
    signing in with tests.helpers.STAFF_PASSWORD)."""
    first = make_service(
        slug="first-visit", name="First visit", minutes=60, kind=VisitKind.FIRST_VISIT
    )
    follow = make_service(slug="follow-up", name="Follow-up", minutes=30)
    maya_user = make_staff("maya@example.com", RoleName.PRACTITIONER, name="Maya Chen")
    sam_user = make_staff("sam@example.com", RoleName.PRACTITIONER, name="Sam Okafor")
    make_staff("desk@example.com", RoleName.FRONT_DESK, name="Dana Desk")
    make_staff("admin@example.com", RoleName.ADMIN, name="Alex Admin")
    maya = make_practitioner(
        services=[first, follow], name="Maya Chen", slug="maya-chen", user_id=maya_user.id
    )
    sam = make_practitioner(
        services=[first, follow], name="Sam Okafor", slug="sam-okafor", user_id=sam_user.id
    )
    return World(first.id, follow.id, maya.id, sam.id)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A clinic wall-clock time as aware UTC."""
    return datetime.combine(day, time(hour, minute), ZONE).astimezone(UTC)


def add_intake(
    patient: Patient,
    appointment: Appointment | None = None,
    kind: str = "first_visit",
    submitted_at: datetime | None = None,
    **answers: Any,
) -> Intake:
    """An intake screened by the real rules; `answers` add to (or replace) BASE_ANSWERS."""
    given = {**BASE_ANSWERS, **answers} if kind == "first_visit" else dict(answers)
    given = {key: value for key, value in given.items() if value is not None}
    screening = screen(given, (submitted_at or datetime.now(UTC)).date())
    intake = Intake(
        patient_id=patient.id,
        appointment_id=appointment.id if appointment else None,
        kind=kind,
        questionnaire_version=QUESTIONNAIRE_VERSION,
        answers=given,
        ruleset_version=screening.ruleset_version,
        tier=screening.tier.value,
        screening=screening.to_dict(),
        no_needling=screening.no_needling,
        consent_version="2026-11" if kind == "first_visit" else None,
        consent_name=patient.full_name if kind == "first_visit" else None,
        consent_at=(submitted_at or datetime.now(UTC)) if kind == "first_visit" else None,
        submitted_at=submitted_at or datetime.now(UTC),
    )
    db.session.add(intake)
    db.session.flush()
    return intake


def add_visit(
    practitioner_id: int,
    service_id: int,
    starts_at: datetime,
    patient: Patient,
    status: AppointmentStatus = AppointmentStatus.CONFIRMED,
) -> Appointment:
    from booking.scheduling.models import Practitioner

    practitioner = db.session.get(Practitioner, practitioner_id)
    service = db.session.get(Service, service_id)
    return make_appointment(practitioner, service, starts_at, status=status, patient=patient)


def add_outcome(appointment: Appointment, pain: int, bad_days: int, **fields: Any) -> VisitOutcome:
    outcome = VisitOutcome(
        appointment_id=appointment.id,
        pain_now=pain,
        bad_days_week=bad_days,
        relief_days_week=fields.pop("relief_days_week", None),
        activity_ratings=fields.pop("activity_ratings", {}),
        muscles_treated=fields.pop("muscles_treated", ["multifidus"]),
        **fields,
    )
    db.session.add(outcome)
    db.session.flush()
    return outcome


def series_with_outcomes(
    world: World,
    baseline_pain: int,
    baseline_bad_days: int,
    outcomes: list[tuple[int, int] | None],
    now: datetime,
) -> Patient:
    """A patient with an intake and one completed weekly visit per entry of `outcomes` (the first
    a first visit), each with an outcome (pain, bad days) unless the entry is None.
    """
    patient = make_patient(first_name="Ana", last_name="Silva")
    start = now - timedelta(weeks=len(outcomes) + 1)
    add_intake(
        patient,
        submitted_at=start - timedelta(days=2),
        pain_now=baseline_pain,
        bad_days_week=baseline_bad_days,
    )
    for n, entry in enumerate(outcomes):
        service = world.first_visit if n == 0 else world.follow_up
        visit = add_visit(
            world.maya, service, start + timedelta(weeks=n), patient, AppointmentStatus.COMPLETED
        )
        if entry is not None:
            add_outcome(visit, *entry)
    return patient


__all__ = [
    "BASE_ANSWERS",
    "World",
    "add_intake",
    "add_outcome",
    "add_visit",
    "build_world",
    "local",
    "make_patient",
    "series_with_outcomes",
]


def open_with_reason(client, patient_id: int, reason: str = "Covering for a colleague") -> None:
    """Open another practitioner's patient as a practitioner would: state why on the form."""
    response = client.post(
        f"/staff/clinician/patients/{patient_id}/access", data={"reason": reason}
    )
    assert response.status_code == 303, response.status_code

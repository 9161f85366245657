"""A believable demo clinic for `make run` and for trying the site."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from booking.accounts.models import RoleName
from booking.accounts.service import create_staff_user
from booking.clinic.service import get_clinic
from booking.db import now_utc
from booking.extensions import db
from booking.intake.models import Intake
from booking.intake.questionnaire import FIRST_VISIT_STEPS, QUESTIONNAIRE_VERSION
from booking.intake.screening import screen
from booking.intake.service import current_consent
from booking.patients.models import Patient
from booking.scheduling.models import (
    Appointment,
    AppointmentStatus,
    Practitioner,
    Service,
    VisitKind,
    WorkingHours,
)
from booking.scheduling.service import place_visit

DEMO_PASSWORD = "demo-clinic-2026"

SERVICES = [
    dict(
        slug="first-visit",
        name="First visit: assessment and dry needling",
        minutes=60,
        buffer_after_minutes=10,
        kind=VisitKind.FIRST_VISIT,
        description="A full assessment of your back pain and your first treatment.",
    ),
    dict(
        slug="follow-up",
        name="Follow-up dry needling",
        minutes=30,
        buffer_after_minutes=5,
        kind=VisitKind.FOLLOW_UP,
        description="A treatment session for returning patients.",
    ),
    dict(
        slug="acupuncture",
        name="Acupuncture",
        minutes=45,
        buffer_after_minutes=10,
        kind=VisitKind.FOLLOW_UP,
        description="Acupuncture for returning patients.",
    ),
]

# (name, slug, title, services, {weekday: [(start, end), ...]})
PRACTITIONERS = [
    (
        "Maya Chen",
        "maya-chen",
        "Physiotherapist",
        ["first-visit", "follow-up"],
        {d: [("08:00", "12:00"), ("13:00", "17:00")] for d in range(5)},
    ),
    (
        "Sam Okafor",
        "sam-okafor",
        "Doctor of Physical Therapy",
        ["first-visit", "follow-up"],
        {0: [("10:00", "18:30")], 2: [("10:00", "18:30")], 3: [("10:00", "18:30")],
         5: [("09:00", "13:00")]},
    ),
    (
        "Lena Fischer",
        "lena-fischer",
        "Acupuncturist and physiotherapist",
        ["first-visit", "follow-up", "acupuncture"],
        {1: [("08:30", "16:00")], 3: [("08:30", "16:00")], 4: [("12:00", "19:00")]},
    ),
]

PATIENTS = [
    ("Ana", "Silva", date(1971, 4, 2)),
    ("Ben", "Walker", date(1985, 9, 14)),
    ("Chloe", "Martin", date(1990, 1, 30)),
    ("David", "Nguyen", date(1962, 7, 8)),
    ("Eva", "Kowalski", date(1978, 11, 21)),
    ("Farid", "Haddad", date(1969, 3, 17)),
    ("Grace", "Obi", date(1995, 6, 5)),
    ("Hugo", "Lambert", date(1958, 12, 1)),
]
RETURNING = 4  # the first four came three weeks ago: their first-visit questionnaire is done
# A first visit's answers with nothing of concern, for the returning demo patients.
DEMO_ANSWERS = {
    "pain_areas": ["low_back_left", "buttock_left"],
    "duration": "over_3_months",
    "pattern": ["morning_stiffness_eases", "worse_sitting"],
    "pain_now": 6,
    "pain_worst_week": 8,
    "pain_average_week": 5,
    "bad_days_week": 4,
    "relief_days_week": 3,
    "activity_1": "Gardening",
    "activity_1_score": 4,
    "goals": "Walk the dog without stopping",
}


def _time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def seed_demo_clinic(today: date | None = None) -> str:
    """Add the demo practitioners, services, hours, staff and a week of visits. Flushes only."""
    clinic = get_clinic()
    services = {spec["slug"]: Service(**spec) for spec in SERVICES}
    db.session.add_all(services.values())
    practitioners = []
    for name, slug, title, offered, week in PRACTITIONERS:
        practitioner = Practitioner(name=name, slug=slug, title=title)
        practitioner.services = [services[s] for s in offered]
        practitioner.hours = [
            WorkingHours(weekday=day, starts=_time(start), ends=_time(end))
            for day, intervals in week.items()
            for start, end in intervals
        ]
        practitioners.append(practitioner)
    db.session.add_all(practitioners)
    patients = [
        Patient(
            first_name=first,
            last_name=last,
            date_of_birth=born,
            email=f"{first.lower()}.{last.lower()}@example.com",
            phone=f"(555) 01{i}-44{i}{i}",
        )
        for i, (first, last, born) in enumerate(PATIENTS)
    ]
    db.session.add_all(patients)
    db.session.flush()
    _seed_first_visit_intakes(patients[:RETURNING], clinic.zone, today)
    visits = _seed_week_of_visits(clinic.zone, practitioners, services, patients, today)
    _seed_staff(practitioners)
    db.session.flush()
    return (
        f"Seeded {clinic.name}: {len(practitioners)} practitioners, {len(services)} services, "
        f"{len(patients)} patients, {visits} visits. Staff password: {DEMO_PASSWORD}"
    )


def _seed_first_visit_intakes(patients: list[Patient], zone, today: date | None) -> None:
    """Returning patients: a clear first-visit questionnaire, answered three weeks ago."""
    day = (today or now_utc().astimezone(zone).date()) - timedelta(days=21)
    answered = datetime.combine(day, time(10, 0), zone)
    no_to_everything = {
        question.id: "no"
        for step in FIRST_VISIT_STEPS
        for question in step.questions
        if question.kind in ("yes_no", "yes_no_unsure") and question.follow_up_of is None
    }
    consent = current_consent()
    for patient in patients:
        answers = {
            **no_to_everything, **DEMO_ANSWERS,
            "date_of_birth": patient.date_of_birth.isoformat(),
        }
        screening = screen(answers, day)
        db.session.add(Intake(
            patient_id=patient.id, kind="first_visit", questionnaire_version=QUESTIONNAIRE_VERSION,
            answers=answers, ruleset_version=screening.ruleset_version,
            tier=screening.tier.value, screening=screening.to_dict(),
            no_needling=screening.no_needling, consent_version=consent.version,
            consent_name=patient.full_name, consent_at=answered, submitted_at=answered,
        ))


def _seed_week_of_visits(zone, practitioners, services, patients, today) -> int:
    rng = random.Random(2026)
    today = today or now_utc().astimezone(zone).date()
    count = 0
    for offset in range(1, 8):
        day = today + timedelta(days=offset)
        for practitioner in practitioners:
            for hours in [h for h in practitioner.hours if h.weekday == day.weekday()]:
                start = datetime.combine(day, hours.starts, zone)
                end = datetime.combine(day, hours.ends, zone)
                while start < end:
                    service = services[rng.choice(["first-visit", "follow-up", "follow-up"])]
                    visit_end = start + timedelta(minutes=service.minutes)
                    if service in practitioner.services and visit_end <= end and rng.random() < 0.3:
                        # Follow-ups are for returning patients; first visits for new ones.
                        returning = service.kind == VisitKind.FOLLOW_UP
                        who = patients[:RETURNING] if returning else patients[RETURNING:]
                        db.session.add(_visit(practitioner, service, rng.choice(who), start))
                        count += 1
                        start = _next_half_hour(
                            visit_end + timedelta(minutes=service.buffer_after_minutes)
                        )
                    else:
                        start += timedelta(minutes=30)
    return count


def _next_half_hour(moment: datetime) -> datetime:
    """The first :00 or :30 at or after `moment`, so demo visits sit on the booking grid."""
    past = timedelta(minutes=moment.minute % 30, seconds=moment.second)
    return moment if not past else moment - past + timedelta(minutes=30)


def _visit(practitioner, service, patient, start) -> Appointment:
    visit = Appointment(
        practitioner=practitioner,
        service=service,
        patient=patient,
        status=AppointmentStatus.CONFIRMED,
        source="desk",
    )
    place_visit(visit, service, start)
    return visit


def _seed_staff(practitioners: list[Practitioner]) -> None:
    create_staff_user("admin@clinic.example", DEMO_PASSWORD, [RoleName.ADMIN], name="Alex Admin")
    create_staff_user(
        "desk@clinic.example", DEMO_PASSWORD, [RoleName.FRONT_DESK], name="Dana Desk"
    )
    for practitioner in practitioners:
        user = create_staff_user(
            f"{practitioner.slug.split('-')[0]}@clinic.example",
            DEMO_PASSWORD,
            [RoleName.PRACTITIONER],
            name=practitioner.name,
        )
        practitioner.user_id = user.id

"""What the front-desk tests share: the frozen Monday, clinic wall-clock times, the staff they
sign in as, and adding visits and call-backs.

A plain module, not a conftest: the test modules and tests/desk/conftest.py import from it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from booking.extensions import db
from booking.intake.models import CallBack, Intake
from booking.patients.models import Patient
from booking.scheduling.models import AppointmentStatus, Practitioner, Service
from tests.factories import make_appointment

NEW_YORK = ZoneInfo("America/New_York")
# Monday 23 November 2026, 8:00 in New York: the clinic opens at 9:00.
NOW = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
TODAY = date(2026, 11, 23)
DESK_TEST_CONFIG = {
    # Tests travel in time between requests: the desk stays signed in.
    "STAFF_IDLE_MINUTES": 10**6,
}
# The clinic's staff accounts (tests/desk/conftest.py); they sign in with STAFF_PASSWORD.
DESK_EMAIL = "desk@example.com"
MAYA_EMAIL = "maya@example.com"
# An answer no desk page may show: the desk sees screening tiers, never clinical answers.
SECRET_ANSWER = "numbness-between-the-legs-since-tuesday"


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in the clinic's zone, as aware UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


def add(app, fn):
    """Run `fn` in an app context, commit, and return its result (ids, not rows)."""
    with app.app_context():
        result = fn()
        db.session.commit()
        return result


def visit(clinic, when, status=AppointmentStatus.CONFIRMED, patient=None, service=None,
          practitioner=None, **fields):
    """A visit (by default Ana's follow-up with Maya) inserted directly; its id."""
    row = make_appointment(
        db.session.get(Practitioner, practitioner or clinic.maya),
        db.session.get(Service, service or clinic.follow_up),
        when,
        status=status,
        patient=db.session.get(Patient, patient or clinic.ana),
        **fields,
    )
    return row.id


def call_back_for(patient_id: int) -> int:
    """An emergency intake and the call-back it raised; the call-back's id."""
    intake = Intake(
        patient_id=patient_id, kind="first_visit", questionnaire_version="v1",
        answers={"bladder": SECRET_ANSWER}, ruleset_version="r1", tier="emergency",
        screening={"flags": [SECRET_ANSWER]},
    )
    db.session.add(intake)
    db.session.flush()
    call_back = CallBack(patient_id=patient_id, intake_id=intake.id, raised_at=NOW)
    db.session.add(call_back)
    db.session.flush()
    return call_back.id

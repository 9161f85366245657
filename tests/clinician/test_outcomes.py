"""Visit outcomes: the form (with the patient's own activities), validation that keeps what was
typed, correcting a saved outcome, the audit trail and the database's range checks.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from booking.audit.models import AuditEvent
from booking.clinical.models import VisitOutcome
from booking.db import now_utc
from booking.extensions import db
from booking.scheduling.models import AppointmentStatus
from tests.clinician.helpers import add_intake, add_visit, make_patient

GOOD = {
    "pain_now": "4",
    "bad_days_week": "2",
    "relief_days_week": "1",
    "activity_1_score": "6",
    "activity_2_score": "",
    "muscles_treated": ["quadratus_lumborum", "gluteus_medius", "other"],
    "muscles_other": "Tensor fasciae latae",
    "response": "Local twitch responses in QL; eased on re-test.",
    "soreness": "Mild, expected 24-48 h.",
    "plan": "Weekly for three more; home stretches.",
}


@pytest.fixture
def visit(app, world) -> dict[str, int]:
    """A first visit that began an hour ago, after an intake naming two activities."""
    with app.app_context():
        patient = make_patient(first_name="Ana", last_name="Silva")
        appointment = add_visit(world.maya, world.first_visit, now_utc() - timedelta(hours=1),
                                patient, AppointmentStatus.CHECKED_IN)
        add_intake(patient, appointment, submitted_at=now_utc() - timedelta(days=3))
        db.session.commit()
        return {"appointment": appointment.id, "patient": patient.id}


def url(ids) -> str:
    return f"/staff/clinician/visits/{ids['appointment']}/outcome"


def test_form_offers_the_patients_own_activities_and_the_muscles(maya, visit):
    html = maya.get(url(visit)).get_data(as_text=True)
    assert "Gardening (0 unable to 10 as before)" in html
    assert "Sitting through a film" in html
    assert "activity_3_score" not in html  # only the activities the patient named
    for muscle in ("Quadratus lumborum", "Multifidus", "Iliocostalis lumborum",
                   "Iliocostalis thoracis", "Erector spinae", "Gluteus medius",
                   "Gluteus minimus", "Piriformis", "Psoas major", "Other"):
        assert muscle in html


def test_saving_an_outcome_stores_it_and_audits_field_names_only(app, maya, visit):
    response = maya.post(url(visit), data=GOOD)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/patients/{visit['patient']}/progress")
    with app.app_context():
        outcome = db.session.scalar(select(VisitOutcome))
        assert (outcome.pain_now, outcome.bad_days_week, outcome.relief_days_week) == (4, 2, 1)
        assert outcome.activity_ratings == {"activity_1_score": 6}
        assert outcome.muscles_treated == ["quadratus_lumborum", "gluteus_medius", "other"]
        assert outcome.muscles_other == "Tensor fasciae latae"
        assert outcome.plan.startswith("Weekly")
        assert outcome.recorded_by_id is not None
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "visit_outcome_recorded")
        )
        assert event.subject_id == visit["appointment"]
        assert "pain_now" in event.details["fields"]
        assert "4" not in str(event.details["fields"])  # names, never values
        assert "Tensor" not in str(event.details)


def test_correcting_an_outcome_updates_the_same_row(app, maya, visit):
    maya.post(url(visit), data=GOOD)
    page = maya.get(url(visit)).get_data(as_text=True)
    assert 'value="4"' in page and "Tensor fasciae latae" in page  # shown for correcting
    maya.post(url(visit), data={**GOOD, "pain_now": "3"})
    with app.app_context():
        outcomes = db.session.scalars(select(VisitOutcome)).all()
        assert [o.pain_now for o in outcomes] == [3]
        changed = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "visit_outcome_changed")
        )
        assert changed.details["fields"] == ["pain_now"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("pain_now", "11", "Enter a whole number from 0 to 10."),
        ("pain_now", "", "Enter a whole number from 0 to 10."),
        ("bad_days_week", "8", "Enter a whole number from 0 to 7."),
        ("relief_days_week", "-1", "Enter a whole number from 0 to 7."),
        ("activity_1_score", "12", "Enter a whole number from 0 to 10."),
        ("muscles_other", "", "Say which other muscles you treated."),
    ],
)
def test_bad_input_is_explained_next_to_the_field_and_kept(app, maya, visit, field, value,
                                                          message):
    response = maya.post(url(visit), data={**GOOD, field: value})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = '<span class="visually-hidden">Error:</span> ' + re.escape(message)
    assert re.search(rf'id="{field}-error">{error}<', html)
    assert GOOD["plan"] in html  # the plan typed is kept
    with app.app_context():
        assert db.session.scalar(select(VisitOutcome)) is None
        saved = ("visit_outcome_recorded", "visit_outcome_changed")
        recorded = select(AuditEvent).where(AuditEvent.action.in_(saved))
        assert db.session.scalar(recorded) is None


def test_an_outcome_waits_for_the_visit_to_start(app, world, maya):
    with app.app_context():
        later = add_visit(world.maya, world.follow_up, now_utc() + timedelta(days=1),
                          make_patient())
        db.session.commit()
        later_id = later.id
    page = maya.get(f"/staff/clinician/visits/{later_id}/outcome").get_data(as_text=True)
    assert "once the visit has started" in page
    refused = maya.post(f"/staff/clinician/visits/{later_id}/outcome", data=GOOD)
    assert refused.status_code == 200
    assert "once the visit has started" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(VisitOutcome)) is None


def test_viewing_an_outcome_is_audited(app, maya, visit):
    maya.get(url(visit))
    with app.app_context():
        assert db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "visit_outcome_viewed")
        ).subject_id == visit["appointment"]


def test_the_database_refuses_out_of_range_measures(app, visit):
    with app.app_context():
        db.session.add(VisitOutcome(appointment_id=visit["appointment"], pain_now=11,
                                    bad_days_week=2))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


# --- The series planned on an outcome ---------------------------------------------------------


def test_a_planned_series_is_stored_and_shown_again_for_correcting(app, maya, visit):
    saved = maya.post(url(visit), data={**GOOD, "series_every_weeks": "2",
                                        "series_visits": "6"})
    assert saved.status_code == 302
    with app.app_context():
        outcome = db.session.scalar(select(VisitOutcome))
        assert (outcome.series_every_weeks, outcome.series_visits) == (2, 6)
    page = maya.get(url(visit)).get_data(as_text=True)
    assert re.search(r'name="series_every_weeks"[^>]*value="2"', page)
    assert re.search(r'name="series_visits"[^>]*value="6"', page)


def test_no_planned_series_stores_none(app, maya, visit):
    assert maya.post(url(visit), data=GOOD).status_code == 302
    with app.app_context():
        outcome = db.session.scalar(select(VisitOutcome))
        assert (outcome.series_every_weeks, outcome.series_visits) == (None, None)


@pytest.mark.parametrize(
    ("weeks", "visits", "field", "message"),
    [
        ("2", "", "series_visits", "Say how many visits, or leave how often empty too."),
        ("", "6", "series_every_weeks", "Say how often, or leave the number of visits empty too."),
        ("0", "6", "series_every_weeks", "Enter a whole number from 1 to 4."),
        ("5", "6", "series_every_weeks", "Enter a whole number from 1 to 4."),
        ("1", "1", "series_visits", "Enter a whole number from 2 to 12."),
        ("1", "13", "series_visits", "Enter a whole number from 2 to 12."),
        ("weekly", "4", "series_every_weeks", "Not a valid integer value."),
    ],
)
def test_a_half_or_out_of_range_series_is_explained_next_to_the_field_and_kept(
    app, maya, visit, weeks, visits, field, message
):
    response = maya.post(url(visit), data={**GOOD, "series_every_weeks": weeks,
                                           "series_visits": visits})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = '<span class="visually-hidden">Error:</span> ' + re.escape(message)
    assert re.search(rf'id="{field}-error">{error}<', html)
    typed = weeks if field == "series_every_weeks" else visits
    if typed:
        assert re.search(rf'name="{field}"[^>]*value="{typed}"', html)  # what was typed stays
    with app.app_context():
        assert db.session.scalar(select(VisitOutcome)) is None


@pytest.mark.parametrize(("weeks", "visits"), [(5, 6), (1, 13), (2, None), (None, 6)])
def test_the_database_refuses_a_half_or_out_of_range_series(app, visit, weeks, visits):
    with app.app_context():
        db.session.add(VisitOutcome(appointment_id=visit["appointment"], pain_now=3,
                                    bad_days_week=2, series_every_weeks=weeks,
                                    series_visits=visits))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()

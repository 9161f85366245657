"""Minimum-necessary access: a practitioner opens their own patients' answers; another
practitioner's patient opens only after a stated reason, kept in the audit log, for the rest of
that staff session. Admins keep their access.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from booking.accounts.models import User
from booking.audit.models import AuditEvent
from booking.db import now_utc
from booking.extensions import db
from booking.scheduling.models import AppointmentStatus
from tests.clinician.helpers import BASE_ANSWERS, add_intake, add_visit, make_patient

GOALS = BASE_ANSWERS["goals"]  # an answer that shows on the intake page
REASON_FORM = 'name="reason"'


@pytest.fixture
def mayas_patient(app, world) -> dict[str, int]:
    """A patient whose first visit (yesterday, completed) was with Maya; their intake."""
    with app.app_context():
        patient = make_patient(first_name="Rosa", last_name="Park")
        visit = add_visit(world.maya, world.first_visit, now_utc() - timedelta(days=1), patient,
                          AppointmentStatus.COMPLETED)
        intake = add_intake(patient, visit)
        db.session.commit()
        return {"patient": patient.id, "visit": visit.id, "intake": intake.id}


def pages(ids: dict[str, int]) -> list[str]:
    """Every clinical page that shows the patient's answers."""
    return [
        f"/staff/clinician/intakes/{ids['intake']}",
        f"/staff/clinician/patients/{ids['patient']}/progress",
        f"/staff/clinician/visits/{ids['visit']}/outcome",
    ]


def views_by(app, email: str) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(
            select(AuditEvent).join(User, User.id == AuditEvent.actor_id)
            .where(User.email == email).order_by(AuditEvent.id)
        ))
        db.session.expunge_all()
        return rows


def give_reason(client, patient_id: int, reason: str, back: str = ""):
    return client.post(f"/staff/clinician/patients/{patient_id}/access",
                       data={"reason": reason, "back": back})


def test_a_practitioner_opens_their_own_patients_pages(maya, mayas_patient):
    for path in pages(mayas_patient):
        response = maya.get(path)
        assert response.status_code == 200, path
        assert REASON_FORM not in response.get_data(as_text=True)
    assert GOALS in maya.get(pages(mayas_patient)[0]).get_data(as_text=True)


def test_another_practitioners_patient_asks_for_a_reason_and_shows_nothing(
    app, signed_in, mayas_patient
):
    sam = signed_in("sam@example.com")
    for path in pages(mayas_patient):
        response = sam.get(path)
        html = response.get_data(as_text=True)
        assert response.status_code == 403, path
        assert REASON_FORM in html and 'maxlength="200"' in html and "Rosa Park" in html
        assert GOALS not in html
    # Also for a form sent straight to a page (the needling clearance).
    cleared = sam.post(f"{pages(mayas_patient)[0]}/clearance", data={"cleared": "no"})
    assert cleared.status_code == 403
    assert not [e for e in views_by(app, "sam@example.com") if e.action.endswith("_viewed")]


@pytest.mark.parametrize(("reason", "message"), [
    ("", "Say why you need this patient&#39;s answers"),
    ("   ", "Say why you need this patient&#39;s answers"),
    ("x" * 201, "Keep the reason under 200 characters."),
])
def test_a_reason_is_required_and_short(app, signed_in, mayas_patient, reason, message):
    sam = signed_in("sam@example.com")
    response = give_reason(sam, mayas_patient["patient"], reason)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert sam.get(pages(mayas_patient)[0]).status_code == 403  # still closed
    assert not [e for e in views_by(app, "sam@example.com")
                if e.action == "patient.opened_with_reason"]


def test_a_stated_reason_is_audited_and_opens_every_page_of_that_patient(
    app, signed_in, mayas_patient
):
    sam = signed_in("sam@example.com")
    intake_page = pages(mayas_patient)[0]
    response = give_reason(sam, mayas_patient["patient"], "  Covering for Maya today  ",
                           back=intake_page)
    assert response.status_code == 303 and response.location == intake_page

    assert GOALS in sam.get(intake_page).get_data(as_text=True)
    for path in pages(mayas_patient):
        assert sam.get(path).status_code == 200, path
    [reason] = [e for e in views_by(app, "sam@example.com")
                if e.action == "patient.opened_with_reason"]
    assert (reason.subject_type, reason.subject_id) == ("patient", mayas_patient["patient"])
    assert reason.details == {"reason": "Covering for Maya today"}


def test_the_access_ends_with_the_staff_session(app, signed_in, mayas_patient):
    sam = signed_in("sam@example.com")
    give_reason(sam, mayas_patient["patient"], "Covering for Maya")
    other_browser = signed_in("sam@example.com")
    assert other_browser.get(pages(mayas_patient)[0]).status_code == 403  # its own session

    sam.post("/staff/logout")
    again = signed_in("sam@example.com")
    assert again.get(pages(mayas_patient)[0]).status_code == 403


def test_the_reason_form_goes_back_only_to_clinician_pages(signed_in, mayas_patient):
    sam = signed_in("sam@example.com")
    progress = pages(mayas_patient)[1]
    for back in ("https://evil.example/", "//evil.example/staff/clinician/", "/staff/admin/"):
        response = give_reason(sam, mayas_patient["patient"], "Covering", back=back)
        assert response.status_code == 303 and response.location == progress


@pytest.mark.parametrize(("status", "own"), [
    (AppointmentStatus.AWAITING_REVIEW, True),
    (AppointmentStatus.CANCELLED, True),  # had a visit booked with her
    (AppointmentStatus.HELD, False),  # a hold in progress makes no one a patient's practitioner
])
def test_whose_patient_is_read_from_visits_booked(app, maya, world, status, own):
    with app.app_context():
        patient = make_patient()
        visit = add_visit(world.maya, world.first_visit, now_utc() + timedelta(days=2), patient,
                          status)
        intake = add_intake(patient, visit)
        db.session.commit()
        path = f"/staff/clinician/intakes/{intake.id}"
    assert maya.get(path).status_code == (200 if own else 403)


def test_an_admin_opens_any_patient_without_a_reason(signed_in, mayas_patient):
    admin = signed_in("admin@example.com")
    for path in pages(mayas_patient):
        assert admin.get(path).status_code == 200, path

"""A practitioner's day in a real browser at desktop width: sign in as Maya, read an intake,
approve a held booking, record a visit outcome and see the trial prompt on the progress chart.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from booking.accounts.models import RoleName, User
from booking.db import now_utc
from booking.extensions import db
from booking.intake.models import CallBack, CallBackAttempt
from booking.patients.models import Patient
from booking.scheduling.models import Appointment, AppointmentStatus, Practitioner, Service
from tests.browser.helpers import assert_no_horizontal_scroll, check_accessibility, screenshot
from tests.clinician.helpers import add_intake, add_outcome, local, make_patient
from tests.factories import make_appointment
from tests.helpers import DEMO_STAFF, sign_in_browser

MAYA_EMAIL = DEMO_STAFF[RoleName.PRACTITIONER]
DESK_EMAIL = DEMO_STAFF[RoleName.FRONT_DESK]


@pytest.fixture
def clinic_day(live_server) -> dict[str, int]:
    """Maya's held booking (review flags) and a third visit in progress with no outcome yet."""
    now = now_utc()
    with live_server.app.app_context():
        maya = db.session.scalar(select(Practitioner).where(Practitioner.slug == "maya-chen"))
        first = db.session.scalar(select(Service).where(Service.slug == "first-visit"))
        follow = db.session.scalar(select(Service).where(Service.slug == "follow-up"))
        iris = make_patient(first_name="Iris", last_name="Moreau", email="iris@example.com")
        # 06:30 clinic time: before Maya's hours, so it never meets a seeded demo visit.
        day = (now + timedelta(days=2)).astimezone(local(now.date(), 0).tzinfo).date()
        held = make_appointment(maya, first, local(day, 6, 30), patient=iris,
                                status=AppointmentStatus.AWAITING_REVIEW)
        # Two context flags (rule set 2026-12.1): alone, night pain would be a note only.
        intake = add_intake(iris, held, night_pain="yes", worsening_month="yes",
                            blood_thinners="yes", needle_fear="yes")
        jon = make_patient(first_name="Jon", last_name="Park")
        add_intake(jon, submitted_at=now - timedelta(weeks=3, days=1), pain_now=6,
                   bad_days_week=5)
        for weeks, service in ((3, first), (2, follow)):
            done = make_appointment(maya, service, now - timedelta(weeks=weeks), patient=jon,
                                    status=AppointmentStatus.COMPLETED)
            add_outcome(done, 6, 5, activity_ratings={"activity_1_score": 3})
        third = make_appointment(maya, follow, now - timedelta(minutes=40), patient=jon,
                                 status=AppointmentStatus.CHECKED_IN)
        db.session.commit()
        return {"held": held.id, "third": third.id, "jon": jon.id, "intake": intake.id}


@pytest.fixture
def emergency_intake(live_server) -> dict[str, int]:
    """Eva's emergency intake: her hold was given back, the desk tried once to call her."""
    now = now_utc()
    with live_server.app.app_context():
        maya = db.session.scalar(select(Practitioner).where(Practitioner.slug == "maya-chen"))
        first = db.session.scalar(select(Service).where(Service.slug == "first-visit"))
        desk = db.session.scalar(select(User).where(User.email == DESK_EMAIL))
        eva = db.session.scalar(select(Patient).where(Patient.first_name == "Eva"))
        day = (now + timedelta(days=3)).astimezone(local(now.date(), 0).tzinfo).date()
        hold = make_appointment(maya, first, local(day, 6, 30), patient=None,
                                status=AppointmentStatus.EXPIRED)
        intake = add_intake(eva, hold, saddle_numbness="yes", submitted_at=now)
        call_back = CallBack(patient_id=eva.id, intake_id=intake.id, raised_at=now)
        db.session.add(call_back)
        db.session.flush()
        db.session.add(CallBackAttempt(
            call_back_id=call_back.id, by_id=desk.id, answered=False, attempted_at=now,
            note="Left a voicemail asking Eva to ring the clinic.",
        ))
        db.session.commit()
        return {"intake": intake.id, "call_back": call_back.id}


def test_practitioner_reviews_a_held_booking(live_server, desktop_page, clinic_day):
    page = desktop_page
    sign_in_browser(page, live_server.url, MAYA_EMAIL)

    page.goto(live_server.url + "/staff/clinician/reviews")
    held = page.locator(f"#review-{clinic_day['held']}")
    expect(held.get_by_role("heading", name="Iris Moreau")).to_be_visible()
    expect(held).to_contain_text("Night pain not eased by position or lying down")
    check_accessibility(page)
    screenshot(page, "clinician-review-queue-desktop")

    held.get_by_role("link", name="Read the intake").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Iris Moreau")
    # Shown behind the cluster review and behind the night-pain note.
    night_pain = page.get_by_text(
        "Is the pain bad at night and not eased by changing position or lying down?"
    )
    expect(night_pain).to_have_count(2)
    expect(night_pain.first).to_be_visible()
    check_accessibility(page)
    screenshot(page, "clinician-intake-desktop")
    page.emulate_media(media="print")
    screenshot(page, "clinician-intake-print")
    page.emulate_media(media="screen")

    page.goto(live_server.url + "/staff/clinician/reviews")
    held = page.locator(f"#review-{clinic_day['held']}")
    held.get_by_label("Approve: confirm the booking").check()
    held.get_by_label("Note").fill("Night pain is long-standing and settles with movement.")
    held.get_by_role("button", name="Record decision").click()
    expect(page.get_by_role("status")).to_contain_text("Approved")
    expect(page.locator(f"#review-{clinic_day['held']}")).to_have_count(0)
    check_accessibility(page)
    screenshot(page, "clinician-review-approved-desktop")
    with live_server.app.app_context():
        appointment = db.session.get(Appointment, clinic_day["held"])
        assert appointment.status is AppointmentStatus.CONFIRMED

    # The decision and its note stay with the intake.
    page.goto(live_server.url + f"/staff/clinician/intakes/{clinic_day['intake']}")
    decisions = page.locator("#review")
    expect(decisions.get_by_role("heading", name="Review decisions")).to_be_visible()
    expect(decisions).to_contain_text("Approved by Maya Chen")
    expect(decisions).to_contain_text("Night pain is long-standing and settles with movement.")
    check_accessibility(page)
    screenshot(page, "clinician-intake-reviewed-desktop")


def test_practitioner_follows_an_emergency_call_back_to_its_intake(
    live_server, desktop_page, emergency_intake
):
    page = desktop_page
    sign_in_browser(page, live_server.url, MAYA_EMAIL)
    page.goto(live_server.url + "/staff/desk/attention")
    item = page.locator(f"#call-back-{emergency_intake['call_back']}")
    expect(item.locator(".desk-tries")).to_contain_text("Tried 1 time")
    item.get_by_role("link", name="Read the intake of Eva Kowalski").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Eva Kowalski")
    expect(page.locator(".facts")).to_contain_text(
        "No visit was booked: the answers called for emergency care.")
    expect(page.locator(".facts")).not_to_contain_text("For the visit")
    call_back = page.locator("#call-back")
    expect(call_back).to_contain_text("Not reached yet")
    expect(call_back).to_contain_text("No answer")
    expect(call_back).to_contain_text("Left a voicemail asking Eva to ring the clinic.")
    check_accessibility(page)
    screenshot(page, "clinician-intake-emergency-desktop")


def test_practitioner_records_an_outcome_and_sees_the_trial_prompt(
    live_server, desktop_page, clinic_day
):
    page = desktop_page
    sign_in_browser(page, live_server.url, MAYA_EMAIL)

    page.goto(live_server.url + f"/staff/clinician/visits/{clinic_day['third']}/outcome")
    expect(page.get_by_role("heading", level=1)).to_have_text("Visit outcome")
    expect(page.get_by_text("Follow-up · visit 3")).to_be_visible()
    check_accessibility(page)

    page.get_by_label("Pain now (0 to 10)").fill("11")
    page.get_by_role("button", name="Save outcome").click()
    pain_error = page.locator("#pain_now-error")
    expect(pain_error).to_have_text("Error: Enter a whole number from 0 to 10.")
    check_accessibility(page)
    screenshot(page, "clinician-outcome-error-desktop")

    page.get_by_label("Pain now (0 to 10)").fill("6")
    page.get_by_label("Bad days in the last week (0 to 7)").fill("5")
    page.get_by_label("Days needing short-term relief in the last week (0 to 7)").fill("3")
    page.get_by_label("Gardening (0 unable to 10 as before)").fill("4")
    page.get_by_label("Quadratus lumborum").check()
    page.get_by_label("Gluteus medius").check()
    page.get_by_label("Response to treatment").fill("Twitch responses in QL, eased on re-test.")
    page.get_by_label("Soreness after treatment").fill("Mild.")
    page.get_by_label("Plan").fill("Discuss changing the plan next visit.")
    screenshot(page, "clinician-outcome-form-desktop")
    page.get_by_role("button", name="Save outcome").click()

    expect(page).to_have_url(
        live_server.url + f"/staff/clinician/patients/{clinic_day['jon']}/progress"
    )
    expect(page.get_by_role("status")).to_contain_text("Outcome saved")
    expect(page.get_by_role("heading", name="Reassess the plan")).to_be_visible()
    expect(page.get_by_role("img", name="Pain by visit")).to_be_visible()
    expect(page.get_by_role("table", name="Pain: the values")).to_contain_text("Visit 3")
    check_accessibility(page)
    screenshot(page, "clinician-progress-desktop")

    page.goto(live_server.url + "/staff/clinician/week")
    check_accessibility(page)
    screenshot(page, "clinician-week-desktop")


def test_clinician_pages_fit_a_phone(live_server, page, clinic_day):
    """Practitioners read these between patients, often on a phone: no sideways scrolling."""
    sign_in_browser(page, live_server.url, MAYA_EMAIL)
    with live_server.app.app_context():
        add_outcome(db.session.get(Appointment, clinic_day["third"]), 6, 5)
        db.session.commit()
    for path, name in (
        ("/staff/clinician/reviews", "clinician-review-queue-phone"),
        (f"/staff/clinician/patients/{clinic_day['jon']}/progress", "clinician-progress-phone"),
        (f"/staff/clinician/visits/{clinic_day['third']}/outcome", "clinician-outcome-phone"),
        ("/staff/clinician/week", "clinician-week-phone"),
    ):
        page.goto(live_server.url + path)
        assert_no_horizontal_scroll(page)
        check_accessibility(page)
        screenshot(page, name)

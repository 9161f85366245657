"""The patient's visit page in a real browser at phone width: readable, accessible, and the
cancel flow works without JavaScript."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from booking.clinic.service import get_clinic
from booking.db import now_utc
from booking.extensions import db
from booking.notify.links import manage_token
from booking.patients.models import Patient
from booking.scheduling.models import Appointment, AppointmentStatus, Service
from booking.scheduling.service import confirm_hold, find_free_slots, hold_slot
from tests.browser.helpers import (
    assert_no_horizontal_scroll,
    check_accessibility,
    screenshot,
)


def book_demo_visit(app) -> tuple[int, str]:
    """Book a follow-up a few days ahead (outside the cancellation window) for a demo patient."""
    with app.app_context():
        now = now_utc()
        clinic = get_clinic()
        service = db.session.scalar(select(Service).where(Service.slug == "follow-up"))
        first_day = (now + clinic.cancellation_window + timedelta(days=2)).astimezone(
            clinic.zone
        ).date()
        slots = find_free_slots(service, first_day, first_day + timedelta(days=14), now)
        assert slots, "the demo clinic has free follow-up times"
        hold = hold_slot(service, slots[0].start, now, slots[0].practitioner_id)
        patient = db.session.scalars(select(Patient).order_by(Patient.id)).first()
        hold.patient_id = patient.id
        confirm_hold(hold, now)
        db.session.commit()
        return hold.id, manage_token(hold)


@pytest.fixture
def visit(live_server) -> tuple[int, str]:
    appointment_id, token = book_demo_visit(live_server.app)
    return appointment_id, f"{live_server.url}/visit/{token}"


def test_visit_page_at_phone_width(page: Page, visit):
    _, url = visit

    response = page.goto(url)

    assert response is not None and response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Your visit")
    expect(page.get_by_role("link", name="Choose a new time")).to_be_visible()
    expect(page.get_by_role("link", name="Cancel this visit")).to_be_visible()
    expect(page.get_by_role("link", name="Add to your calendar (.ics file)")).to_be_visible()
    assert_no_horizontal_scroll(page)
    check_accessibility(page)
    screenshot(page, "manage-visit-phone")

    page.get_by_role("link", name="Cancel this visit").click()  # asks first
    page.get_by_role("button", name="Cancel my visit").click()  # no reason chosen
    expect(page.locator("#reason-error")).to_have_text("Error: Choose the reason that fits best.")
    check_accessibility(page)
    screenshot(page, "manage-cancel-error-phone")


def test_new_times_page_at_phone_width(page: Page, visit):
    _, url = visit

    page.goto(url)
    page.get_by_role("link", name="Choose a new time").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new time")
    assert page.locator("button.slot").count() > 0
    assert_no_horizontal_scroll(page)
    check_accessibility(page)
    screenshot(page, "manage-times-phone")


def test_cancel_works_without_javascript(no_js_page: Page, live_server, visit):
    # axe runs inside the page, so it needs JavaScript: the pages are checked with it above and
    # below; here the point is that the form works with scripts off.
    appointment_id, url = visit
    page = no_js_page
    page.goto(url)
    page.get_by_role("link", name="Cancel this visit").click()

    page.get_by_role("button", name="Cancel my visit").click()  # no reason chosen
    expect(page.locator("#reason-error")).to_have_text("Error: Choose the reason that fits best.")
    page.get_by_label("I am feeling better").check()
    page.get_by_label("Anything you would like to add (optional)").fill("See you another time")
    page.get_by_role("button", name="Cancel my visit").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("This visit is cancelled")
    expect(page.get_by_role("status")).to_contain_text("Your visit is cancelled")
    with live_server.app.app_context():
        appointment = db.session.get(Appointment, appointment_id)
        assert appointment.status == AppointmentStatus.CANCELLED
        assert appointment.cancel_reason == "I am feeling better: See you another time"


def test_cancelled_and_ended_link_pages_at_phone_width(page: Page, visit):
    _, url = visit
    page.goto(url)
    page.get_by_role("link", name="Cancel this visit").click()
    page.get_by_label("The time no longer suits me").check()
    page.get_by_role("button", name="Cancel my visit").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("This visit is cancelled")
    assert_no_horizontal_scroll(page)
    check_accessibility(page)
    screenshot(page, "manage-cancelled-phone")

    # The link in hand before the cancellation no longer works.
    response = page.goto(url)
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("This link no longer works")
    assert_no_horizontal_scroll(page)
    check_accessibility(page)
    screenshot(page, "manage-link-ended-phone")

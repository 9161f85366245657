"""A returning patient books a series on a phone: signed in by the emailed link, plans six
weekly visits, sees each checked, books them all in one step. Accessible, no sideways scroll."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import select

from booking.clinic.service import get_clinic
from booking.db import now_utc
from booking.extensions import db
from booking.scheduling.models import ACTIVE_STATUSES, Appointment, Practitioner, Service
from booking.scheduling.service import find_free_slots
from tests.browser.helpers import assert_no_horizontal_scroll, check_accessibility, screenshot
from tests.helpers import newest_sign_in_link

ANA = "ana.silva@example.com"  # a demo patient with a first-visit questionnaire


def first_free_follow_up(app) -> tuple[str, str, str, str]:
    """A free follow-up time a few days ahead: service and practitioner names, day, time."""
    with app.app_context():
        clinic, now = get_clinic(), now_utc()
        service = db.session.scalar(select(Service).where(Service.slug == "follow-up"))
        day = (now + timedelta(days=3)).astimezone(clinic.zone).date()
        slot = find_free_slots(service, day, day + timedelta(days=7), now)[0]
        start = slot.start.astimezone(clinic.zone)
        practitioner = db.session.get(Practitioner, slot.practitioner_id)
        return service.name, practitioner.name, start.date().isoformat(), start.strftime("%H:%M")


def sign_in_by_link(page: Page, base: str, app) -> None:
    page.goto(base + "/returning/")
    page.get_by_label("Email").fill(ANA)
    page.get_by_role("button", name="Email me a link").click()
    page.goto(base + newest_sign_in_link(app, ANA))
    page.get_by_role("button", name="Continue").click()


def test_a_patient_books_a_weekly_series_on_a_phone(page: Page, live_server):
    base, app = live_server.url, live_server.app
    service, practitioner, day, at = first_free_follow_up(app)
    sign_in_by_link(page, base, app)

    page.goto(base + "/series/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Book a series of follow-ups")
    page.get_by_label("Visit type").select_option(label=service)
    page.get_by_label("Practitioner").select_option(label=practitioner)
    page.get_by_label("Day of the first visit").fill(day)
    page.get_by_label("Time (clinic time)").fill(at)
    page.get_by_label("Number of visits").select_option("6")
    page.get_by_role("button", name="Check the times").click()

    expect(page.get_by_role("heading", name=f"6 visits with {practitioner}")).to_be_visible()
    expect(page.locator(".series-visit")).to_have_count(6)
    check_accessibility(page)
    assert_no_horizontal_scroll(page)
    screenshot(page, "series-preview-phone")

    page.get_by_role("button", name="Book the series").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("visits are booked")
    check_accessibility(page)
    screenshot(page, "series-booked-phone")
    with app.app_context():
        booked = db.session.scalars(select(Appointment).where(
            Appointment.status.in_(ACTIVE_STATUSES), Appointment.series.has())).all()
    shown = page.locator(".series-visits li").count()
    assert len(booked) == shown >= 1

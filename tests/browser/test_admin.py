"""Admin pages in a real browser at desktop width: sign in, every admin page accessible, and the
weekly hours edited with the no-JavaScript add-interval button."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from booking.accounts.models import RoleName
from booking.extensions import db
from booking.scheduling.models import Practitioner, WorkingHours
from tests.browser.helpers import check_accessibility, screenshot
from tests.helpers import DEMO_STAFF, sign_in_browser

ADMIN_EMAIL = DEMO_STAFF[RoleName.ADMIN]
# (path under /staff/, heading, screenshot name)
ADMIN_PAGES = [
    ("admin/", "Admin", "admin-index"),
    ("admin/services", "Services", "admin-services"),
    ("admin/services/new", "Add a service", "admin-service-new"),
    ("admin/practitioners", "Practitioners and hours", "admin-practitioners"),
    ("admin/closures", "Clinic closures", "admin-closures"),
    ("admin/policy", "Clinic details and booking policy", "admin-policy"),
    ("admin/accounts", "Staff accounts", "admin-accounts"),
    ("admin/accounts/new", "Add a staff account", "admin-account-new"),
    ("admin/consent", "Consent text", "admin-consent"),
    ("admin/audit", "Audit log", "admin-audit"),
]


@pytest.fixture
def admin_page(live_server, desktop_page: Page) -> Page:
    page = desktop_page
    page.goto(live_server.url + "/staff/")  # signed out: the staff pages ask to sign in
    expect(page).to_have_url(re.compile(r"/staff/login"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff sign in")
    check_accessibility(page)
    screenshot(page, "staff-login-desktop")
    sign_in_browser(page, live_server.url, ADMIN_EMAIL)
    return page


def test_staff_home_and_every_admin_page_at_desktop_width(live_server, admin_page: Page):
    page = admin_page
    main_nav = page.get_by_role("navigation", name="Main")
    expect(main_nav.get_by_role("link", name="Admin", exact=True)).to_be_visible()
    check_accessibility(page)
    screenshot(page, "staff-home-desktop")

    for path, heading, name in ADMIN_PAGES:
        response = page.goto(f"{live_server.url}/staff/{path}")
        assert response is not None and response.status == 200, path
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        check_accessibility(page)
        screenshot(page, f"{name}-desktop")


def practitioner_hours(app, slug: str) -> list[tuple[int, str, str]]:
    with app.app_context():
        practitioner = db.session.scalar(select(Practitioner).where(Practitioner.slug == slug))
        rows = db.session.scalars(
            select(WorkingHours).where(WorkingHours.practitioner_id == practitioner.id)
            .order_by(WorkingHours.weekday, WorkingHours.starts)
        )
        return [(h.weekday, f"{h.starts:%H:%M}", f"{h.ends:%H:%M}") for h in rows]


def test_admin_edits_weekly_hours(live_server, admin_page: Page):
    page = admin_page
    page.goto(live_server.url + "/staff/admin/practitioners")
    page.get_by_role("link", name="Edit hours of Sam Okafor").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Weekly hours: Sam Okafor")
    check_accessibility(page)
    screenshot(page, "admin-hours-desktop")

    # Tuesday has no hours: add two intervals, one at a time, as a browser without JS would.
    tuesday = page.get_by_role("group", name="Tuesday")
    tuesday.get_by_role("button", name="Add hours on Tuesday").click()
    tuesday = page.get_by_role("group", name="Tuesday")
    tuesday.get_by_label("From (Tuesday, interval 1)").fill("09:00")
    tuesday.get_by_label("To (Tuesday, interval 1)").fill("12:30")
    tuesday.get_by_role("button", name="Add another interval on Tuesday").click()
    tuesday = page.get_by_role("group", name="Tuesday")
    expect(tuesday.get_by_label("From (Tuesday, interval 1)")).to_have_value("09:00")
    tuesday.get_by_label("From (Tuesday, interval 2)").fill("12:00")
    tuesday.get_by_label("To (Tuesday, interval 2)").fill("16:00")
    page.get_by_role("button", name="Save weekly hours").first.click()

    # 12:00 is inside 09:00–12:30: refused, next to the field, with what was typed kept.
    expect(page.get_by_role("alert")).to_contain_text("Tuesday, interval 2")
    tuesday = page.get_by_role("group", name="Tuesday")
    expect(tuesday.get_by_text("This overlaps 09:00–12:30.", exact=False)).to_be_visible()
    expect(tuesday.get_by_label("From (Tuesday, interval 2)")).to_have_value("12:00")
    check_accessibility(page)
    screenshot(page, "admin-hours-error-desktop")

    tuesday.get_by_label("From (Tuesday, interval 2)").fill("13:30")
    page.get_by_role("button", name="Save weekly hours").first.click()
    expect(page.get_by_role("status").first).to_contain_text("Saved Sam Okafor's weekly hours")
    expect(page.get_by_text("Tue 09:00–12:30, 13:30–16:00")).to_be_visible()
    screenshot(page, "admin-practitioners-saved-desktop")

    assert [row for row in practitioner_hours(live_server.app, "sam-okafor") if row[0] == 1] == [
        (1, "09:00", "12:30"), (1, "13:30", "16:00"),
    ]

    # The change is in the audit log, with who made it.
    sections = page.get_by_role("navigation", name="Admin sections")
    sections.get_by_role("link", name="Audit log").click()
    row = page.get_by_role("row").filter(has_text="practitioner.hours_changed")
    expect(row).to_contain_text(ADMIN_EMAIL)
    expect(row).to_contain_text("Tuesday: 09:00–12:30, 13:30–16:00")
    check_accessibility(page)
    screenshot(page, "admin-audit-after-hours-desktop")


def test_two_factor_setup_pages(live_server, admin_page: Page):
    page = admin_page
    page.get_by_role("link", name="Turn on two-factor sign-in with an authenticator app").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in")
    check_accessibility(page)
    page.get_by_label("Use an authenticator app").check()
    page.get_by_role("button", name="Continue").click()
    qr_code = page.get_by_role("img", name="QR code for your authenticator app", exact=False)
    expect(qr_code).to_be_visible()
    expect(page.get_by_label("Authentication Code")).to_be_visible()
    check_accessibility(page)
    screenshot(page, "staff-two-factor-setup-desktop")

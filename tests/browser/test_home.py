"""The public home page and the 404 page in a real browser, at phone and desktop widths."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from booking.clinic.service import get_clinic
from tests.browser.helpers import (
    assert_no_horizontal_scroll,
    check_accessibility,
    screenshot,
)

WIDTHS = ["phone", "desktop"]


@pytest.fixture(params=WIDTHS)
def width(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def screen(request: pytest.FixtureRequest, width: str) -> Page:
    """The phone `page` or the `desktop_page`, by the `width` parameter."""
    return request.getfixturevalue("page" if width == "phone" else "desktop_page")


@pytest.fixture
def clinic(live_server) -> dict:
    with live_server.app.app_context():
        row = get_clinic()
        return {"name": row.name, "phone": row.phone}


def open_home(page: Page, live_server) -> Page:
    response = page.goto(live_server.url + "/")
    assert response is not None and response.status == 200
    return page


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_home_shows_emergency_notice_clinic_and_phone(live_server, screen, width, clinic):
    page = open_home(screen, live_server)

    notice = page.locator("aside.emergency")
    expect(notice).to_be_visible()
    expect(notice.get_by_text("call 911", exact=False)).to_be_visible()
    # The emergency notice comes before the page's heading and booking details.
    assert page.evaluate(
        "() => document.querySelector('aside.emergency')"
        ".compareDocumentPosition(document.querySelector('h1')) & Node.DOCUMENT_POSITION_FOLLOWING"
    )

    expect(page.locator(".site-header .brand")).to_have_text(clinic["name"])
    expect(page).to_have_title(re.compile(re.escape(clinic["name"])))

    call = page.locator(".site-header a[href^='tel:']")
    expect(call).to_be_visible()
    expect(call).to_contain_text(clinic["phone"])
    assert digits(call.get_attribute("href")) == digits(clinic["phone"])
    tel_links = page.locator("a[href^='tel:']")
    assert tel_links.count() >= 2  # header, body and footer all offer the phone

    screenshot(page, f"home-{width}")


def test_home_fits_phone_width(live_server, page):
    open_home(page, live_server)
    assert_no_horizontal_scroll(page)
    # The page's content keeps clear of the header (main's padding once lost to .wrap's).
    gap = page.evaluate(
        "() => document.querySelector('main > :first-child').getBoundingClientRect().top"
        " - document.querySelector('.site-header').getBoundingClientRect().bottom"
    )
    assert gap >= 12


def test_home_skip_link_is_first_and_moves_focus_to_main(live_server, screen):
    page = open_home(screen, live_server)

    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    expect(focused).to_have_text("Skip to main content")
    expect(focused).to_be_in_viewport()  # visible once focused, not left off-screen

    page.keyboard.press("Enter")
    expect(page.locator(":focus")).to_have_id("main")
    assert page.url.endswith("#main")


def test_home_has_no_serious_accessibility_violations(live_server, screen):
    check_accessibility(open_home(screen, live_server))


def test_not_found_page_at_phone_width(live_server, page, clinic):
    response = page.goto(live_server.url + "/no-such-page")
    assert response is not None and response.status == 404

    expect(page.get_by_role("heading", level=1)).to_have_text("We could not find that page")
    expect(page.get_by_role("link", name="go to the home page")).to_be_visible()
    assert_no_horizontal_scroll(page)
    check_accessibility(page)
    screenshot(page, "not-found-phone")

"""Screening paths walked as people walk them: patients at phone width, staff at desktop width.

1. The desk books a phone caller's first visit; the patient answers the questions on the visit's
   own page; the desk's visit card turns from "No questionnaire" to the tier.
2. A stranger asking for a follow-up online is offered a first visit.
3. An emergency screening, then the same person books again: held for review, and the
   practitioner sees the emergency screening before it.
4. An urgent review: the patient is told a clinician calls today; practitioner and desk see it.
5. Context flags: one weak indicator books, two hold the booking for review.

Every new page passes axe and is kept as a screenshot (test-artifacts/screenshots/paths-*.png).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from booking.accounts.models import RoleName
from booking.clinic.service import get_clinic
from booking.db import now_utc
from booking.extensions import db
from booking.intake.questionnaire import FIRST_VISIT_STEPS, Step
from booking.notify.links import manage_token
from booking.scheduling.models import Appointment
from tests.browser.helpers import assert_no_horizontal_scroll, check_accessibility, screenshot
from tests.helpers import DEMO_STAFF, sign_in_browser

PAIN, SAFETY, HEALTH, NEEDLING, FUNCTION = FIRST_VISIT_STEPS
DESK_EMAIL = DEMO_STAFF[RoleName.FRONT_DESK]
MAYA_EMAIL = DEMO_STAFF[RoleName.PRACTITIONER]
DANGER_RED = "rgb(164, 0, 29)"  # --danger in static/css/site.css

Fill = Callable[[Page], None]


def person(first: str, last: str, phone: str) -> dict[str, str]:
    return {
        "First name": first,
        "Last name": last,
        "Email": f"{first}.{last}@example.com".lower(),
        "Phone": phone,
    }


def full_name(contact: dict[str, str]) -> str:
    return f"{contact['First name']} {contact['Last name']}"


def look(page: Page, name: str) -> None:
    """A new page: it fits its width, passes axe and is kept as paths-<name>.png."""
    assert_no_horizontal_scroll(page)
    # A full-page screenshot resizes the viewport for a moment: blur first, so that Chromium
    # does not scroll a focused field back into view under the next click.
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    screenshot(page, f"paths-{name}")
    check_accessibility(page)


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def next_weekday(live_server, days_ahead: int = 2) -> date:
    with live_server.app.app_context():
        day = now_utc().astimezone(get_clinic().zone).date() + timedelta(days=days_ahead)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


# --- Answering the questionnaire -----------------------------------------------------------------


def no_to_everything(step: Step) -> Fill:
    def fill(page: Page) -> None:
        for question in step.questions:
            if question.follow_up_of is None and question.kind in ("yes_no", "yes_no_unsure"):
                page.locator(f'input[name="{question.id}"][value="no"]').check()

    return fill


def no_except(step: Step, **answers: str) -> Fill:
    """No to everything on the step, then the given answers (question id -> value)."""

    def fill(page: Page) -> None:
        no_to_everything(step)(page)
        for qid, value in answers.items():
            page.locator(f'input[name="{qid}"][value="{value}"]').check()

    return fill


def fill_pain(page: Page) -> None:
    page.get_by_label("Low back, left side").check()
    page.get_by_label("3 months to a year").check()
    page.get_by_label("Stiff in the morning, easing once I get moving").check()
    page.get_by_label("How bad is your pain right now?").fill("5")
    page.get_by_label("How bad was your pain at its worst this week?").fill("7")
    page.get_by_label("How bad was your pain on average this week?").fill("4")
    page.get_by_label("In the last 7 days, how many were bad days for your back?").fill("3")


def fill_function(page: Page) -> None:
    page.get_by_label("An everyday activity your back makes hard").fill("Gardening")
    page.locator("#activity_1_score").fill("4")
    page.get_by_label("What do you want to get back to?").fill("Long walks")


def answer_step(page: Page, step: Step, name: str, fill: Fill) -> None:
    expect(heading(page)).to_have_text(step.title)
    fill(page)
    look(page, f"{name}-{step.id}-phone")
    page.get_by_role("button", name="Continue").click()


def answer_questionnaire(
    page: Page, name: str, safety: Fill | None = None, health: Fill | None = None
) -> None:
    """Every step up to the consent; stops after the safety step when `safety` is given and
    the next page is not the health step (an emergency ends the questions at once)."""
    answer_step(page, PAIN, name, fill_pain)
    answer_step(page, SAFETY, name, safety or no_to_everything(SAFETY))
    if safety is not None and heading(page).inner_text() != HEALTH.title:
        return
    answer_step(page, HEALTH, name, health or no_to_everything(HEALTH))
    answer_step(page, NEEDLING, name, no_to_everything(NEEDLING))
    answer_step(page, FUNCTION, name, fill_function)


def consent(page: Page, contact: dict[str, str], name: str, button: str) -> None:
    expect(heading(page)).to_have_text("Consent to treatment")
    page.get_by_label("I have read this and I agree to treatment").check()
    page.get_by_label("Type your full name").fill(full_name(contact))
    look(page, f"{name}-consent-phone")
    page.get_by_role("button", name=button).click()


# --- Booking online ------------------------------------------------------------------------------


def choose_time_with_maya(page: Page, base_url: str, name: str) -> None:
    """A first visit with Maya (her review queue shows her own visits), her first free time."""
    page.goto(base_url + "/book/")
    page.get_by_role("link", name="First visit").click()
    expect(heading(page)).to_have_text("Who would you like to see?")
    page.get_by_role("link", name="Maya Chen").click()
    expect(heading(page)).to_have_text("Choose a time")
    look(page, f"{name}-times-phone")
    page.locator("button.slot").first.click()


def give_details(page: Page, contact: dict[str, str], name: str) -> None:
    expect(heading(page)).to_have_text("Your details")
    for label, value in contact.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Date of birth").fill("1979-03-14")
    look(page, f"{name}-details-phone")
    page.get_by_role("button", name="Continue").click()


def book_first_visit_online(
    page: Page, base_url: str, contact: dict[str, str], name: str,
    safety: Fill | None = None, health: Fill | None = None,
) -> None:
    """From the visit types to the page after consent (or to the emergency page)."""
    choose_time_with_maya(page, base_url, name)
    give_details(page, contact, name)
    answer_questionnaire(page, name, safety, health)
    if heading(page).inner_text() == "Consent to treatment":
        consent(page, contact, name, "Agree and book")


def open_review(page: Page, base_url: str, contact: dict[str, str]):
    """Maya's review queue, and the held booking of this patient in it."""
    sign_in_browser(page, base_url, MAYA_EMAIL)
    page.goto(base_url + "/staff/clinician/reviews")
    expect(heading(page)).to_have_text("Review queue")
    item = page.locator("li.review").filter(
        has=page.get_by_role("heading", name=full_name(contact), exact=True)
    )
    expect(item).to_have_count(1)
    return item


# --- 1. The desk books a phone caller's first visit ----------------------------------------------


def test_desk_booked_first_visit_answered_on_the_visit_page(live_server, desktop_page, page):
    caller = person("Noor", "Bakker", "555 010 4411")
    day = next_weekday(live_server)
    desk = desktop_page
    sign_in_browser(desk, live_server.url, DESK_EMAIL)
    desk.goto(live_server.url + "/staff/desk/day")
    desk.get_by_role("link", name="Book a phone caller").click()
    expect(heading(desk)).to_have_text("Book a phone caller")
    desk.get_by_label("Find the caller").fill("Bakker")
    desk.get_by_role("button", name="Search").click()
    expect(desk.get_by_text("Nobody matches “Bakker”. Add them as a new patient below.")) \
        .to_be_visible()
    new_patient = desk.locator("details.desk-new-patient")
    expect(new_patient).to_have_attribute("open", "")  # opened for a caller nobody matches
    for label in ("First name", "Last name", "Phone", "Email"):
        new_patient.get_by_label(label, exact=True).fill(caller[label])
    new_patient.get_by_label("Date of birth").fill("1988-11-02")
    look(desk, "desk-new-caller-desktop")
    desk.get_by_role("button", name="Add patient and continue").click()

    expect(desk.locator(".desk-chosen")).to_contain_text(full_name(caller))
    visit_type = desk.get_by_label("Visit type")
    first_visit = visit_type.locator("option", has_text="First visit").first.inner_text()
    visit_type.select_option(label=first_visit)
    desk.get_by_label("Practitioner").select_option(label="Maya Chen")
    desk.get_by_label("Day").fill(day.isoformat())
    desk.get_by_role("button", name="Show free times").click()
    times = desk.locator("button.slot")
    expect(times.first).to_be_visible()
    expect(desk.get_by_label("Email the patient how to answer the health questions")) \
        .to_be_checked()
    look(desk, "desk-first-visit-times-desktop")
    chosen = times.first.inner_text()
    times.first.click()

    expect(desk.locator(".notice")).to_contain_text(f"Booked {full_name(caller)} for")
    expect(desk.locator(".notice")).to_contain_text(chosen)
    badge = desk.locator(".desk-facts .desk-tier")
    expect(badge).to_have_text("No questionnaire")
    assert badge.evaluate("el => getComputedStyle(el).color") == DANGER_RED
    assert badge.evaluate("el => getComputedStyle(el).borderTopColor") == DANGER_RED
    expect(desk.get_by_role("link", name="Fill in the questionnaire with the patient")) \
        .to_be_visible()
    look(desk, "desk-visit-no-questionnaire-desktop")
    appointment_id = int(re.search(r"/appointments/(\d+)", desk.url).group(1))

    # The patient opens the visit's own page (the link in their email).
    with live_server.app.app_context():
        token = manage_token(db.session.get(Appointment, appointment_id))
    page.goto(f"{live_server.url}/visit/{token}")
    expect(heading(page)).to_have_text("Your visit")
    expect(page.get_by_role("heading", name="Health questions before your first visit")) \
        .to_be_visible()
    look(page, "visit-page-phone")
    page.get_by_role("link", name="Answer the health questions").click()
    answer_questionnaire(page, "visit-questions")
    consent(page, caller, "visit-questions", "Agree and send my answers")
    expect(heading(page)).to_have_text("Thank you")
    expect(page.get_by_text("Thank you, your answers are with your practitioner.")).to_be_visible()
    expect(page.locator(".when")).to_contain_text("with Maya Chen")
    look(page, "visit-questions-thanks-phone")

    desk.reload()
    badge = desk.locator(".desk-facts .desk-tier")
    expect(badge).to_have_text("Clear")
    expect(badge).to_have_class(re.compile(r"\bdesk-tier-clear\b"))
    expect(desk.get_by_text("No questionnaire")).to_have_count(0)
    expect(desk.get_by_role("link", name="Fill in the questionnaire with the patient")) \
        .to_have_count(0)
    look(desk, "desk-visit-clear-desktop")


# --- 2. A stranger asks for a follow-up ----------------------------------------------------------


def test_a_stranger_choosing_a_follow_up_is_asked_for_their_email(live_server, page):
    page.goto(live_server.url + "/book/")
    look(page, "visit-types-phone")
    page.get_by_role("link", name="Follow-up dry needling").click()
    expect(heading(page)).to_have_text("Book a follow-up")
    # Email only: no name, phone or date of birth, and no times before the email.
    inputs = page.locator("main form input:not([type=hidden])")
    expect(inputs).to_have_count(1)
    expect(page.get_by_label("Your email address")).to_be_visible()
    expect(page.locator("button.slot")).to_have_count(0)
    expect(page.get_by_role("link", name="Book a first visit")).to_be_visible()
    look(page, "follow-up-ask-phone")
    page.get_by_role("link", name="Book a first visit").click()
    expect(heading(page)).to_have_text("Book a first visit")
    look(page, "first-visit-types-phone")


# --- 3. An emergency, then the same person books again -------------------------------------------


def test_an_emergency_then_a_rebooking_held_for_review(live_server, page, desktop_page):
    patient = person("Ines", "Varga", "555 010 5522")
    bladder = no_except(SAFETY, bladder_start="yes", bladder_start_onset="new")
    book_first_visit_online(page, live_server.url, patient, "emergency", safety=bladder)
    expect(heading(page)).to_have_text("Go to an emergency department now")
    expect(page.get_by_role("link", name="Call 911")).to_be_visible()
    expect(page.locator(".urgent-answers li")).to_have_count(1)
    expect(page.locator(".urgent-answers li")).to_contain_text("Yes, new in the last 2 weeks")
    look(page, "emergency-outcome-phone")

    # The same person, the same details, and no to everything this time.
    book_first_visit_online(page, live_server.url, patient, "rebooking")
    expect(heading(page)).to_have_text("Your time is reserved")
    expect(page.get_by_text("A clinician will contact you before your visit")).to_be_visible()
    expect(page.get_by_role("heading", name="You're booked")).to_have_count(0)
    look(page, "rebooking-reserved-phone")

    staff = desktop_page
    item = open_review(staff, live_server.url, patient)
    look(staff, "rebooking-review-queue-desktop")
    item.get_by_role("link", name="Read the intake").click()
    expect(heading(staff)).to_have_text(full_name(patient))
    earlier = staff.locator("section", has=staff.get_by_role(
        "heading", name="The emergency screening before it"))
    expect(earlier).to_be_visible()
    expect(earlier).to_contain_text("A recent emergency holds every new screening for review")
    expect(earlier.get_by_role("link", name="open it")).to_be_visible()
    look(staff, "rebooking-intake-desktop")


# --- 4. An urgent review -------------------------------------------------------------------------


def test_an_urgent_review_is_called_today(live_server, page, desktop_page):
    patient = person("Tomas", "Lindqvist", "555 010 6633")
    weaker = no_except(HEALTH, one_leg_weakening="yes", one_leg_weakening_onset="worse")
    book_first_visit_online(page, live_server.url, patient, "urgent", health=weaker)
    expect(heading(page)).to_have_text("Your time is reserved")
    expect(page.get_by_text("A clinician will call you today")).to_be_visible()
    expect(page.get_by_text("If nobody has called you by this evening")).to_be_visible()
    look(page, "urgent-reserved-phone")

    staff = desktop_page
    item = open_review(staff, live_server.url, patient)
    first = staff.locator("li.review").first
    expect(first.get_by_role("heading", level=2)).to_have_text(full_name(patient))
    expect(first).to_have_class(re.compile(r"\breview-urgent\b"))
    expect(item.locator(".urgent-note")).to_contain_text("Urgent: call today.")
    look(staff, "urgent-review-queue-desktop")

    staff.context.clear_cookies()
    sign_in_browser(staff, live_server.url, DESK_EMAIL)
    staff.goto(live_server.url + "/staff/desk/attention")
    urgent = staff.locator("section", has=staff.get_by_role(
        "heading", name=re.compile(r"^Urgent reviews: call today")))
    expect(urgent.get_by_role("heading", level=2)).to_have_text("Urgent reviews: call today (1)")
    row = urgent.locator("tr.desk-urgent-review")
    expect(row).to_contain_text(full_name(patient))
    expect(row).to_contain_text(patient["Phone"])
    expect(row).to_contain_text("Maya Chen")
    look(staff, "urgent-desk-attention-desktop")


# --- 5. Context flags ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "outcome", "who"),
    [
        ({"night_pain": "yes"}, "You're booked", person("Oona", "Hart", "555 010 7744")),
        (
            {"night_pain": "yes", "worsening_month": "yes"},
            "Your time is reserved",
            person("Pavel", "Novak", "555 010 8855"),
        ),
    ],
    ids=["one-flag-booked", "two-flags-held"],
)
def test_context_flags_one_books_two_hold(live_server, page, flags, outcome, who):
    name = f"flags-{len(flags)}"
    book_first_visit_online(page, live_server.url, who, name, health=no_except(HEALTH, **flags))
    expect(heading(page)).to_have_text(outcome)
    if len(flags) == 1:
        expect(page.locator(".review-note")).to_have_count(0)
    else:
        expect(page.get_by_text("A clinician will contact you before your visit")).to_be_visible()
        expect(page.get_by_text("A clinician will call you today")).to_have_count(0)
    look(page, f"{name}-outcome-phone")

"""Bookings through the real pages in Chromium at phone width: a first visit with its intake,
and a returning patient's follow-up through the one-time link emailed to them.

Every step page is checked with axe and saved as a screenshot (test-artifacts/screenshots/).
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect
from sqlalchemy import select

from booking.extensions import db
from booking.intake.models import CallBack, Intake
from booking.intake.questionnaire import FIRST_VISIT_STEPS, Step
from booking.patients.models import Patient
from booking.scheduling.models import Appointment, AppointmentStatus
from tests.browser.helpers import assert_no_horizontal_scroll, check_accessibility, screenshot
from tests.clinician.helpers import add_intake
from tests.factories import make_patient
from tests.helpers import newest_sign_in_link

CONTACT = {
    "First name": "Robin",
    "Last name": "Hale",
    "Email": "robin@example.com",
    "Phone": "555 010 2030",
}
PAIN, SAFETY, HEALTH, NEEDLING, FUNCTION = FIRST_VISIT_STEPS


SMALLEST_PHONE = {"width": 320, "height": 568}


def look(page: Page, name: str) -> None:
    """Each page of the flow: fits the phone, passes axe, and is kept as a screenshot.

    axe runs as a script in the page, so pages seen without JavaScript ("nojs-") skip it: the
    same pages are checked with JavaScript in the other tests.
    """
    assert_no_horizontal_scroll(page)
    # A full-page screenshot resizes the viewport for a moment; Chromium then scrolls a focused
    # field back into view, late enough to move the page under the next click. Blur it first.
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    screenshot(page, name)
    if name.startswith("nojs-"):
        return
    check_accessibility(page)


def choose_first_available_time(page: Page, base_url: str, prefix: str) -> None:
    page.goto(base_url + "/book/")
    page.get_by_role("link", name="First visit").click()
    page.get_by_role("link", name="First available").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a time")
    look(page, f"{prefix}-times-phone")
    page.locator("button.slot").first.click()


def fill_details(page: Page, prefix: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Your details")
    for label, value in CONTACT.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_label("Date of birth").fill("1980-05-17")
    look(page, f"{prefix}-details-phone")
    page.get_by_role("button", name="Continue").click()


def answer_no_to_everything(page: Page, step: Step) -> None:
    for question in step.questions:
        if question.follow_up_of is None and question.kind in ("yes_no", "yes_no_unsure"):
            page.locator(f'input[name="{question.id}"][value="no"]').check()


def continue_from(page: Page, step: Step, prefix: str, fill: Callable[[Page], None]) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text(step.title)
    fill(page)
    look(page, f"{prefix}-step-{step.id}-phone")
    page.get_by_role("button", name="Continue").click()


def fill_pain(page: Page) -> None:
    page.get_by_label("Low back, left side").check()
    page.get_by_label("Left buttock").check()
    page.get_by_label("3 months to a year").check()
    page.get_by_label("Stiff in the morning, easing once I get moving").check()
    page.get_by_label("How bad is your pain right now?").fill("5")
    page.get_by_label("How bad was your pain at its worst this week?").fill("7")
    page.get_by_label("How bad was your pain on average this week?").fill("4")
    page.get_by_label("In the last 7 days, how many were bad days for your back?").fill("3")


def fill_function(page: Page) -> None:
    page.get_by_label("An everyday activity your back makes hard").fill("Gardening")
    page.locator("#activity_1_score").fill("4")
    page.get_by_label("What do you want to get back to?").fill("Long walks with the dog")


def walk_to_consent(
    page: Page,
    base_url: str,
    prefix: str,
    safety: Callable[[Page], None],
    health: Callable[[Page], None] | None = None,
):
    choose_first_available_time(page, base_url, prefix)
    fill_details(page, prefix)
    continue_from(page, PAIN, prefix, fill_pain)
    continue_from(page, SAFETY, prefix, safety)
    continue_from(page, HEALTH, prefix, health or (lambda p: answer_no_to_everything(p, HEALTH)))
    continue_from(page, NEEDLING, prefix, lambda p: answer_no_to_everything(p, NEEDLING))
    continue_from(page, FUNCTION, prefix, fill_function)


def give_consent(page: Page, prefix: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Consent to treatment")
    page.get_by_label("I have read this and I agree to treatment").check()
    page.get_by_label("Type your full name").fill("Robin Hale")
    look(page, f"{prefix}-consent-phone")
    page.get_by_role("button", name="Agree and book").click()


def new_intakes(live_server) -> list[Intake]:
    """The intakes this test made: the demo's returning patients have theirs already."""
    with live_server.app.app_context():
        rows = db.session.scalars(
            select(Intake).join(Patient).where(Patient.email == CONTACT["Email"])
        ).all()
        db.session.expunge_all()
        return rows


def stored(live_server, model):
    with live_server.app.app_context():
        rows = db.session.scalars(select(model)).all()
        db.session.expunge_all()
        return rows


def test_first_visit_booking_with_intake_at_phone_width(live_server, page):
    def safety(p: Page) -> None:
        # JavaScript keeps the follow-up hidden until "Yes" or "Not sure" calls for it.
        onset = p.locator('[data-follow-up-of="bladder_start"]')
        expect(onset).to_be_hidden()
        p.locator('input[name="bladder_start"][value="not_sure"]').check()
        expect(onset).to_be_visible()
        expect(onset).to_contain_text("If yes or not sure:")
        answer_no_to_everything(p, SAFETY)
        expect(onset).to_be_hidden()

    walk_to_consent(page, live_server.url, "booking", safety)
    give_consent(page, "booking")

    expect(page.get_by_role("heading", level=1)).to_have_text("You're booked")
    look(page, "booking-confirmed-phone")
    (intake,) = new_intakes(live_server)
    assert (intake.tier, intake.kind, intake.consent_name) == ("clear", "first_visit", "Robin Hale")
    booked = [a for a in stored(live_server, Appointment) if a.id == intake.appointment_id]
    assert booked[0].status == AppointmentStatus.CONFIRMED


def test_validation_error_and_back_keep_answers(live_server, page):
    choose_first_available_time(page, live_server.url, "errors")
    fill_details(page, "errors")
    fill_pain(page)
    page.get_by_label("How bad is your pain right now?").fill("12")
    page.get_by_role("button", name="Continue").click()

    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Choose a number from 0 to 10.")
    expect(page.get_by_label("How bad is your pain right now?")).to_have_value("12")
    expect(page.get_by_label("Low back, left side")).to_be_checked()
    look(page, "errors-step-pain-error-phone")

    page.get_by_label("How bad is your pain right now?").fill("6")
    page.get_by_role("button", name="Continue").click()
    page.locator('input[name="bowel_control"][value="yes"]').check()
    page.get_by_role("button", name="Back").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(PAIN.title)
    expect(page.get_by_label("How bad is your pain right now?")).to_have_value("6")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator('input[name="bowel_control"][value="yes"]')).to_be_checked()


def test_emergency_answers_end_on_the_emergency_page_at_once(live_server, page):
    def safety(p: Page) -> None:
        answer_no_to_everything(p, SAFETY)
        # Worked example A: new bladder trouble and saddle numbness.
        p.locator('input[name="bladder_start"][value="yes"]').check()
        p.locator('input[name="bladder_start_onset"][value="new"]').check()
        p.locator('input[name="saddle_numbness"][value="yes"]').check()
        p.locator('input[name="saddle_numbness_onset"][value="new"]').check()

    page.set_viewport_size(SMALLEST_PHONE)
    choose_first_available_time(page, live_server.url, "emergency")
    fill_details(page, "emergency")
    continue_from(page, PAIN, "emergency", fill_pain)
    continue_from(page, SAFETY, "emergency", safety)

    # The very next page: no needling, function or consent questions first.
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Go to an emergency department now"
    )
    assert page.url.endswith("/book/intake/outcome")
    call = page.get_by_role("link", name="Call 911")
    expect(call).to_be_visible()
    box = call.bounding_box()
    assert box is not None and box["y"] + box["height"] <= SMALLEST_PHONE["height"]  # 1st screen
    expect(page.locator("main")).to_contain_text("cauda equina syndrome")
    answers = page.locator(".urgent-answers li")
    expect(answers).to_have_count(2)
    expect(answers.first).to_contain_text("Is it newly hard to start peeing")
    expect(answers.first).to_contain_text("Yes, new in the last 2 weeks")
    with live_server.app.app_context():
        from booking.clinic.service import get_clinic

        phone = get_clinic().phone
    expect(page.locator("main a[href^='tel:']").last).to_contain_text(phone)
    look(page, "emergency-outcome-320")

    (intake,) = new_intakes(live_server)
    assert intake.tier == "emergency"
    assert intake.appointment_id is None
    assert stored(live_server, CallBack)[0].intake_id == intake.id
    released = [a for a in stored(live_server, Appointment) if a.hold_key is None and a.status
                == AppointmentStatus.EXPIRED]
    assert len(released) == 1  # the time chosen was given back


def test_medical_review_answers_reserve_the_time(live_server, page):
    def health(p: Page) -> None:
        answer_no_to_everything(p, HEALTH)
        # Worked example C: one leg getting weaker.
        p.locator('input[name="one_leg_weakening"][value="yes"]').check()
        p.locator('input[name="one_leg_weakening_onset"][value="worse"]').check()

    walk_to_consent(
        page, live_server.url, "review", lambda p: answer_no_to_everything(p, SAFETY), health
    )
    give_consent(page, "review")

    expect(page.get_by_role("heading", level=1)).to_have_text("Your time is reserved")
    # An urgent review (same day): the clinic calls today; nobody by the evening, urgent care.
    expect(page.get_by_text("A clinician will call you today")).to_be_visible()
    expect(
        page.get_by_text("If nobody has called you by this evening, please see an urgent-care")
    ).to_be_visible()
    look(page, "review-reserved-phone")
    (intake,) = new_intakes(live_server)
    assert intake.tier == "medical_review"
    booked = [a for a in stored(live_server, Appointment) if a.id == intake.appointment_id]
    assert booked[0].status == AppointmentStatus.AWAITING_REVIEW


def test_the_intake_works_without_javascript(live_server, no_js_page):
    page = no_js_page

    def safety(p: Page) -> None:
        # Without JavaScript every follow-up is on the page, under its question.
        expect(p.locator('[data-follow-up-of="bladder_start"]')).to_be_visible()
        answer_no_to_everything(p, SAFETY)

    walk_to_consent(page, live_server.url, "nojs", safety)
    give_consent(page, "nojs")
    expect(page.get_by_role("heading", level=1)).to_have_text("You're booked")


# --- A returning patient's follow-up -------------------------------------------------------------


def returning_patient(live_server) -> int:
    """Robin had a first visit: their record and a clear first-visit questionnaire."""
    with live_server.app.app_context():
        robin = make_patient(first_name="Robin", last_name="Hale", email="robin.hale@example.com",
                             phone="555 010 2030")
        add_intake(robin)
        db.session.commit()
        return robin.id


def test_a_returning_patient_books_a_follow_up_from_the_home_page(live_server, page):
    """Every tap from the home page to the booked follow-up, counted: nothing is typed but the
    email address, and no questions are asked (the check-in comes before the visit)."""
    robin = returning_patient(live_server)
    taps = 0

    def tap(locator) -> None:
        nonlocal taps
        taps += 1
        locator.click()

    page.goto(live_server.url + "/")
    tap(page.get_by_role("link", name="Book a follow-up"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Book a follow-up")
    expect(page.get_by_role("link", name="Book a first visit")).to_be_visible()
    look(page, "follow-up-ask-phone")
    page.get_by_label("Your email address").fill("Robin.Hale@example.com")
    tap(page.get_by_role("button", name="Email me a link"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    expect(page.get_by_text("If we know this email, we have sent a link")).to_be_visible()
    look(page, "follow-up-sent-phone")

    taps += 1  # the link in the email
    page.goto(live_server.url + newest_sign_in_link(live_server.app, "robin.hale@example.com"))
    look(page, "follow-up-link-phone")
    tap(page.get_by_role("button", name="Continue"))
    # Robin has no visit on record yet (the first one was elsewhere): My visits offers the kinds.
    expect(page.get_by_role("heading", level=1)).to_have_text("My visits")
    tap(page.get_by_role("link", name="Choose a follow-up"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Which follow-up would you like?")
    expect(page.get_by_text("Booking for Robin Hale")).to_be_visible()
    look(page, "follow-up-types-phone")
    tap(page.get_by_role("link", name="Follow-up dry needling"))
    tap(page.get_by_role("link", name="First available"))
    tap(page.locator("button.slot").first)

    expect(page.get_by_role("heading", level=1)).to_have_text("Your details")
    record = page.locator("dl.record")
    for shown in ("Robin Hale", "robin.hale@example.com", "555 010 2030"):
        expect(record).to_contain_text(shown)
    expect(page.locator("main input:not([type=hidden])")).to_have_count(0)  # nothing to retype
    expect(page.get_by_role("button", name="Not you? Sign out")).to_be_visible()
    look(page, "follow-up-details-phone")
    # Booked right here: the check-in is asked in the 72 hours before the visit.
    tap(page.get_by_role("button", name="Book this visit"))

    expect(page.get_by_role("heading", level=1)).to_have_text("You're booked")
    expect(page.get_by_text("Answer a short check-in about how you have been")).to_be_visible()
    look(page, "follow-up-confirmed-phone")
    assert taps == 9  # from the home page; from the link in the email see test_returning.py
    with live_server.app.app_context():
        (booked,) = db.session.scalars(select(Appointment).where(Appointment.patient_id == robin))
        assert (booked.status, booked.service.slug) == (AppointmentStatus.CONFIRMED, "follow-up")
        assert db.session.scalars(select(Intake.kind).where(Intake.patient_id == robin)).all() \
            == ["first_visit"]
        # Nobody new: the booking is on Robin's own record.
        robins = db.session.scalars(select(Patient).where(Patient.first_name == "Robin")).all()
        assert [p.id for p in robins] == [robin]


def test_a_stranger_asking_for_a_follow_up_is_offered_a_first_visit(live_server, page):
    page.goto(live_server.url + "/book/")
    page.get_by_role("link", name="Follow-up dry needling").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Book a follow-up")
    page.get_by_role("link", name="Book a first visit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Book a first visit")
    expect(page.get_by_role("link", name="Follow-up dry needling")).to_have_count(0)
    look(page, "first-visit-types-phone")
    response = page.goto(live_server.url + "/returning/link/not-a-real-link")
    assert response is not None and response.status == 410
    expect(page.get_by_role("heading", level=1)).to_have_text("This link has expired")
    look(page, "follow-up-link-expired-phone")

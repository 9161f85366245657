"""The front desk in Chromium at desktop width: the day view, booking a phone caller, moving a
visit (with its buttons, and by dragging it on the calendar). Every page passes axe and is kept
as a screenshot (test-artifacts/screenshots/desk-*.png).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from booking.accounts.models import RoleName, User
from booking.clinic.service import get_clinic
from booking.clinical.models import ReviewDecision, ReviewOutcome
from booking.db import now_utc
from booking.extensions import db
from booking.intake.models import CallBack, Intake
from booking.patients.models import Patient
from booking.scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    Practitioner,
    Service,
    TimeOff,
)
from tests.browser.helpers import assert_no_horizontal_scroll, check_accessibility, screenshot
from tests.clinician.helpers import add_intake
from tests.helpers import DEMO_STAFF, sign_in_browser

DESK_EMAIL = DEMO_STAFF[RoleName.FRONT_DESK]
MAYA_EMAIL = DEMO_STAFF[RoleName.PRACTITIONER]


@pytest.fixture
def working_day(live_server) -> date:
    """The next weekday after today: the demo clinic has visits on it and Maya works."""
    with live_server.app.app_context():
        day = now_utc().astimezone(get_clinic().zone).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def open_day(page: Page, live_server, day: date) -> None:
    page.goto(f"{live_server.url}/staff/desk/day?date={day.isoformat()}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(day.strftime("%B %-d, %Y"))


def look(page: Page, name: str) -> None:
    assert_no_horizontal_scroll(page)
    check_accessibility(page)
    screenshot(page, name)


def column(page: Page, practitioner: str):
    return page.locator("section.desk-col").filter(
        has=page.get_by_role("heading", name=re.compile(practitioner))
    )


def nearest_open_cell(lane, block, times) -> str:
    """Of the given free times, the one whose cell is nearest the block and not drawn over.

    Nearest, because a drag cannot scroll the page as it goes.
    """
    return lane.evaluate(
        """(lane, [block, times]) => {
            const top = el => el.getBoundingClientRect().top + window.scrollY;
            const blocks = [...lane.querySelectorAll('.desk-block')].map(b => {
                const r = b.getBoundingClientRect();
                return [r.top + window.scrollY, r.bottom + window.scrollY];
            });
            const open = times.filter(time => {
                const cell = lane.querySelector(`.desk-cell[data-time="${time}"]`);
                const r = cell.getBoundingClientRect();
                const [a, b] = [r.top + window.scrollY, r.bottom + window.scrollY];
                return !blocks.some(([c, d]) => a < d && c < b);
            });
            const from = top(block);
            open.sort((x, y) =>
                Math.abs(top(lane.querySelector(`.desk-cell[data-time="${x}"]`)) - from) -
                Math.abs(top(lane.querySelector(`.desk-cell[data-time="${y}"]`)) - from));
            return open[0];
        }""",
        [block.element_handle(), list(times)],
    )


def test_day_view_shows_every_practitioner_and_their_visits(live_server, desktop_page,
                                                           working_day):
    page = desktop_page
    sign_in_browser(page, live_server.url, DESK_EMAIL)
    page.get_by_role("link", name="Day view", exact=True).click()
    expect(page.locator("section.desk-col")).to_have_count(3)
    open_day(page, live_server, working_day)
    for name in ("Lena Fischer", "Maya Chen", "Sam Okafor"):
        expect(page.get_by_role("heading", name=re.compile(name))).to_be_visible()
    visits = page.locator("a.desk-block-body")
    assert visits.count() > 0
    expect(visits.first).to_contain_text("Confirmed")
    # Blocks sit on the rows of their times: a later visit is lower in its column.
    maya = column(page, "Maya Chen").locator("a.desk-block-body")
    tops = [maya.nth(i).bounding_box()["y"] for i in range(maya.count())]
    assert tops == sorted(tops)
    look(page, "desk-day-desktop")

    page.get_by_role("link", name="Next day").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        (working_day + timedelta(days=1)).strftime("%B %-d, %Y"))
    page.get_by_label("Go to date").fill(working_day.isoformat())
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        working_day.strftime("%B %-d, %Y"))


def test_day_view_scrolls_inside_its_box_on_a_phone(live_server, page, working_day):
    sign_in_browser(page, live_server.url, DESK_EMAIL)
    open_day(page, live_server, working_day)
    assert_no_horizontal_scroll(page)  # the page itself does not scroll sideways
    scroller = page.locator(".desk-board-scroll")
    assert scroller.evaluate("el => el.scrollWidth > el.clientWidth")
    check_accessibility(page)
    screenshot(page, "desk-day-phone")


def test_book_a_phone_caller(live_server, desktop_page, working_day):
    page = desktop_page
    with live_server.app.app_context():
        # Ana had her first visit (the demo has no intakes): she may book a follow-up.
        ana = db.session.scalar(select(Patient).where(Patient.last_name == "Silva",
                                                      Patient.first_name == "Ana"))
        add_intake(ana)
        db.session.commit()
    sign_in_browser(page, live_server.url, DESK_EMAIL)
    page.goto(live_server.url + "/staff/desk/day")
    page.get_by_role("link", name="Book a phone caller").click()
    page.get_by_label("Find the caller").fill("Silva")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Book for Ana Silva").click()
    expect(page.locator(".desk-chosen")).to_contain_text("Ana Silva")
    page.get_by_label("Visit type").select_option(label="Follow-up dry needling (30 min)")
    page.get_by_label("Practitioner").select_option(label="Maya Chen")
    page.get_by_label("Day").fill(working_day.isoformat())
    page.get_by_role("button", name="Show free times").click()
    times = page.locator("button.slot")
    expect(times.first).to_be_visible()
    look(page, "desk-book-desktop")

    chosen = times.first.inner_text()
    times.first.click()
    expect(page.locator(".notice")).to_contain_text("Booked Ana Silva for")
    expect(page.locator(".notice")).to_contain_text(chosen)
    expect(page.locator(".desk-facts").first).to_contain_text("Front desk")
    look(page, "desk-booked-desktop")


def test_move_a_visit_with_its_buttons_and_by_dragging(live_server, desktop_page, working_day):
    page = desktop_page
    sign_in_browser(page, live_server.url, DESK_EMAIL)
    open_day(page, live_server, working_day)
    maya = column(page, "Maya Chen")
    first_visit = maya.locator("a.desk-block-body").first
    patient = first_visit.locator("strong").first.inner_text()
    first_visit.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(patient)
    look(page, "desk-visit-desktop")

    # Without JavaScript's help: a free time on the visit's page is a button.
    new_time = page.locator("#move-heading ~ form button.slot").last
    label = new_time.inner_text()
    new_time.click()
    expect(page.locator(".notice")).to_contain_text(f"at {label} with Maya Chen")
    screenshot(page, "desk-moved-desktop")

    # Dragging onto a time Maya does not work (her lunch hour) is refused with a message.
    open_day(page, live_server, working_day)
    maya = column(page, "Maya Chen")
    block = maya.locator("a.desk-block-body[data-move-url]").first
    before = block.inner_text()
    block.drag_to(maya.locator('.desk-cell[data-time="12:15"]'))
    status = page.locator("#desk-status")
    expect(status).to_contain_text("not one the clinic offers")
    expect(maya.locator("a.desk-block-body[data-move-url]").first).to_have_text(before)
    screenshot(page, "desk-drag-refused-desktop")

    # Dragging onto a free time moves it: the page reloads with the visit in its new place.
    block.click()
    free_times = {
        button.get_attribute("value"): button.inner_text()
        for button in page.locator("#move-heading ~ form button.slot").all()
    }
    page.go_back()
    maya = column(page, "Maya Chen")
    moved = maya.locator("a.desk-block-body[data-move-url]").first
    moved_patient = moved.locator("strong").first.inner_text()
    free_time = nearest_open_cell(maya.locator(".desk-lane"), moved, free_times)
    moved.drag_to(maya.locator(f'.desk-cell[data-time="{free_time}"]'))
    expect(page.locator(".notice")).to_contain_text(
        f"at {free_times[free_time]} with Maya Chen")
    expect(maya.locator("a.desk-block-body", has_text=moved_patient).filter(
        has_text=free_times[free_time]).first).to_be_visible()
    screenshot(page, "desk-dragged-desktop")

    # And cancel it, with the reason the patient gave: it leaves the calendar.
    maya.locator("a.desk-block-body", has_text=moved_patient).filter(
        has_text=free_times[free_time]).first.click()
    page.get_by_label("Reason for cancelling").fill("Patient phoned: feeling much better")
    page.get_by_role("button", name="Cancel visit").click()
    expect(page.locator(".notice")).to_contain_text("The visit is cancelled.")
    expect(page.locator(".desk-facts").first).to_contain_text("Cancelled")
    expect(page.get_by_role("button", name="Cancel visit")).to_have_count(0)


@pytest.fixture
def clinic_day(live_server) -> dict:
    """Today at the clinic: a visit that started an hour ago, one starting now (with screening
    tiers), a hold in progress, time off, an emergency call-back and a booking under review."""
    with live_server.app.app_context():
        now = now_utc().replace(second=0, microsecond=0)
        zone = get_clinic().zone
        midnight = datetime.combine(now.astimezone(zone).date(), time(0), zone)
        staff = {p.name: p for p in db.session.scalars(select(Practitioner))}
        patients = {p.first_name: p for p in db.session.scalars(select(Patient))}
        follow_up = db.session.scalar(select(Service).where(Service.slug == "follow-up"))
        first = db.session.scalar(select(Service).where(Service.slug == "first-visit"))

        def visit(who, patient, service, start, **fields):
            # The demo's own visits that would overlap step aside (the time of day varies).
            until = start + timedelta(minutes=service.minutes + service.buffer_after_minutes)
            for other in db.session.scalars(select(Appointment).where(
                Appointment.practitioner_id == staff[who].id,
                Appointment.status.in_(ACTIVE_STATUSES),
                Appointment.occupied_from < until,
                Appointment.occupied_until > start,
            )):
                other.status = AppointmentStatus.CANCELLED
            db.session.flush()
            row = Appointment(
                practitioner=staff[who], service=service, patient=patients.get(patient),
                starts_at=start, ends_at=start + timedelta(minutes=service.minutes),
                occupied_from=start,
                occupied_until=start + timedelta(minutes=service.minutes
                                                 + service.buffer_after_minutes),
                status=fields.pop("status", AppointmentStatus.CONFIRMED), source="desk",
                **fields,
            )
            db.session.add(row)
            db.session.flush()
            return row

        def intake(row, tier):
            db.session.add(Intake(
                patient_id=row.patient_id, appointment_id=row.id, kind="first_visit",
                questionnaire_version="v1", answers={}, ruleset_version="r1", tier=tier,
                screening={},
            ))

        late = visit("Lena Fischer", "Grace", follow_up, max(midnight, now - timedelta(hours=1)))
        arriving = visit("Maya Chen", "Farid", first, now)
        intake(late, "clear")
        intake(arriving, "precaution")
        visit("Sam Okafor", None, follow_up, now + timedelta(hours=2),
              status=AppointmentStatus.HELD, hold_expires_at=now + timedelta(minutes=10),
              hold_key="browser-test-hold")
        db.session.add(TimeOff(practitioner_id=staff["Sam Okafor"].id, starts_at=now,
                               ends_at=now + timedelta(hours=1), reason="Team meeting"))
        review = visit("Maya Chen", "David", first, now + timedelta(days=2, hours=1),
                       status=AppointmentStatus.AWAITING_REVIEW)
        intake(review, "medical_review")
        emergency = Intake(
            patient_id=patients["Eva"].id, kind="first_visit", questionnaire_version="v1",
            answers={}, ruleset_version="r1", tier="emergency", screening={},
        )
        db.session.add(emergency)
        db.session.flush()
        db.session.add(CallBack(patient_id=emergency.patient_id, intake_id=emergency.id))
        db.session.commit()
        return {"today": now.astimezone(zone).date(), "late": "Grace Obi",
                "arriving": "Farid Haddad"}


def test_run_the_clinic_day_check_in_and_no_show(live_server, desktop_page, clinic_day):
    page = desktop_page
    sign_in_browser(page, live_server.url, DESK_EMAIL)
    open_day(page, live_server, clinic_day["today"])
    expect(page.locator(".desk-tier-precaution")).to_have_text("Screening: Precaution")
    expect(page.locator(".desk-hold")).to_contain_text("Held")
    expect(page.locator(".desk-time_off")).to_contain_text("Team meeting")
    look(page, "desk-clinic-day-desktop")

    page.get_by_role("link", name=re.compile(clinic_day["arriving"])).click()
    look(page, "desk-visit-today-desktop")
    page.get_by_role("button", name="Check in").click()
    expect(page.locator(".notice")).to_have_text("Checked in.")
    page.get_by_role("link", name=re.compile("^Back to")).click()
    page.get_by_role("link", name=re.compile(clinic_day["late"])).click()
    page.get_by_role("button", name="Mark no-show").click()
    expect(page.locator(".notice")).to_have_text("Marked as a no-show.")
    page.get_by_role("link", name=re.compile("^Back to")).click()
    expect(page.locator(".desk-is-checked_in")).to_contain_text(clinic_day["arriving"])
    expect(page.locator(".desk-is-no_show")).to_contain_text(clinic_day["late"])
    screenshot(page, "desk-clinic-day-after-desktop")


def test_needs_attention_call_back(live_server, desktop_page, clinic_day):
    page = desktop_page
    sign_in_browser(page, live_server.url, DESK_EMAIL)
    page.goto(live_server.url + "/staff/desk/day")
    # The call-back, the held booking, and the demo's visits still without questionnaire or
    # check-in.
    with live_server.app.app_context():
        from booking.db import now_utc
        from booking.frontdesk.attention import needs_attention

        waiting = needs_attention(now_utc())
        count = str(waiting.count)
        unscreened = len(waiting.unscreened) + len(waiting.no_check_in)
        assert (len(waiting.call_backs), waiting.count - unscreened) == (1, 2)
    expect(page.locator(".desk-count")).to_have_text(count)
    page.get_by_role("link", name=re.compile(f"^Needs attention {count}")).click()
    expect(page.get_by_role("heading", level=2, name=re.compile("emergency"))).to_contain_text(
        "(1)")
    held = page.locator('section[aria-labelledby="urgent-reviews-heading"]')
    expect(held.get_by_role("cell", name=re.compile("David Nguyen"))).to_be_visible()
    expect(page.locator(".desk-tries")).to_have_text("Not tried yet")
    look(page, "desk-attention-desktop")

    # No answer: the try is kept and the call-back stays on the list.
    page.get_by_label("Note on the call with Eva Kowalski").fill("Left a voicemail.")
    page.get_by_role("button", name="No answer: try again later (Eva Kowalski)").click()
    expect(page.locator(".notice")).to_have_text(
        "Noted: no answer from Eva Kowalski. The call-back stays open: try again.")
    expect(page.locator(".desk-tries")).to_have_text(
        re.compile(r"^Tried 1 time, last \d{1,2}:\d\d [AP]M by Dana"))
    expect(page.locator(".desk-call-backs .attempts")).to_contain_text("Left a voicemail.")
    expect(page.locator(".desk-count")).to_have_text(count)  # still open: still counted
    look(page, "desk-attention-no-answer-desktop")

    # The desk's link to the screening goes to the patient page: tier and time, every call.
    page.get_by_role("link", name="Emergency screening of Eva Kowalski").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Eva Kowalski")
    screening = page.locator(".desk-screenings > li")
    expect(screening).to_contain_text("Emergency screening, answered")
    expect(screening).to_contain_text("Not reached yet")
    expect(screening).to_contain_text("Left a voicemail.")
    look(page, "desk-patient-call-back-open-desktop")

    page.go_back()
    page.get_by_label("Note on the call with Eva Kowalski").fill(
        "Spoke to Eva; she is on her way to the emergency department.")
    page.get_by_role("button", name="Answered: mark as called (Eva Kowalski)").click()
    expect(page.locator(".notice")).to_have_text("Marked the call to Eva Kowalski as made.")
    expect(page.get_by_text("No call-backs waiting.")).to_be_visible()

    page.get_by_label("Find a patient").fill("Kowalski")
    page.get_by_role("button", name="Find patient").click()
    page.get_by_role("link", name="Eva Kowalski", exact=True).click()
    screening = page.locator(".desk-screenings > li")
    expect(screening).to_contain_text("Reached")
    expect(screening.locator(".attempts li")).to_have_count(2)
    expect(screening.locator(".attempts li").last).to_contain_text("Answered, ")
    expect(screening.locator(".attempts li").last).to_contain_text(
        "Dana Desk: Spoke to Eva; she is on her way to the emergency department.")
    look(page, "desk-patient-call-back-reached-desktop")


def test_the_desk_sees_review_outcomes_without_the_notes(live_server, desktop_page,
                                                        clinic_day):
    with live_server.app.app_context():
        maya = db.session.scalar(select(User).where(User.email == MAYA_EMAIL))
        held = db.session.scalar(select(Appointment).where(
            Appointment.status == AppointmentStatus.AWAITING_REVIEW))
        db.session.add(ReviewDecision(
            appointment_id=held.id, outcome=ReviewOutcome.CALLED, decided_by_id=maya.id,
            note="Clinical detail the desk does not see.",
        ))
        db.session.commit()
        held_id, patient_id = held.id, held.patient_id
    page = desktop_page
    sign_in_browser(page, live_server.url, DESK_EMAIL)
    page.goto(f"{live_server.url}/staff/desk/appointments/{held_id}")
    expect(page.locator(".desk-review")).to_contain_text("Called the patient by Maya Chen")
    look(page, "desk-visit-review-desktop")
    page.goto(f"{live_server.url}/staff/desk/patients/{patient_id}")
    expect(page.locator(".desk-reviews")).to_contain_text("Called the patient by Maya Chen")
    expect(page.get_by_text("Clinical detail the desk does not see.")).to_have_count(0)
    look(page, "desk-patient-reviews-desktop")


def test_week_view_and_time_off(live_server, desktop_page, working_day):
    page = desktop_page
    sign_in_browser(page, live_server.url, DESK_EMAIL)
    page.get_by_role("link", name="Week", exact=True).click()
    page.get_by_label("Practitioner").select_option(label="Maya Chen")
    page.get_by_label("Week of").fill(working_day.isoformat())
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.locator("section.desk-col")).to_have_count(7)
    page.get_by_label("From day").fill(working_day.isoformat())
    page.get_by_label("From time").fill("12:00")
    page.get_by_label("Until time").fill("13:00")
    page.get_by_label("Reason").fill("Staff training")
    page.get_by_role("button", name="Block this time").click()
    expect(page.locator(".notice").first).to_contain_text("Blocked")
    expect(page.locator(".desk-time_off")).to_contain_text("Staff training")
    look(page, "desk-week-desktop")


def test_find_a_patient_and_put_them_on_the_waitlist(live_server, desktop_page):
    page = desktop_page
    sign_in_browser(page, live_server.url, DESK_EMAIL)
    page.goto(live_server.url + "/staff/desk/day")
    page.get_by_label("Find a patient").fill("silva")
    page.get_by_role("button", name="Find patient").click()
    page.get_by_role("link", name="Ana Silva", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ana Silva")
    page.locator("summary", has_text="Add to the waitlist").click()
    page.get_by_label("Visit type").select_option(label="Follow-up dry needling")
    page.get_by_label("Tuesday").check()
    page.get_by_label("Thursday").check()
    page.get_by_label("Mornings (until 12:00 PM)").check()
    look(page, "desk-patient-desktop")
    page.get_by_role("button", name="Add to the waitlist").click()
    expect(page.locator(".notice")).to_have_text("Ana Silva is on the waitlist.")
    page.get_by_role("link", name="Waitlist", exact=True).click()
    expect(page.get_by_role("cell", name="Tue, Thu, mornings")).to_be_visible()
    look(page, "desk-waitlist-desktop")

"""The day and week calendars: columns, blocks placed by time, tiers only, holds and time off."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from booking.extensions import db
from booking.intake.models import Intake
from booking.scheduling.models import AppointmentStatus, TimeOff
from tests.desk.helpers import MAYA_EMAIL, SECRET_ANSWER, TODAY, add, local, visit
from tests.factories import make_practitioner, make_service
from tests.helpers import STAFF_PASSWORD, sign_in


def intake_for(appointment_id, patient_id, tier):
    db.session.add(Intake(
        # The visits here are follow-ups: their screening is their check-in.
        patient_id=patient_id, appointment_id=appointment_id, kind="check_in",
        questionnaire_version="v1", answers={"red_flags": SECRET_ANSWER}, ruleset_version="r1",
        tier=tier, screening={"flags": [SECRET_ANSWER]},
    ))
    db.session.flush()


def blocks(page: str) -> list[str]:
    return re.findall(r'<li class="desk-block.*?</li>', page, re.S)


def test_day_view_has_a_column_per_practitioner_and_a_block_per_visit(app, desk, clinic):
    add(app, lambda: visit(clinic, local(TODAY, 9), service=clinic.first_visit))
    page = desk.get(f"/staff/desk/day?date={TODAY}").get_data(as_text=True)
    assert "Monday, November 23, 2026" in page
    assert page.count('class="desk-col"') == 2
    assert "Maya Chen" in page and "Sam Okafor" in page
    [block] = blocks(page)
    assert "Ana Silva" in block and "First visit" in block and "Confirmed" in block
    # The grid starts at 8:00 (15-minute rows): 9:00 is line 5, an hour spans four rows.
    assert "grid-row: 5 / span 4" in block
    assert "9:00 AM" in block


def test_day_view_shows_the_screening_tier_but_never_the_answers(app, desk, clinic):
    def setup():
        first = visit(clinic, local(TODAY, 10))
        intake_for(first, clinic.ana, "clear")
        intake_for(first, clinic.ana, "medical_review")  # the latest counts
        second = visit(clinic, local(TODAY, 11), patient=clinic.ben)
        intake_for(second, clinic.ben, "emergency")
        return first

    first = add(app, setup)
    page = desk.get(f"/staff/desk/day?date={TODAY}").get_data(as_text=True)
    assert "Medical review" in page and "Emergency" in page
    assert "desk-tier-medical_review" in page
    assert SECRET_ANSWER not in page
    visit_page = desk.get(f"/staff/desk/appointments/{first}").get_data(as_text=True)
    assert "Medical review" in visit_page
    assert SECRET_ANSWER not in visit_page
    patient_page = desk.get(f"/staff/desk/patients/{clinic.ana}").get_data(as_text=True)
    assert SECRET_ANSWER not in patient_page


def test_day_view_shows_live_holds_and_time_off_but_not_cancelled_or_run_out(app, desk, clinic):
    def setup():
        visit(clinic, local(TODAY, 9), status=AppointmentStatus.HELD, patient=clinic.ben,
              hold_expires_at=datetime.now(UTC) + timedelta(minutes=5))
        visit(clinic, local(TODAY, 10), status=AppointmentStatus.EXPIRED, patient=clinic.ben)
        visit(clinic, local(TODAY, 11), status=AppointmentStatus.CANCELLED)
        db.session.add(TimeOff(practitioner_id=clinic.sam, starts_at=local(TODAY, 12),
                               ends_at=local(TODAY, 14), reason="Training course"))

    add(app, setup)
    page = desk.get(f"/staff/desk/day?date={TODAY}").get_data(as_text=True)
    found = blocks(page)
    assert len(found) == 2
    held, time_off = sorted(found, key=lambda b: "Training" in b)
    assert "Held" in held and "Ben Walker" not in held
    assert "Training course" in time_off and "grid-row: 17 / span 8" in time_off
    assert "Ana Silva" not in page  # the cancelled visit is not on the calendar


def test_day_view_moves_between_days_and_falls_back_to_today(app, desk, clinic):
    page = desk.get("/staff/desk/day").get_data(as_text=True)
    assert "Monday, November 23, 2026" in page and "Today" in page
    assert 'href="/staff/desk/day?date=2026-11-22"' in page
    assert 'href="/staff/desk/day?date=2026-11-24"' in page
    assert 'type="date"' in page  # the date picker
    assert "Tuesday, November 24" in desk.get("/staff/desk/day?date=2026-11-24").get_data(
        as_text=True)
    assert "Monday, November 23" in desk.get("/staff/desk/day?date=nonsense").get_data(
        as_text=True)


def test_each_visit_links_to_a_page_with_its_actions_as_plain_forms(app, desk, clinic):
    appointment = add(app, lambda: visit(clinic, local(TODAY, 9)))
    page = desk.get(f"/staff/desk/day?date={TODAY}").get_data(as_text=True)
    assert f'href="/staff/desk/appointments/{appointment}"' in page
    assert f'data-move-url="/staff/desk/appointments/{appointment}/move"' in page
    visit_page = desk.get(f"/staff/desk/appointments/{appointment}").get_data(as_text=True)
    for action in ("check-in", "cancel", "move"):
        assert f'action="/staff/desk/appointments/{appointment}/{action}"' in visit_page


def test_week_view_shows_one_practitioner_over_seven_days(app, desk, clinic):
    add(app, lambda: visit(clinic, local(date(2026, 11, 26), 14), patient=clinic.ben))
    page = desk.get(f"/staff/desk/week?practitioner={clinic.maya}&date=2026-11-26").get_data(
        as_text=True)
    assert "Maya Chen: week of November 23, 2026" in page
    assert page.count('class="desk-col"') == 7
    assert "Thu, Nov 26" in page and "Sun, Nov 29" in page
    [block] = blocks(page)
    assert "Ben Walker" in block
    assert "Not working" in page  # the weekend


def test_week_rows_are_wall_clock_across_a_daylight_saving_change(app, desk, clinic):
    # Clocks go forward at 2:00 on Sunday 8 March 2026: 10:00 on Friday (EST) and on Sunday
    # (EDT) are different hours in UTC but share a row.
    add(app, lambda: (visit(clinic, local(date(2026, 3, 6), 10)),
                      visit(clinic, local(date(2026, 3, 8), 10), patient=clinic.ben)))
    page = desk.get(f"/staff/desk/week?practitioner={clinic.maya}&date=2026-03-06").get_data(
        as_text=True)
    friday, sunday = blocks(page)
    assert "Ana Silva" in friday and "Ben Walker" in sunday
    assert "grid-row: 9 / span 2" in friday and "grid-row: 9 / span 2" in sunday
    assert page.count("10:00 AM") >= 2


def test_calendar_grows_to_show_early_and_late_hours(app, desk, clinic):
    def setup():
        service = make_service(slug="evening", minutes=30)
        make_practitioner([service], name="Late Larry", hours={0: [("07:00", "20:30")]})

    add(app, setup)
    page = desk.get(f"/staff/desk/day?date={TODAY}").get_data(as_text=True)
    assert ">7:00 AM<" in page and ">8:30 PM<" in page


def test_desk_pages_need_a_signed_in_staff_member(app, clinic):
    client = app.test_client()
    response = client.get("/staff/desk/day")
    assert response.status_code in (302, 401)
    sign_in(client, MAYA_EMAIL, STAFF_PASSWORD)  # practitioners see the desk calendar too
    assert client.get("/staff/desk/day").status_code == 200


@pytest.mark.parametrize("query", [
    "day?date=9999-12-31",
    "day?date=0001-01-01",
    "day?date=2026-02-30",
    "day?date=%C2%B2",
    "week?date=9999-12-31",
    "week?date=0001-01-01",
    "book?service=1&day=9999-12-31",
    "book?service=1&day=0001-01-01",
])
def test_a_date_that_cannot_be_shown_gets_a_clear_refusal(desk, query):
    response = desk.get(f"/staff/desk/{query}")
    assert response.status_code == 422
    assert "That date could not be read" in response.get_data(as_text=True)

""""My visits": what a returning patient sees after the one-time link, on both engines.

Two patients with visits of every kind: each sees their own only; the upcoming ones link to
their pages and to the questions waiting; "Book a follow-up" is one tap to the times with the
last practitioner; the sign-in ends after 30 minutes without a request, and says so.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select

from booking.clinical.models import VisitOutcome
from booking.extensions import db
from booking.patients.models import Patient
from booking.scheduling.models import Appointment, AppointmentStatus, VisitKind
from tests.clinician.helpers import add_intake
from tests.factories import make_appointment, make_patient, make_practitioner, make_service
from tests.helpers import RETURNING_ASK, sign_in_returning_patient

# Friday 20 November 2026, 9:00 in New York (EST).
NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
EVERY_DAY = {day: [("09:00", "17:00")] for day in range(7)}
MY_VISITS = "/returning/visits"
IDLE_MESSAGE = "You were signed out after 30 minutes without activity."


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def clinic(app: Flask, frozen) -> dict[str, int]:
    """Ana: a past first visit with Maya, a follow-up on Monday (check-in open), one in three
    weeks (check-in later), a cancelled one. Ben: a first visit with Sam next week whose
    questions are waiting, and a past no-show."""
    with app.app_context():
        first = make_service(slug="first-visit", name="First visit", minutes=60,
                             kind=VisitKind.FIRST_VISIT)
        follow = make_service(slug="follow-up", name="Follow-up visit", minutes=30)
        maya = make_practitioner([first, follow], name="Maya Chen", hours=EVERY_DAY)
        sam = make_practitioner([first, follow], name="Sam Ortiz", hours=EVERY_DAY)
        ana = make_patient(first_name="Ana", last_name="Silva", email="ana.silva@example.com",
                           date_of_birth=date(1971, 4, 2))
        ben = make_patient(first_name="Ben", last_name="Walker", email="ben.walker@example.com")
        past = make_appointment(maya, first, NOW - timedelta(days=14), patient=ana,
                                status=AppointmentStatus.COMPLETED)
        add_intake(ana, past, submitted_at=NOW - timedelta(days=15))
        add_intake(ben, submitted_at=NOW - timedelta(days=20))  # so his link can be sent
        monday = make_appointment(maya, follow, datetime(2026, 11, 23, 15, 0, tzinfo=UTC),
                                  patient=ana)
        later = make_appointment(maya, follow, datetime(2026, 12, 11, 15, 0, tzinfo=UTC),
                                 patient=ana)
        make_appointment(maya, follow, datetime(2026, 11, 25, 16, 0, tzinfo=UTC), patient=ana,
                         status=AppointmentStatus.CANCELLED)
        make_appointment(sam, first, datetime(2026, 11, 24, 19, 0, tzinfo=UTC), patient=ben)
        make_appointment(sam, follow, NOW - timedelta(days=3), patient=ben,
                         status=AppointmentStatus.NO_SHOW)
        db.session.commit()
        return {"follow": follow.id, "maya": maya.id, "sam": sam.id, "monday": monday.id,
                "later": later.id}


def text_of(response) -> str:
    return response.get_data(as_text=True)


def section(page: str, heading: str) -> str:
    """The text of the page's section under an <h2>, up to the next one."""
    start = page.index(f">{heading}</h2>")
    end = page.find("<h2", start)
    return page[start:end if end != -1 else len(page)]


def test_the_link_lands_on_my_visits_with_only_that_patients_visits(app, clinic):
    ana = sign_in_returning_patient(app.test_client(), "ana.silva@example.com")
    ben = sign_in_returning_patient(app.test_client(), "ben.walker@example.com")

    anas, bens = text_of(ana.get(MY_VISITS)), text_of(ben.get(MY_VISITS))

    assert "Signed in as <strong>Ana Silva</strong>" in anas
    coming = section(anas, "Coming up")
    assert re.findall(r"<strong>(\w+day, \w+ \d+, 2026 at [\d:]+ [AP]M)</strong>", coming) == [
        "Monday, November 23, 2026 at 10:00 AM", "Friday, December 11, 2026 at 10:00 AM"]
    assert "Follow-up visit with Maya Chen · Confirmed" in coming
    assert "(New York time)" in coming
    earlier = section(anas, "Earlier and cancelled")
    assert "Wednesday, November 25, 2026 at 11:00 AM: Follow-up visit with Maya Chen · Cancelled" \
        in earlier
    assert "Friday, November 6, 2026 at 9:00 AM: First visit with Maya Chen · Completed" \
        in earlier
    # Nothing of Ben's on Ana's page, nothing of Ana's on Ben's.
    assert "Sam Ortiz" not in anas and "Ben" not in anas
    assert "Maya Chen" not in bens and "Ana" not in bens
    assert "Tuesday, November 24, 2026 at 2:00 PM" in section(bens, "Coming up")
    assert "No-show" in section(bens, "Earlier and cancelled")


def test_each_upcoming_visit_links_its_page_and_the_questions_waiting(app, clinic, frozen):
    frozen.shift(timedelta(hours=2))  # 11:00 Friday: Monday 10:00's check-in opened at 10:00
    ana = sign_in_returning_patient(app.test_client(), "ana.silva@example.com")
    ben = sign_in_returning_patient(app.test_client(), "ben.walker@example.com")
    anas, bens = text_of(ana.get(MY_VISITS)), text_of(ben.get(MY_VISITS))

    visit_links = re.findall(r'href="(/visit/[^"/]+)"', anas)
    assert len(visit_links) == 2
    # Monday's follow-up: its check-in is open (72 hours before) and waiting.
    assert re.search(r'href="/visit/[^"]+/questions">Answer your check-in</a>', anas)
    assert "Your check-in opens on Tuesday, December 8, 2026 at 10:00 AM." in anas
    first_page = ana.get(visit_links[0])
    assert first_page.status_code == 200
    assert "Monday, November 23, 2026 at 10:00 AM" in text_of(first_page)
    assert text_of(first_page).count('href="/returning/visits"') == 1  # back to My visits
    # Ben's first visit booked without its questionnaire.
    assert re.search(r'href="/visit/[^"]+/questions">Answer the health questions</a>', bens)
    # A visit link of Ana's opens Ana's visit only: Ben's client sees it as Ana's link allows,
    # but Ben's own page never lists it.
    assert visit_links[0] not in bens


def test_book_a_follow_up_is_one_tap_to_the_times_with_the_last_practitioner(app, clinic):
    ana = sign_in_returning_patient(app.test_client(), "ana.silva@example.com")
    page = text_of(ana.get(MY_VISITS))

    offer = re.search(r'<a class="button" href="([^"]+)">Follow-up visit with Maya Chen</a>', page)
    assert offer, page
    assert offer.group(1) == f"/book/follow-up/times?practitioner={clinic['maya']}"
    assert 'href="/book/?kind=follow_up">Another follow-up or practitioner</a>' in page
    times = ana.get(offer.group(1))
    assert times.status_code == 200, "the signed-in patient goes straight to the times"
    assert "Follow-up visit with Maya Chen." in text_of(times)


def test_book_a_series_leads_to_the_series_page(make_app, frozen):
    app = make_app()
    with app.app_context():
        ana = make_patient(first_name="Ana", email="ana@example.com")
        add_intake(ana)
        db.session.commit()
    client = sign_in_returning_patient(app.test_client(), "ana@example.com")
    page = text_of(client.get(MY_VISITS))
    assert '<a class="button secondary" href="/series/">Book a series</a>' in page
    assert client.get("/series/").status_code == 200


def test_nobody_signed_in_is_asked_for_a_link(app, client, clinic):
    response = client.get(MY_VISITS)
    assert (response.status_code, response.location) == (303, RETURNING_ASK)
    assert "Sam Ortiz" not in text_of(client.get(RETURNING_ASK))


def test_signed_in_book_a_follow_up_opens_my_visits(app, clinic):
    ana = sign_in_returning_patient(app.test_client(), "ana.silva@example.com")
    response = ana.get(RETURNING_ASK)
    assert (response.status_code, response.location) == (303, MY_VISITS)


def test_the_sign_in_ends_after_30_minutes_without_a_request(app, clinic, frozen):
    ana = sign_in_returning_patient(app.test_client(), "ana.silva@example.com")
    # Active: a request every 29 minutes keeps it going, for longer than 30 minutes in all.
    for _ in range(3):
        frozen.shift(timedelta(minutes=29))
        assert ana.get(MY_VISITS).status_code == 200
    frozen.shift(timedelta(minutes=30, seconds=1))

    response = ana.get(MY_VISITS)

    assert (response.status_code, response.location) == (303, RETURNING_ASK)
    ask = text_of(ana.get(RETURNING_ASK))
    assert IDLE_MESSAGE in ask
    with ana.session_transaction() as session:
        assert "returning_patient" not in session
    # The follow-up pages no longer take the patient either.
    times = ana.get(f"/book/follow-up/times?practitioner={clinic['maya']}")
    assert (times.status_code, times.location) == (303, RETURNING_ASK)


def test_signing_out_ends_my_visits(app, clinic):
    ana = sign_in_returning_patient(app.test_client(), "ana.silva@example.com")
    assert ana.post("/returning/sign-out").status_code == 303
    response = ana.get(MY_VISITS)
    assert (response.status_code, response.location) == (303, RETURNING_ASK)


# --- The series planned on the patient's latest outcome ---------------------------------------


def plan_on_anas_first_visit(app: Flask, weeks: int, visits: int) -> None:
    """Maya's outcome of Ana's first visit (two weeks ago) plans a series."""
    with app.app_context():
        first_visit = db.session.scalar(
            select(Appointment).join(Patient, Appointment.patient_id == Patient.id)
            .where(Patient.first_name == "Ana", Appointment.status == AppointmentStatus.COMPLETED)
        )
        db.session.add(VisitOutcome(appointment_id=first_visit.id, pain_now=5, bad_days_week=3,
                                    plan="Weekly, home stretches", series_every_weeks=weeks,
                                    series_visits=visits))
        db.session.commit()


def cancel_visits(app: Flask, *ids: int) -> None:
    with app.app_context():
        for appointment_id in ids:
            db.session.get(Appointment, appointment_id).status = AppointmentStatus.CANCELLED
        db.session.commit()


def test_my_visits_offers_the_planned_series_to_that_patient_only(app, clinic):
    plan_on_anas_first_visit(app, weeks=1, visits=4)
    cancel_visits(app, clinic["monday"], clinic["later"])
    ana = sign_in_returning_patient(app.test_client(), "ana.silva@example.com")
    ben = sign_in_returning_patient(app.test_client(), "ben.walker@example.com")

    anas, bens = text_of(ana.get(MY_VISITS)), text_of(ben.get(MY_VISITS))
    offer = section(anas, "Book a follow-up")
    assert "Maya Chen suggests a follow-up every week × 4 visits" in offer
    assert "stretches" not in anas
    assert "suggests" not in bens and "Book this series" not in bens

    link = html.unescape(re.search(r'href="([^"]+)">Book this series</a>', offer).group(1))
    assert link.startswith("/series/?")
    preview = ana.get(link)
    shown = text_of(preview)
    assert preview.status_code == 200
    assert f'<option selected value="{clinic["follow"]}">' in shown
    assert f'<option selected value="{clinic["maya"]}">' in shown
    # A week after the first visit has passed: tomorrow, at the first visit's 9:00.
    assert re.search(r'name="first_day"[^>]*value="2026-11-21"', shown)
    assert re.search(r'name="time"[^>]*value="09:00"', shown)
    assert '<option selected value="4">4</option>' in shown
    assert shown.count(">Free<") == 4


def test_no_suggestion_once_a_visit_is_booked_after_the_planned_one(app, clinic):
    plan_on_anas_first_visit(app, weeks=1, visits=4)  # Ana has two follow-ups booked since
    ana = sign_in_returning_patient(app.test_client(), "ana.silva@example.com")
    page = text_of(ana.get(MY_VISITS))
    assert "suggests a follow-up" not in page and "Book this series" not in page

"""What the desk sees of a patient's call-backs, emergency screenings and clinical reviews, on
the patient page and on a visit's card.

The desk never sees clinical answers or flags. A practitioner's review note may hold clinical
detail, so the desk sees a review's outcome, who and when, never its note; the call-back notes
are the desk's own and are shown.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import time_machine
from sqlalchemy import select

from booking.accounts.models import User
from booking.clinical.models import ReviewDecision, ReviewOutcome
from booking.extensions import db
from booking.intake.models import CallBack, Intake
from booking.scheduling.models import AppointmentStatus
from tests.desk.helpers import (
    MAYA_EMAIL,
    NOW,
    SECRET_ANSWER,
    TODAY,
    add,
    call_back_for,
    local,
    visit,
)

# A practitioner's review note: clinical detail the desk must not see.
SECRET_REVIEW_NOTE = "saddle-numbness-ruled-out-by-phone"


def text_of(page: str) -> str:
    """The page's words without tags, whitespace collapsed: what a person reads."""
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    return re.sub(r"\( ", "(", re.sub(r" ([,.:;)”])", r"\1", words))


@dataclass
class Notes:
    ben_call_back: int
    ben_intake: int
    ana_call_back: int
    ana_intake: int
    reviewed: int
    awaiting: int


def decide(appointment_id: int, outcome: ReviewOutcome, at, by_id: int | None) -> None:
    db.session.add(ReviewDecision(
        appointment_id=appointment_id, outcome=outcome, note=f"{SECRET_REVIEW_NOTE} {outcome}",
        decided_by_id=by_id, decided_at=at,
    ))


def emergency_on_hold(clinic, patient_id: int) -> int:
    """An emergency screening answered on a hold that was then given back, and its call-back."""
    hold = visit(clinic, local(TODAY, 15), status=AppointmentStatus.EXPIRED, patient=patient_id)
    intake = Intake(
        patient_id=patient_id, appointment_id=hold, kind="first_visit",
        questionnaire_version="v1", answers={"bladder": SECRET_ANSWER}, ruleset_version="r1",
        tier="emergency", screening={"flags": [SECRET_ANSWER]},
    )
    db.session.add(intake)
    db.session.flush()
    call_back = CallBack(patient_id=patient_id, intake_id=intake.id, raised_at=NOW)
    db.session.add(call_back)
    db.session.flush()
    return call_back.id


@pytest.fixture
def notes(app, desk, clinic) -> Iterator[Notes]:
    """Ben: an emergency screening, no answer at 8:00, reached at 10:40. Ana: an emergency
    screening on a hold given back, one unanswered try; a visit a practitioner called about and
    then approved; another still awaiting review. The test goes on at 10:45 (a signed-in
    session does not travel back in time)."""
    def setup():
        maya = db.session.scalar(select(User).where(User.email == MAYA_EMAIL))
        ben = call_back_for(clinic.ben)
        ana = emergency_on_hold(clinic, clinic.ana)
        reviewed = visit(clinic, local(TODAY, 10), service=clinic.first_visit)
        decide(reviewed, ReviewOutcome.CALLED, local(TODAY, 9, 15), maya.id)
        decide(reviewed, ReviewOutcome.APPROVED, local(TODAY, 9, 30), maya.id)
        awaiting = visit(clinic, local(TODAY, 14), status=AppointmentStatus.AWAITING_REVIEW)
        return Notes(
            ben, db.session.get(CallBack, ben).intake_id,
            ana, db.session.get(CallBack, ana).intake_id, reviewed, awaiting,
        )

    found = add(app, setup)
    attempts = "/staff/desk/call-backs/{}/attempts"
    desk.post(attempts.format(found.ben_call_back), data={"outcome": "no_answer"})
    desk.post(attempts.format(found.ana_call_back),
              data={"outcome": "no_answer", "note": "Left a voicemail."})
    with time_machine.travel(local(TODAY, 10, 40), tick=False):
        desk.post(attempts.format(found.ben_call_back),
                  data={"outcome": "answered", "note": "Ben is at the ER with his wife."})
    with time_machine.travel(local(TODAY, 10, 45), tick=False):
        yield found


def test_patient_page_lists_emergency_screenings_with_every_call(desk, clinic, notes):
    page = desk.get(f"/staff/desk/patients/{clinic.ben}").get_data(as_text=True)
    words = text_of(page)
    assert f'id="screening-{notes.ben_intake}"' in page
    assert f'id="call-back-{notes.ben_call_back}"' in page
    assert ("Emergency screening, answered Monday, November 23, 2026 at 8:00 AM") in words
    assert ("Call-back: Reached Monday, November 23, 2026 at 10:40 AM by Dana") in words
    assert "No answer, Monday, November 23, 2026 at 8:00 AM, Dana" in words
    assert ("Answered, Monday, November 23, 2026 at 10:40 AM, Dana: "
            "Ben is at the ER with his wife.") in words
    # Tier and time only: never the answers or flags behind it.
    assert SECRET_ANSWER not in page


def test_patient_page_shows_an_open_call_back_and_review_outcomes_without_notes(
    desk, clinic, notes
):
    page = desk.get(f"/staff/desk/patients/{clinic.ana}").get_data(as_text=True)
    words = text_of(page)
    assert f'id="screening-{notes.ana_intake}"' in page
    assert ("Call-back: Not reached yet · Tried 1 time, last 8:00 AM by Dana") in words
    assert "No answer, Monday, November 23, 2026 at 8:00 AM, Dana: Left a voicemail." in words
    assert "Practitioners' reviews" in words
    assert ("Monday, November 23, 2026, 10:00 AM · First visit with Maya Chen "
            "Called the patient by Maya, Monday, November 23, 2026 at 9:15 AM "
            "Approved by Maya, Monday, November 23, 2026 at 9:30 AM") in words
    assert f'id="review-{notes.reviewed}"' in page
    assert f'id="review-{notes.awaiting}"' not in page  # nothing decided on it yet
    # Review notes are the practitioners': outcome, who and when only.
    assert SECRET_REVIEW_NOTE not in page
    assert SECRET_ANSWER not in page


def test_a_patient_with_none_says_so(desk, clinic):
    words = text_of(desk.get(f"/staff/desk/patients/{clinic.ana}").get_data(as_text=True))
    assert "Emergency screenings and call-backs None." in words
    assert "Practitioners' reviews" not in words


def test_visit_card_shows_the_review_outcome_and_the_call_back_status(desk, clinic, notes):
    page = desk.get(f"/staff/desk/appointments/{notes.reviewed}").get_data(as_text=True)
    words = text_of(page)
    assert ("Review Called the patient by Maya, Monday, November 23, 2026 at 9:15 AM "
            "Approved by Maya, Monday, November 23, 2026 at 9:30 AM") in words
    assert ("Emergency call-back Raised Monday, November 23, 2026 at 8:00 AM. "
            "Not reached yet · Tried 1 time, last 8:00 AM by Dana: “Left a voicemail.” "
            "(every call to Ana Silva)") in words
    assert (f'href="/staff/desk/patients/{clinic.ana}#call-back-{notes.ana_call_back}"'
            in page)
    assert SECRET_REVIEW_NOTE not in page
    assert SECRET_ANSWER not in page

    waiting = text_of(desk.get(f"/staff/desk/appointments/{notes.awaiting}").get_data(
        as_text=True))
    assert "Review Not decided yet: a practitioner reviews it" in waiting


def test_visit_card_of_a_reached_patient_says_who_reached_them(app, desk, clinic, notes):
    ben_visit = add(app, lambda: visit(clinic, local(TODAY, 11), patient=clinic.ben))
    page = desk.get(f"/staff/desk/appointments/{ben_visit}").get_data(as_text=True)
    words = text_of(page)
    assert ("Emergency call-back Raised Monday, November 23, 2026 at 8:00 AM. "
            "Reached Monday, November 23, 2026 at 10:40 AM by Dana: "
            "“Ben is at the ER with his wife.”") in words
    assert "<dt>Review</dt>" not in page  # never held for review: no review line

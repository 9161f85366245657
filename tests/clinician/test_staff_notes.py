"""What the intake page shows of what followed the intake: the review decisions on the visits
it was read for (who, when and the note), the call-back of an emergency intake with every try,
and no claimed visit for an emergency intake, whose hold was given back.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from booking import formatting
from booking.accounts.models import User
from booking.clinical.models import ReviewDecision
from booking.db import now_utc
from booking.extensions import db
from booking.intake.models import CallBack, CallBackAttempt
from booking.scheduling.models import AppointmentStatus
from tests.clinician.helpers import ZONE, add_intake, add_visit, make_patient, open_with_reason

NO_VISIT = "No visit was booked: the answers called for emergency care."


def text_of(response) -> str:
    html = response.get_data(as_text=True)
    words = " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").split())
    return re.sub(r" ([,.:;)])", r"\1", words)


def said(moment: datetime) -> str:
    """'Monday, November 23, 2026 9:30 AM', as the review history writes it."""
    local = moment.astimezone(ZONE)
    return f"{formatting.day_long(local)} {formatting.clock(local)}"


def said_long(moment: datetime) -> str:
    return formatting.moment_long(moment.astimezone(ZONE))


def decide(client, appointment_id: int, decision: str, note: str):
    prefix = f"review-{appointment_id}"
    response = client.post(
        f"/staff/clinician/reviews/{appointment_id}",
        data={f"{prefix}-decision": decision, f"{prefix}-note": note},
    )
    assert response.status_code == 302


def decisions_on(app, appointment_id: int) -> list[ReviewDecision]:
    with app.app_context():
        return list(db.session.scalars(
            select(ReviewDecision).where(ReviewDecision.appointment_id == appointment_id)
            .order_by(ReviewDecision.id)
        ))


# --- Review decisions -------------------------------------------------------------------------


@pytest.fixture
def reviewed(app, world):
    """Hugo's first visit (its own intake) and a follow-up with no intake of its own (its
    review reads the first-visit intake), both held for review; Ines, another patient."""
    with app.app_context():
        hugo = make_patient(first_name="Hugo", last_name="Lambert")
        first = add_visit(world.maya, world.first_visit, now_utc() + timedelta(days=3), hugo,
                          AppointmentStatus.AWAITING_REVIEW)
        intake = add_intake(hugo, first, cancer_history="yes", weight_loss="not_sure")
        follow = add_visit(world.maya, world.follow_up, now_utc() + timedelta(days=10), hugo,
                           AppointmentStatus.AWAITING_REVIEW)
        ines = make_patient(first_name="Ines", last_name="Roy")
        other_visit = add_visit(world.sam, world.first_visit, now_utc() + timedelta(days=4),
                                ines, AppointmentStatus.AWAITING_REVIEW)
        other = add_intake(ines, other_visit, cancer_history="yes")
        db.session.commit()
        return {"intake": intake.id, "first": first.id, "follow": follow.id,
                "other": other.id, "other_visit": other_visit.id, "ines": ines.id}


def test_intake_page_shows_each_review_decision_with_who_when_and_the_note(
    app, signed_in, reviewed
):
    maya, sam = signed_in("maya@example.com"), signed_in("sam@example.com")
    decide(maya, reviewed["first"], "called", "Phoned Hugo: weight loss was a diet.")
    decide(sam, reviewed["first"], "approved", "History of cancer 10 years ago, clear since.")
    decide(maya, reviewed["follow"], "declined", "Wants a GP review before more needling.")
    decide(sam, reviewed["other_visit"], "approved", "Not Hugo's.")
    first, follow = decisions_on(app, reviewed["first"]), decisions_on(app, reviewed["follow"])

    words = text_of(maya.get(f"/staff/clinician/intakes/{reviewed['intake']}"))
    section = words[words.index("Review decisions"):words.index("The pain")]
    assert (
        f"Called the patient by Maya Chen, {said(first[0].decided_at)}: "
        "Phoned Hugo: weight loss was a diet. "
        f"Approved by Sam Okafor, {said(first[1].decided_at)}: "
        "History of cancer 10 years ago, clear since."
    ) in section
    # The follow-up has no intake of its own: its review was made on this one.
    assert (
        f"Declined by Maya Chen, {said(follow[0].decided_at)}: "
        "Wants a GP review before more needling."
    ) in section
    assert section.index("First visit with Maya Chen") < section.index("Follow-up with Maya")
    assert "Not Hugo's." not in words

    open_with_reason(maya, reviewed["ines"])  # Sam's patient
    other = text_of(maya.get(f"/staff/clinician/intakes/{reviewed['other']}"))
    assert "Approved by Sam Okafor" in other and "Not Hugo's." in other
    assert "Phoned Hugo" not in other and "GP review" not in other


def test_an_intake_without_decisions_has_no_review_section(maya, reviewed):
    words = text_of(maya.get(f"/staff/clinician/intakes/{reviewed['intake']}"))
    assert "Review decisions" not in words
    assert "For the visit" in words  # a booked visit is still named


# --- Emergency intakes ------------------------------------------------------------------------


@pytest.fixture
def emergency(app, world):
    """Eva's emergency intake on a hold given back, with a call-back the desk tried twice, and
    Omar's emergency intake with no hold at all, whose call-back no one has tried yet."""
    with app.app_context():
        desk = db.session.scalar(select(User).where(User.email == world.desk_email))
        eva = make_patient(first_name="Eva", last_name="Kowalski")
        hold = add_visit(world.maya, world.first_visit, now_utc() + timedelta(days=5), eva,
                         AppointmentStatus.EXPIRED)
        intake = add_intake(eva, hold, saddle_numbness="yes")
        assert intake.tier == "emergency"
        call_back = CallBack(patient_id=eva.id, intake_id=intake.id,
                             raised_at=now_utc() - timedelta(hours=3))
        db.session.add(call_back)
        db.session.flush()
        tries = [
            CallBackAttempt(call_back_id=call_back.id, by_id=desk.id, answered=False, note="",
                            attempted_at=now_utc() - timedelta(hours=2)),
            CallBackAttempt(call_back_id=call_back.id, by_id=desk.id, answered=True,
                            note="Eva is in the emergency department.",
                            attempted_at=now_utc() - timedelta(hours=1)),
        ]
        db.session.add_all(tries)
        call_back.called_at, call_back.called_by_id = tries[1].attempted_at, desk.id
        call_back.note = tries[1].note
        omar = make_patient(first_name="Omar", last_name="Haddad")
        no_hold = add_intake(omar, None, both_legs="yes", both_legs_onset="new")
        open_call_back = CallBack(patient_id=omar.id, intake_id=no_hold.id, raised_at=now_utc())
        db.session.add(open_call_back)
        db.session.commit()
        return {"intake": intake.id, "no_hold": no_hold.id, "hold": hold.id,
                "patients": (eva.id, omar.id),
                "raised": call_back.raised_at, "tries": [t.attempted_at for t in tries],
                "open_raised": open_call_back.raised_at}


def open_emergencies(client, emergency) -> None:
    """A hold given back makes no one their practitioner: whoever calls back states why."""
    for patient_id in emergency["patients"]:
        open_with_reason(client, patient_id, "Returning the emergency call-back")


def test_an_emergency_intake_claims_no_visit(maya, emergency):
    open_emergencies(maya, emergency)
    for intake in (emergency["intake"], emergency["no_hold"]):
        words = text_of(maya.get(f"/staff/clinician/intakes/{intake}"))
        assert f"Visit {NO_VISIT}" in words
        assert "For the visit" not in words


def test_an_emergency_intake_on_a_cancelled_booking_claims_no_visit(app, maya, world):
    with app.app_context():
        patient = make_patient(first_name="Lia", last_name="Berg")
        cancelled = add_visit(world.maya, world.first_visit, now_utc() + timedelta(days=1),
                              patient, AppointmentStatus.CANCELLED)
        intake = add_intake(patient, cancelled, saddle_numbness="yes").id
        db.session.commit()
    words = text_of(maya.get(f"/staff/clinician/intakes/{intake}"))
    assert NO_VISIT in words and "For the visit" not in words


def test_the_intake_page_shows_the_call_back_with_every_try(maya, emergency):
    open_emergencies(maya, emergency)
    words = text_of(maya.get(f"/staff/clinician/intakes/{emergency['intake']}"))
    section = words[words.index("Call-back"):words.index("The pain")]
    first, second = emergency["tries"]
    assert (
        f"Raised {said_long(emergency['raised'])}. "
        f"Reached {said_long(second)} by Dana Desk."
    ) in section
    assert f"No answer, {said_long(first)}, Dana Desk" in section
    assert (f"Answered, {said_long(second)}, Dana Desk: "
            "Eva is in the emergency department.") in section

    # A call-back still open says so.
    omar = text_of(maya.get(f"/staff/clinician/intakes/{emergency['no_hold']}"))
    assert (f"Call-back Raised {said_long(emergency['open_raised'])}. "
            "Not reached yet · Not tried yet. No one has tried to call yet.") in omar


def test_an_intake_without_a_call_back_has_no_call_back_section(maya, reviewed):
    words = text_of(maya.get(f"/staff/clinician/intakes/{reviewed['intake']}"))
    assert "Call-back" not in words


def test_a_booked_visit_is_still_named(app, maya, world):
    with app.app_context():
        patient = make_patient(first_name="Noor", last_name="Ali")
        visit = add_visit(world.maya, world.first_visit, now_utc() + timedelta(days=1), patient)
        intake = add_intake(patient, visit).id
        starts = visit.starts_at
        db.session.commit()
    words = text_of(maya.get(f"/staff/clinician/intakes/{intake}"))
    local = starts.astimezone(ZONE)
    assert (f"For the visit {formatting.day_long(local)}, {formatting.clock(local)} · "
            "First visit with Maya Chen") in words
    assert NO_VISIT not in words

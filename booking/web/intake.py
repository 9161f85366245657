"""The intake questionnaire inside the online booking of a first visit: one page per step,
consent, and the emergency advice.

The steps and consent are the questionnaire's pages (booking/web/questionnaire_pages.py); the
answers stay in the booking's draft in the database until the booking is made (booking_flow.py);
the cookie holds only the draft's token. What the answers lead to is `finish_booking`'s call:
booked, held for review, or stopped for emergency care.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, session, url_for

from booking.db import now_utc
from booking.extensions import db
from booking.intake.completion import Hold, finish_booking
from booking.intake.models import Intake
from booking.intake.screening import Tier
from booking.intake.service import IntakeSubmission, Respondent, emergency_answers
from booking.web import questionnaire_pages
from booking.web.booking import show_outcome, where_it_ended
from booking.web.booking_flow import EMERGENCY_KEY, BookingFlow
from booking.web.intake_flow import IntakeDraft, asks_questions
from booking.web.questionnaire_pages import Journey

bp = Blueprint("intake", __name__, url_prefix="/book/intake")


@bp.after_request
def no_caching(response):
    """Pages with health answers are not kept by browsers or proxies."""
    response.headers["Cache-Control"] = "no-store"
    return response


def current_journey() -> Journey[BookingFlow] | None:
    """The intake of the booking in progress (a first visit), once the contact details are in."""
    flow = BookingFlow.load()
    if flow is None or flow.hold_id is None or not flow.details or not asks_questions(flow):
        return None
    contact = flow.contact()

    def conclude(submission: IntakeSubmission):
        outcome = finish_booking(
            Hold(flow.hold_id, flow.hold_key), contact, flow.service, flow.practitioner_id,
            now_utc(), submission, patient_id=flow.patient_id,
        )
        return show_outcome(flow, outcome)

    return Journey(
        draft=IntakeDraft(flow),
        respondent=Respondent(contact["email"], contact["date_of_birth"]),
        conclude=conclude,
        page={"hold": flow.hold()},
    )


def no_booking_in_progress():
    """Where the booking ended (a second tap on the last button), or the start."""
    return where_it_ended() or redirect(url_for("booking.choose_service"))


@bp.route("/consent", methods=["GET", "POST"])
def consent():
    journey = current_journey()
    if journey is None:
        return no_booking_in_progress()
    return questionnaire_pages.consent_page(journey)


@bp.route("/<step_id>", methods=["GET", "POST"])
def step(step_id: str):
    journey = current_journey()
    if journey is None:
        return no_booking_in_progress()
    return questionnaire_pages.step_page(journey, step_id)


@bp.get("/outcome")
def outcome():
    """The emergency advice; its address says nothing about the patient's answers."""
    intake_id = session.get(EMERGENCY_KEY)
    intake = db.session.get(Intake, intake_id) if intake_id else None
    if intake is None or intake.tier != Tier.EMERGENCY.value:
        return redirect(url_for("public.home"))
    return render_template(
        "intake/emergency.html", answers=emergency_answers(intake), given_at=intake.submitted_at
    )

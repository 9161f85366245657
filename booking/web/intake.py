"""The intake questionnaire inside the booking flow: one page per step, consent, the outcome.

Answers stay in the booking's draft in the database until the booking is made (see
booking_flow.py and intake_flow.py); the cookie holds only the draft's token, and nothing about
the answers goes into URLs, logs or flash messages.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, abort, redirect, render_template, request, session, url_for

from booking.clinic.service import get_clinic
from booking.db import now_utc
from booking.extensions import db
from booking.intake.completion import Hold, finish_booking, stop_for_emergency
from booking.intake.models import Intake
from booking.intake.questionnaire import Step
from booking.intake.screening import Tier
from booking.intake.service import (
    Consent,
    Respondent,
    current_consent,
    early_emergency,
    emergency_answers,
    paragraphs,
    submission_from,
)
from booking.web.booking import show_outcome, where_it_ended
from booking.web.booking_flow import EMERGENCY_KEY, BookingFlow
from booking.web.intake_flow import IntakeDraft, asks_questions, question_views
from booking.web.intake_forms import ConsentForm, IntakeStepForm

bp = Blueprint("intake", __name__, url_prefix="/book/intake")


@bp.after_request
def no_caching(response):
    """Pages with health answers are not kept by browsers or proxies."""
    response.headers["Cache-Control"] = "no-store"
    return response


def current_draft() -> IntakeDraft[BookingFlow] | None:
    """The intake of the booking in progress (a first visit), once the contact details are in."""
    flow = BookingFlow.load()
    if flow is None or flow.hold_id is None or not flow.details or not asks_questions(flow):
        return None
    return IntakeDraft(flow)


@bp.route("/consent", methods=["GET", "POST"])
def consent():
    draft = current_draft()
    if draft is None:
        return where_it_ended() or redirect(url_for("booking.choose_service"))
    if not draft.needs_consent or draft.first_unfinished() is not None:
        return redirect(draft.resume_url())
    text = current_consent()
    form = ConsentForm(version=text.version, name=draft.consent_name)
    if form.is_submitted():
        draft.keep_consent_name(form.name.data or "")
        draft.save()
        if request.form.get("action") == "back":
            return redirect(draft.url_before(None), code=303)
        if form.validate_for(text.version):
            return finish(draft, Consent(text.version, form.name.data.strip(), now_utc()))
    # A refused consent is an error (422), so the request boundary rolls back, not commits.
    status = 422 if form.is_submitted() else 200
    return render_template(
        "intake/consent.html",
        form=form,
        consent=text,
        paragraphs=paragraphs(text.text),
        position=draft.parts,
        parts=draft.parts,
        hold=draft.store.hold(),
    ), status


@bp.route("/<step_id>", methods=["GET", "POST"])
def step(step_id: str):
    draft = current_draft()
    if draft is None:
        return where_it_ended() or redirect(url_for("booking.choose_service"))
    shown = draft.step(step_id) or abort(404)
    if request.method == "GET":
        return render_step(draft, shown, draft.raw, {})
    values = draft.take(shown, request.form)
    if request.form.get("action") == "back":  # keeps what was typed, valid or not
        draft.save()
        return redirect(draft.url_before(shown), code=303)
    errors = draft.check(shown, values)
    draft.save()
    if errors:
        # What was typed is kept in the draft even though this answer rolls the request back.
        return render_step(draft, shown, values, errors), 422
    if shown.safety:
        emergency = early_emergency(draft.kind, draft.raw, respondent(draft), *clock())
        if emergency is not None:  # the very next page is the emergency advice
            outcome = stop_for_emergency(
                hold_of(draft), draft.store.contact(), emergency, draft.store.patient_id
            )
            return show_outcome(draft.store, outcome)
    after = draft.url_after(shown)
    return redirect(after, code=303) if after else finish(draft)


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


def render_step(draft: IntakeDraft[BookingFlow], step: Step, values: dict, errors: dict[str, str]):
    questions = question_views(step, values, errors)
    return render_template(
        "intake/step.html",
        step=step,
        questions=questions,
        errors=[q for q in questions if q.error],
        position=draft.position(step),
        parts=draft.parts,
        hold=draft.store.hold(),
        form=IntakeStepForm(),
    )


def finish(draft: IntakeDraft[BookingFlow], consent: Consent | None = None):
    """Screen the whole answer set, then book, hold for review, or stop for emergency care."""
    flow = draft.store
    now, today = clock()
    submission, errors = submission_from(
        draft.kind, draft.raw, respondent(draft), now, today, consent
    )
    if submission is None:  # a step changed after it was checked: show it again
        return redirect(draft.resume_url(), code=303)
    outcome = finish_booking(
        hold_of(draft), flow.contact(), flow.service, flow.practitioner_id, now, submission,
        patient_id=flow.patient_id,
    )
    return show_outcome(flow, outcome)


def clock() -> tuple[datetime, date]:
    """Now, and today in the clinic's zone (the day ages are taken on)."""
    now = now_utc()
    return now, now.astimezone(get_clinic().zone).date()


def respondent(draft: IntakeDraft[BookingFlow]) -> Respondent:
    contact = draft.store.contact()
    return Respondent(contact["email"], contact["date_of_birth"])


def hold_of(draft: IntakeDraft[BookingFlow]) -> Hold:
    return Hold(draft.store.hold_id, draft.store.hold_key)

"""The questionnaire's pages, wherever it is answered: one page per step, then consent.

Three journeys run them: the online booking of a first visit (booking/web/intake.py), and a
booked visit's questionnaire or check-in through the visit's link or by the desk on the phone
(booking/web/visit_questions.py). A `Journey` says where the draft lives, who answers (age and
history are taken from them) and what the answers lead to (`conclude`); these pages are the same.

Every posted step is kept in its draft as typed, valid or not: an invalid step answers 422,
which rolls the request back, and the draft store keeps what was typed all the same
(booking/web/transaction.py). Nothing about the answers goes into URLs, logs or flash messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic

from flask import abort, make_response, redirect, render_template, request
from flask.typing import ResponseReturnValue

from booking.clinic.service import get_clinic
from booking.db import now_utc
from booking.intake.questionnaire import Step
from booking.intake.service import (
    Consent,
    IntakeSubmission,
    Respondent,
    current_consent,
    early_emergency,
    paragraphs,
    submission_from,
)
from booking.web.intake_flow import IntakeDraft, S, question_views
from booking.web.intake_forms import ConsentForm, IntakeStepForm


@dataclass(frozen=True)
class Journey(Generic[S]):
    """One questionnaire being answered.

    `conclude` turns a screened submission (an emergency found early, or the whole answer set)
    into the response; `page` holds what the templates need besides the questions (layout, the
    visit or the held time, wording for consent by phone).
    """

    draft: IntakeDraft[S]
    respondent: Respondent
    conclude: Callable[[IntakeSubmission], ResponseReturnValue]
    page: Mapping[str, Any] = field(default_factory=dict)
    consent_form: type[ConsentForm] = ConsentForm


def step_page(journey: Journey, step_id: str) -> ResponseReturnValue:
    """A step: shown (GET), or kept and checked, then the next page (POST)."""
    draft = journey.draft
    shown = draft.step(step_id) or abort(404)
    if request.method == "GET":
        return render_step(journey, shown, draft.raw, {})
    values = draft.take(shown, request.form)
    if request.form.get("action") == "back":  # keeps what was typed, valid or not
        draft.save()
        return redirect(draft.url_before(shown), code=303)
    errors = draft.check(shown, values)
    draft.save()
    if errors:
        return render_step(journey, shown, values, errors), 422
    if shown.safety:
        emergency = early_emergency(draft.kind, draft.raw, journey.respondent, *clock())
        if emergency is not None:  # the very next page is the emergency advice
            return journey.conclude(emergency)
    after = draft.url_after(shown)
    return redirect(after, code=303) if after else finish(journey)


def consent_page(journey: Journey) -> ResponseReturnValue:
    """Consent to treatment, once every step is done; agreeing screens and concludes."""
    draft = journey.draft
    if not draft.needs_consent or draft.first_unfinished() is not None:
        return redirect(draft.resume_url(), code=303)
    text = current_consent()
    form = journey.consent_form(version=text.version, name=draft.consent_name)
    if form.is_submitted():
        draft.keep_consent_name(form.name.data or "")
        draft.save()
        if request.form.get("action") == "back":
            return redirect(draft.url_before(None), code=303)
        if form.validate_for(text.version):
            return finish(journey, Consent(text.version, form.name.data.strip(), now_utc()))
    # A refused consent is an error (422), so the request boundary rolls back, not commits.
    status = 422 if form.is_submitted() else 200
    return private(render_template(
        "intake/consent.html",
        form=form,
        consent=text,
        paragraphs=paragraphs(text.text),
        position=draft.parts,
        parts=draft.parts,
        **journey.page,
    ), status)


def render_step(journey: Journey, step: Step, values: dict, errors: dict[str, str]):
    draft = journey.draft
    questions = question_views(step, values, errors)
    return private(render_template(
        "intake/step.html",
        step=step,
        questions=questions,
        errors=[q for q in questions if q.error],
        position=draft.position(step),
        parts=draft.parts,
        form=IntakeStepForm(),
        **journey.page,
    ))


def finish(journey: Journey, consent: Consent | None = None) -> ResponseReturnValue:
    """Screen the whole answer set, then conclude."""
    draft = journey.draft
    now, today = clock()
    submission, _ = submission_from(draft.kind, draft.raw, journey.respondent, now, today, consent)
    if submission is None:  # a step changed after it was checked: show it again
        return redirect(draft.resume_url(), code=303)
    return journey.conclude(submission)


def clock() -> tuple[datetime, date]:
    """Now, and today in the clinic's zone (the day ages are taken on)."""
    now = now_utc()
    return now, now.astimezone(get_clinic().zone).date()


def private(body, status: int = 200):
    """Pages with health answers are not kept by browsers or proxies."""
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response

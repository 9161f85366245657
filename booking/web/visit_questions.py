"""One booked first visit's questionnaire: the online steps and consent, for a visit the desk
booked. The patient answers through the visit's signed link (booking/web/manage.py); the desk
may fill it in with the patient on the phone (booking/web/desk.py). Both run these pages.

The answers in progress live in the database (`QuestionnaireDraft`), never in the cookie; the
steps, their checks and their templates are the online ones (`IntakeDraft`, intake/*.html).
The outcome is applied by one service call, `screen_booked_visit`; the pages only show it.
An invalid step answers 422, which rolls the request back: what was typed stays on the page,
the draft keeps what it had.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import abort, make_response, redirect, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from booking.accounts.models import User
from booking.db import now_utc
from booking.extensions import db
from booking.intake.completion import VisitOutcome, screen_booked_visit
from booking.intake.models import QuestionnaireDraft
from booking.intake.questionnaire import Step
from booking.intake.service import (
    Consent,
    Respondent,
    current_consent,
    early_emergency,
    paragraphs,
    submission_from,
)
from booking.scheduling.models import Appointment, Service
from booking.web.intake import clock
from booking.web.intake_flow import (
    ANSWERS,
    CONSENT_NAME,
    DONE,
    IntakeDraft,
    StepUrls,
    question_views,
)
from booking.web.intake_forms import ConsentForm, IntakeStepForm


@dataclass
class VisitStore:
    """A visit's draft, kept in its `QuestionnaireDraft` row (made on the first save)."""

    appointment: Appointment
    extra: dict[str, Any] = field(default_factory=dict)
    row: QuestionnaireDraft | None = None

    @classmethod
    def load(cls, appointment: Appointment) -> VisitStore:
        row = _draft_row(appointment.id)
        if row is None:
            return cls(appointment)
        extra = {
            ANSWERS: dict(row.answers or {}),
            DONE: list(row.done_steps or []),
            CONSENT_NAME: row.consent_name or "",
        }
        return cls(appointment, extra, row)

    @property
    def service(self) -> Service | None:
        return self.appointment.service

    def save(self) -> None:
        if self.row is None:
            self.row = _new_draft_row(self.appointment.id)
        self.row.answers = dict(self.extra.get(ANSWERS, {}))
        self.row.done_steps = list(self.extra.get(DONE, []))
        self.row.consent_name = self.extra.get(CONSENT_NAME) or None
        self.row.updated_at = now_utc()
        db.session.flush()


def _draft_row(appointment_id: int) -> QuestionnaireDraft | None:
    return db.session.scalar(
        select(QuestionnaireDraft).where(QuestionnaireDraft.appointment_id == appointment_id)
    )


def _new_draft_row(appointment_id: int) -> QuestionnaireDraft:
    """The visit's draft row; the link and the desk may both start it at once (one wins)."""
    try:
        with db.session.begin_nested():
            row = QuestionnaireDraft(appointment_id=appointment_id, answers={}, done_steps=[])
            db.session.add(row)
        return row
    except IntegrityError:
        return _draft_row(appointment_id) or abort(409)


@dataclass(frozen=True)
class Asker:
    """Who goes through the questions, and how their pages differ.

    `show` turns the outcome into a response; `entered_by` is the staff member typing for the
    patient (None: the patient); `page` holds what the templates need besides the questions
    (layout, the visit, wording for consent by phone).
    """

    urls: StepUrls
    show: Callable[[Appointment, VisitOutcome], ResponseReturnValue]
    entered_by: User | None = None
    page: dict[str, Any] = field(default_factory=dict)
    consent_form: type[ConsentForm] = ConsentForm


def draft_for(appointment: Appointment, asker: Asker) -> IntakeDraft[VisitStore]:
    return IntakeDraft(VisitStore.load(appointment), asker.urls)


def start(appointment: Appointment, asker: Asker) -> ResponseReturnValue:
    """Where the questions were left (the first step, for a new questionnaire)."""
    return redirect(draft_for(appointment, asker).resume_url(), code=303)


def step_page(appointment: Appointment, step_id: str, asker: Asker) -> ResponseReturnValue:
    """A step: shown (GET), or checked and kept, then the next page (POST)."""
    draft = draft_for(appointment, asker)
    shown = draft.step(step_id) or abort(404)
    if request.method == "GET":
        return render_step(draft, shown, draft.raw, {}, asker)
    values = draft.take(shown, request.form)
    if request.form.get("action") == "back":  # keeps what was typed, valid or not
        draft.save()
        return redirect(draft.url_before(shown), code=303)
    errors = draft.check(shown, values)
    if errors:
        return render_step(draft, shown, values, errors, asker), 422
    draft.save()
    if shown.safety:
        emergency = early_emergency(draft.kind, draft.raw, respondent(appointment), *clock())
        if emergency is not None:  # the very next page is the emergency advice
            return asker.show(
                appointment, screen_booked_visit(appointment, emergency, asker.entered_by)
            )
    after = draft.url_after(shown)
    return redirect(after, code=303) if after else finish(appointment, draft, asker)


def consent_page(appointment: Appointment, asker: Asker) -> ResponseReturnValue:
    """Consent to treatment, once every step is done; agreeing stores the answers."""
    draft = draft_for(appointment, asker)
    if not draft.needs_consent or draft.first_unfinished() is not None:
        return redirect(draft.resume_url(), code=303)
    text = current_consent()
    form = asker.consent_form(version=text.version, name=draft.consent_name)
    if form.is_submitted():
        draft.keep_consent_name(form.name.data or "")
        if request.form.get("action") == "back":
            draft.save()
            return redirect(draft.url_before(None), code=303)
        if form.validate_for(text.version):
            consent = Consent(text.version, form.name.data.strip(), now_utc())
            return finish(appointment, draft, asker, consent)
    # A refused consent is an error (422), so the request boundary rolls back, not commits.
    status = 422 if form.is_submitted() else 200
    return private(render_template(
        "intake/consent.html",
        form=form,
        consent=text,
        paragraphs=paragraphs(text.text),
        position=draft.parts,
        parts=draft.parts,
        **asker.page,
    ), status)


def render_step(
    draft: IntakeDraft[VisitStore], step: Step, values: dict, errors: dict[str, str], asker: Asker
):
    questions = question_views(step, values, errors)
    return private(render_template(
        "intake/step.html",
        step=step,
        questions=questions,
        errors=[q for q in questions if q.error],
        position=draft.position(step),
        parts=draft.parts,
        form=IntakeStepForm(),
        **asker.page,
    ))


def finish(
    appointment: Appointment,
    draft: IntakeDraft[VisitStore],
    asker: Asker,
    consent: Consent | None = None,
) -> ResponseReturnValue:
    """Screen the whole answer set and apply it to the visit."""
    now, today = clock()
    submission, _ = submission_from(
        draft.kind, draft.raw, respondent(appointment), now, today, consent
    )
    if submission is None:  # a step changed after it was checked: show it again
        return redirect(draft.resume_url(), code=303)
    return asker.show(appointment, screen_booked_visit(appointment, submission, asker.entered_by))


def respondent(appointment: Appointment) -> Respondent:
    """The patient's record: screening takes the age and the history from it."""
    patient = appointment.patient
    return Respondent(patient.email or "", patient.date_of_birth)


def private(body, status: int = 200):
    """Pages with health answers are not kept by browsers or proxies."""
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response

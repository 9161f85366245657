"""A booked visit's questionnaire or check-in: the questionnaire's pages, for a visit booked
already. The patient answers through the visit's signed link (booking/web/manage.py); the desk
may fill it in with the patient on the phone (booking/web/desk.py). Both run these pages.

The answers in progress live in the database (`QuestionnaireDraft`), never in the cookie; the
pages, their checks and their templates are the questionnaire's (questionnaire_pages.py). The
outcome is applied by one service call, `screen_booked_visit`; the pages only show it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import abort, redirect
from flask.typing import ResponseReturnValue
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from booking.accounts.models import User
from booking.db import now_utc
from booking.extensions import db
from booking.intake.completion import VisitOutcome, screen_booked_visit
from booking.intake.models import QuestionnaireDraft
from booking.intake.service import IntakeSubmission, Respondent
from booking.scheduling.models import Appointment, Service
from booking.web import questionnaire_pages
from booking.web.intake_flow import ANSWERS, CONSENT_NAME, DONE, IntakeDraft, StepUrls
from booking.web.intake_forms import ConsentForm
from booking.web.questionnaire_pages import Journey
from booking.web.transaction import keep_after_rollback


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
        """Keep the draft as it is now, even if this request's answer is a refusal (4xx)."""
        self._write()
        keep_after_rollback(("questionnaire_draft", self.row.appointment_id), self._write)

    def _write(self) -> None:
        if self.row is None or inspect(self.row).transient:  # new, or made in a rolled-back try
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


def journey(appointment: Appointment, asker: Asker) -> Journey[VisitStore]:
    patient = appointment.patient  # screening takes the age and the history from the record

    def conclude(submission: IntakeSubmission) -> ResponseReturnValue:
        outcome = screen_booked_visit(appointment, submission, asker.entered_by)
        return asker.show(appointment, outcome)

    return Journey(
        draft=IntakeDraft(VisitStore.load(appointment), asker.urls),
        respondent=Respondent(patient.email or "", patient.date_of_birth),
        conclude=conclude,
        page=asker.page,
        consent_form=asker.consent_form,
    )


def start(appointment: Appointment, asker: Asker) -> ResponseReturnValue:
    """Where the questions were left (the first step, for a new questionnaire)."""
    return redirect(journey(appointment, asker).draft.resume_url(), code=303)


def step_page(appointment: Appointment, step_id: str, asker: Asker) -> ResponseReturnValue:
    return questionnaire_pages.step_page(journey(appointment, asker), step_id)


def consent_page(appointment: Appointment, asker: Asker) -> ResponseReturnValue:
    return questionnaire_pages.consent_page(journey(appointment, asker))

"""An intake questionnaire in progress: its raw answers, the steps done, the consent name.

Where the answers are kept is the store's business (`DraftStore`); both keep them in the
database: the online booking in its draft (`BookingFlow` is a store as it is), a visit booked by
the desk in its questionnaire draft (booking/web/visit_questions.py). `StepUrls` says where the
steps live.

Raw form values are kept (not the cleaned answers) so that whatever the patient typed comes back
exactly as typed, after Back, a validation error, or a time that was taken meanwhile. They are
cleaned and screened once more at the end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from flask import url_for
from werkzeug.datastructures import MultiDict

from booking.intake.questionnaire import (
    Question,
    Step,
    all_questions,
    clean_answers,
    question_by_id,
)
from booking.intake.service import intake_kind, needs_consent, steps_for
from booking.scheduling.models import Service, VisitKind
from booking.web.booking_flow import BookingFlow

ANSWERS = "answers"  # question id -> raw form value (str, or list for multi-choice)
DONE = "done"  # ids of the steps sent with "Continue" and valid at the time
CONSENT_NAME = "consent_name"
SHORT_VALUE = 40  # longest raw value kept for a non-text answer


class DraftStore(Protocol):
    """Where a draft's answers are kept: `extra` holds them under ANSWERS, DONE, CONSENT_NAME;
    `save()` keeps what changed; `service` is the visit's (first visit or follow-up)."""

    extra: dict[str, Any]

    @property
    def service(self) -> Service | None: ...

    def save(self) -> None: ...


@dataclass(frozen=True)
class StepUrls:
    """The endpoints of a questionnaire's pages (steps take `step_id`), with the URL values
    they share, and where Back from the first step goes. The default: the online booking."""

    step: str = "intake.step"
    consent: str = "intake.consent"
    start: str = "booking.details"
    values: Mapping[str, Any] = field(default_factory=dict)


S = TypeVar("S", bound=DraftStore)


@dataclass
class IntakeDraft(Generic[S]):
    store: S
    urls: StepUrls = field(default_factory=StepUrls)

    @property
    def kind(self) -> str:
        return intake_kind(self.store.service.kind)

    @property
    def steps(self) -> tuple[Step, ...]:
        return steps_for(self.kind)

    @property
    def needs_consent(self) -> bool:
        return needs_consent(self.kind)

    @property
    def raw(self) -> dict[str, Any]:
        return self.store.extra.setdefault(ANSWERS, {})

    @property
    def consent_name(self) -> str:
        return self.store.extra.get(CONSENT_NAME, "")

    def step(self, step_id: str) -> Step | None:
        return next((step for step in self.steps if step.id == step_id), None)

    def position(self, step: Step) -> int:
        """1-based place of the step among the intake's parts (consent counts as the last)."""
        return self.steps.index(step) + 1

    @property
    def parts(self) -> int:
        return len(self.steps) + (1 if self.needs_consent else 0)

    def take(self, step: Step, form: MultiDict) -> dict[str, Any]:
        """The step's posted values, valid or not; they are kept in the store too."""
        values = {q.id: _posted(q, form) for q in all_questions([step])}
        for question in all_questions([step]):
            self.raw[question.id] = _capped(question, values[question.id])
        return values

    def check(self, step: Step, values: dict[str, Any]) -> dict[str, str]:
        """Errors by question id; the step counts as done only when there are none."""
        _, errors = clean_answers([step], values)
        done = [step_id for step_id in self.store.extra.get(DONE, []) if step_id != step.id]
        self.store.extra[DONE] = done if errors else [*done, step.id]
        return errors

    def is_done(self, step: Step) -> bool:
        if step.id not in self.store.extra.get(DONE, []):
            return False
        return not clean_answers([step], self.raw)[1]

    def keep_consent_name(self, name: str) -> None:
        self.store.extra[CONSENT_NAME] = name[:200]

    def save(self) -> None:
        self.store.save()

    # --- Where to go ---------------------------------------------------------------------

    def first_unfinished(self) -> Step | None:
        return next((step for step in self.steps if not self.is_done(step)), None)

    def url_before(self, step: Step | None) -> str:
        """Back from a step (None: from the consent step)."""
        if step is None:
            return self.step_url(self.steps[-1])
        index = self.steps.index(step)
        if index == 0:
            return url_for(self.urls.start, **self.urls.values)
        return self.step_url(self.steps[index - 1])

    def url_after(self, step: Step) -> str | None:
        """The next page after a valid step; None when the check-in is finished."""
        index = self.steps.index(step)
        if index + 1 < len(self.steps):
            return self.step_url(self.steps[index + 1])
        return self.consent_url() if self.needs_consent else None

    def resume_url(self) -> str:
        """Where the patient was: the first unfinished step, else the last page before booking."""
        unfinished = self.first_unfinished()
        if unfinished is not None:
            return self.step_url(unfinished)
        if self.needs_consent:
            return self.consent_url()
        return self.step_url(self.steps[-1])

    def step_url(self, step: Step) -> str:
        return url_for(self.urls.step, step_id=step.id, **self.urls.values)

    def consent_url(self) -> str:
        return url_for(self.urls.consent, **self.urls.values)


def resume_url(flow: BookingFlow) -> str:
    """After a (new) hold: the details, or straight back to the intake where it was left (a
    follow-up asks no questions when it is booked: back to the details, which book it)."""
    if not flow.details or not asks_questions(flow):
        return url_for("booking.details")
    return IntakeDraft(flow).resume_url()


def asks_questions(flow: BookingFlow) -> bool:
    """Online, only a first visit is booked with its questionnaire; a follow-up's check-in is
    asked in the 72 hours before the visit (booking/web/visit_questions.py)."""
    service = flow.service
    return service is not None and service.kind != VisitKind.FOLLOW_UP


def _posted(question: Question, form: MultiDict) -> str | list[str]:
    if question.kind == "multi_choice":
        return form.getlist(question.id)
    return form.get(question.id, "")


def _capped(question: Question, value: str | list[str]) -> str | list[str]:
    """A posted value cut to a size no valid answer exceeds, so a draft stays small."""
    if isinstance(value, list):
        return [item[:SHORT_VALUE] for item in value][: len(question.choices)]
    return value[: question.max if question.kind == "text" and question.max else SHORT_VALUE]


# --- Showing the questions -----------------------------------------------------------------

INPUT_TYPES = {
    "yes_no_unsure": "radio",
    "yes_no": "radio",
    "onset": "radio",
    "single_choice": "radio",
    "multi_choice": "checkbox",
    "integer": "number",
    "date": "date",
}
LONG_TEXT = 200  # text answers allowed to be longer than this get a textarea


@dataclass(frozen=True)
class QuestionView:
    """One question as the template draws it: what was typed, its error, how to ask it."""

    question: Question
    value: Any
    error: str | None
    lead_in: str | None
    hint: str | None
    qualifier: str | None = None  # "2 of 3" when several questions of a step read the same

    @property
    def id(self) -> str:
        return self.question.id

    @property
    def input_type(self) -> str:
        if self.question.kind == "text":
            return "textarea" if (self.question.max or 0) > LONG_TEXT else "text"
        return INPUT_TYPES[self.question.kind]

    @property
    def inline(self) -> bool:
        """Short answers (yes / no / not sure) sit side by side."""
        return self.question.kind in ("yes_no", "yes_no_unsure")

    def input_id(self, index: int = 0) -> str:
        """The first input carries the question's id, so `#<id>` links reach it."""
        return self.id if index == 0 else f"{self.id}-{self.question.choices[index].value}"

    def is_checked(self, value: str) -> bool:
        chosen = self.value if isinstance(self.value, list) else [self.value]
        return value in chosen

    @property
    def text_value(self) -> str:
        return self.value if isinstance(self.value, str) else ""


def question_views(
    step: Step, values: dict[str, Any], errors: dict[str, str]
) -> list[QuestionView]:
    return [
        QuestionView(
            question=question,
            value=values.get(question.id, [] if question.kind == "multi_choice" else ""),
            error=errors.get(question.id),
            lead_in=_lead_in(question),
            hint=_hint(question),
            qualifier=qualifier,
        )
        for question, qualifier in zip(step.questions, _qualifiers(step), strict=True)
    ]


def _qualifiers(step: Step) -> list[str | None]:
    """Tell apart questions that read the same (each activity's "How well can you do it now?"),
    so that every field has its own name for screen readers and in the error summary."""
    counts = Counter(question.text for question in step.questions)
    seen: Counter[str] = Counter()
    qualifiers: list[str | None] = []
    for question in step.questions:
        seen[question.text] += 1
        repeated = counts[question.text] > 1
        qualifiers.append(f"{seen[question.text]} of {counts[question.text]}" if repeated else None)
    return qualifiers


def _lead_in(question: Question) -> str | None:
    """"If yes or not sure:" above a follow-up, in the words of its parent's answers."""
    if question.follow_up_of is None:
        return None
    parent = question_by_id(question.follow_up_of)
    labels = [c.label.lower() for c in parent.choices if c.value in question.shown_when]
    return f"If {' or '.join(labels)}:"


def _hint(question: Question) -> str | None:
    parts = [question.help] if question.help else []
    if question.kind == "integer" and question.min is not None and question.max is not None:
        parts.append(f"Enter a number from {question.min} to {question.max}.")
    return " ".join(parts) or None

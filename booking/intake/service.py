"""Storing intakes, the consent text, and what a screening means for the booking.

Services flush; the request boundary commits. Nothing here logs answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from booking.accounts.models import User
from booking.extensions import db
from booking.intake.approvals import Approval, apply_approvals
from booking.intake.models import CallBack, ConsentText, Intake
from booking.intake.questionnaire import (
    CHECK_IN_STEPS,
    FIRST_VISIT_STEPS,
    QUESTIONNAIRE_VERSION,
    Question,
    Step,
    clean_answers,
    question_by_id,
)
from booking.intake.screening import Level, Screening, Tier, emergency_screen, screen
from booking.intake.signals import call_back_raised, intake_recorded
from booking.patients.models import Patient
from booking.scheduling.models import Appointment, AppointmentStatus, Service, VisitKind

FIRST_VISIT = "first_visit"
CHECK_IN = "check_in"
RECENT_EMERGENCY_DAYS = timedelta(days=14)
CHECK_IN_WINDOW = timedelta(hours=72)  # a follow-up's check-in is asked this long before it

FIRST_CONSENT_VERSION = "2026-11"
FIRST_CONSENT_TEXT = """\
Dry needling means placing very thin, solid needles (there is no medicine in them) into tight \
or tender muscles to ease pain and stiffness. Your practitioner explains what they plan to do \
and asks you before each treatment.

Soreness afterwards is common. It feels like after a workout and usually lasts 24 to 72 hours. \
A small bruise or a little bleeding where a needle went in can happen.

Serious problems are rare. They include fainting, an infection where a needle went in, a \
needle breaking, and, very rarely, a needle going too deep, for example into a lung when the \
upper back is treated.

You can ask questions at any time. You can stop or say no to any treatment at any time, even \
during a session. Care without needles is always available.

By agreeing, you confirm that you have answered the health questions truthfully and as fully \
as you can, and that you will tell your practitioner if anything changes."""


@dataclass(frozen=True)
class Consent:
    """Consent to treatment as given: the text's version, the typed name and when."""

    version: str
    name: str
    at: datetime


@dataclass(frozen=True)
class IntakeSubmission:
    """A finished, validated answer set with its screening, ready to be stored."""

    kind: str
    answers: dict[str, Any]
    screening: Screening
    consent: Consent | None = None

    @property
    def is_emergency(self) -> bool:
        return self.screening.tier is Tier.EMERGENCY

    @property
    def booking_status(self) -> AppointmentStatus:
        """Medical review keeps the time as "awaiting review"; precaution and clear confirm."""
        if self.screening.tier is Tier.MEDICAL_REVIEW:
            return AppointmentStatus.AWAITING_REVIEW
        return AppointmentStatus.CONFIRMED


@dataclass(frozen=True)
class AnsweredQuestion:
    """A question and the patient's answer, both in the words the patient saw."""

    text: str
    answer: str


# --- The questionnaire for a booking ---------------------------------------------------------


def intake_kind(visit_kind: VisitKind) -> str:
    """First visits get the full intake; follow-ups the short check-in."""
    return CHECK_IN if visit_kind == VisitKind.FOLLOW_UP else FIRST_VISIT


def steps_for(kind: str) -> tuple[Step, ...]:
    return CHECK_IN_STEPS if kind == CHECK_IN else FIRST_VISIT_STEPS


def needs_consent(kind: str) -> bool:
    """Consent to treatment is given with the first-visit intake."""
    return kind == FIRST_VISIT


@dataclass(frozen=True)
class Respondent:
    """Who is answering: enough to find their screening history (email and date of birth)."""

    email: str
    date_of_birth: date


def submission_from(
    kind: str,
    raw: Mapping[str, Any],
    respondent: Respondent,
    now: datetime,
    today: date,
    consent: Consent | None = None,
) -> tuple[IntakeSubmission | None, dict[str, str]]:
    """Clean every step's raw answers and screen them; (None, errors) if any answer is wrong.

    The date of birth comes from the contact details (screening needs the age), and a recent
    emergency of the same person holds the booking for review whatever they answer now.
    """
    answers, errors = clean_answers(steps_for(kind), raw)
    if errors:
        return None, errors
    return _submission(kind, answers, respondent, now, today, consent), {}


def early_emergency(
    kind: str, raw: Mapping[str, Any], respondent: Respondent, now: datetime, today: date
) -> IntakeSubmission | None:
    """The answers so far, screened, when the emergency questions already call for emergency
    care: the flow stops there instead of asking about needling, function and consent."""
    steps = steps_for(kind)
    safety_at = next((i for i, step in enumerate(steps) if step.safety), None)
    if safety_at is None:
        return None
    answers, errors = clean_answers(steps[: safety_at + 1], raw)
    if errors or emergency_screen(answers, today) is None:
        return None
    return _submission(kind, answers, respondent, now, today)


def _submission(
    kind: str,
    answers: dict[str, Any],
    respondent: Respondent,
    now: datetime,
    today: date,
    consent: Consent | None = None,
) -> IntakeSubmission:
    answers["date_of_birth"] = respondent.date_of_birth.isoformat()
    recent = had_recent_emergency(respondent, now)
    screening = screen(answers, today, recent_emergency=recent)
    if screening.tier is Tier.MEDICAL_REVIEW:  # only a review can be eased by an approval
        screening = apply_approvals(screening, answers, approval_lookup()(respondent))
    return IntakeSubmission(kind, answers, screening, consent)


# --- What practitioners already approved ------------------------------------------------------

ApprovalLookup = Callable[[Respondent], Iterable[Approval]]
"""The review-level flags a practitioner already approved for the respondent.

Approvals are review decisions, which belong to `clinical`, a layer above this one: intake asks
through this signature and never imports clinical. `create_app` registers clinical's answer
(`booking.clinical.approvals.approved_flags`) on each app; an app without one finds no
approvals, so every review flag holds the visit as before (the safe side).
"""
_APPROVAL_LOOKUP = "booking.intake.approval_lookup"


def set_approval_lookup(app: Flask, lookup: ApprovalLookup) -> None:
    app.extensions[_APPROVAL_LOOKUP] = lookup


def approval_lookup() -> ApprovalLookup:
    """The current app's lookup of approved flags; none registered: nothing was approved."""
    return current_app.extensions.get(_APPROVAL_LOOKUP, _nothing_approved)


def _nothing_approved(_respondent: Respondent) -> list[Approval]:
    return []


def had_recent_emergency(respondent: Respondent, now: datetime) -> bool:
    """An emergency screening in the last 14 days, or a call-back not yet made, for anyone
    with this email and date of birth (the way returning patients are matched)."""
    same_person = select(Patient.id).where(
        func.lower(Patient.email) == respondent.email.strip().lower(),
        Patient.date_of_birth == respondent.date_of_birth,
    )
    recent_intake = select(Intake.id).where(
        Intake.patient_id.in_(same_person),
        Intake.tier == Tier.EMERGENCY.value,
        Intake.submitted_at >= now - RECENT_EMERGENCY_DAYS,
    )
    open_call_back = select(CallBack.id).where(
        CallBack.patient_id.in_(same_person), CallBack.called_at.is_(None)
    )
    return bool(db.session.scalar(select(or_(recent_intake.exists(), open_call_back.exists()))))


# --- Who may book a follow-up ----------------------------------------------------------------


def has_completed_first_visit_intake(patient_id: int) -> bool:
    """The patient has given a first-visit questionnaire that did not end in emergency care.

    The one rule behind "a follow-up only for a patient we have assessed": the online flow, the
    JSON API and the front desk all ask it through `may_book`.
    """
    found = db.session.scalar(
        select(Intake.id)
        .where(
            Intake.patient_id == patient_id,
            Intake.kind == FIRST_VISIT,
            Intake.tier != Tier.EMERGENCY.value,
        )
        .limit(1)
    )
    return found is not None


def may_book(service: Service, patient_id: int | None) -> bool:
    """First visits are open to anyone; a follow-up needs a known patient with a completed
    first-visit intake (None: nobody known, as through the API or before signing in)."""
    if service.kind != VisitKind.FOLLOW_UP:
        return True
    return patient_id is not None and has_completed_first_visit_intake(patient_id)


# --- A follow-up's check-in: when it is asked, and when it is done ---------------------------


def check_in_opens_at(appointment: Appointment) -> datetime:
    """The check-in of a follow-up opens 72 hours before its (current) start."""
    return appointment.starts_at - CHECK_IN_WINDOW


def check_in_open(appointment: Appointment, now: datetime) -> bool:
    """From 72 hours before the visit's start until the start."""
    return check_in_opens_at(appointment) <= now < appointment.starts_at


def counts_as_check_in(intake: Intake, appointment: Appointment) -> bool:
    """THE rule: a check-in counts for a visit when it was given for that visit no earlier than
    72 hours before the visit's current start. A visit moved by more than 72 hours therefore
    asks again, with no bookkeeping: its earlier check-in falls outside the new window."""
    return (
        intake.kind == CHECK_IN
        and intake.appointment_id == appointment.id
        and intake.submitted_at >= check_in_opens_at(appointment)
    )


def check_ins_done(appointments: Iterable[Appointment]) -> set[int]:
    """The ids of the given visits whose check-in is done (`counts_as_check_in`), in one query."""
    by_id = {appointment.id: appointment for appointment in appointments}
    if not by_id:
        return set()
    intakes = db.session.scalars(
        select(Intake).where(Intake.appointment_id.in_(by_id), Intake.kind == CHECK_IN)
    )
    return {
        intake.appointment_id
        for intake in intakes
        if counts_as_check_in(intake, by_id[intake.appointment_id])
    }


def check_in_done(appointment: Appointment) -> bool:
    return appointment.id in check_ins_done([appointment])


def check_in_missing(appointment: Appointment, now: datetime, done: bool) -> bool:
    """A booked follow-up whose window has opened (or whose start has passed) with no check-in:
    what the practitioner and the desk see as "No check-in". `done`: `check_in_done`'s answer,
    passed in so that lists ask for all their visits at once."""
    return (
        appointment.service.kind == VisitKind.FOLLOW_UP
        and appointment.patient_id is not None
        and now >= check_in_opens_at(appointment)
        and not done
    )


# --- Storing -------------------------------------------------------------------------------


def record_intake(
    submission: IntakeSubmission,
    patient: Patient,
    appointment: Appointment | None,
    entered_by: User | None = None,
) -> Intake:
    """Store the answers and their screening; an emergency also raises a call-back for staff.

    Sends `intake_recorded`, so the emails already queued for the appointment can follow what
    the screening says (e.g. an urgent review), in this same transaction.
    `entered_by`: the staff member who typed the answers (the desk, by phone), if not the patient.
    """
    screening = submission.screening
    consent = submission.consent
    intake = Intake(
        patient_id=patient.id,
        appointment_id=appointment.id if appointment is not None else None,
        kind=submission.kind,
        questionnaire_version=QUESTIONNAIRE_VERSION,
        answers=dict(submission.answers),
        ruleset_version=screening.ruleset_version,
        tier=screening.tier.value,
        screening=screening.to_dict(),
        no_needling=screening.no_needling,
        consent_version=consent.version if consent else None,
        consent_name=consent.name if consent else None,
        consent_at=consent.at if consent else None,
        entered_by_id=entered_by.id if entered_by is not None else None,
    )
    db.session.add(intake)
    db.session.flush()
    if screening.tier is Tier.EMERGENCY:
        call_back = CallBack(patient_id=patient.id, intake_id=intake.id)
        db.session.add(call_back)
        db.session.flush()
        call_back_raised.send(call_back)
    intake_recorded.send(intake)
    return intake


def current_consent() -> ConsentText:
    """The active consent text (the newest if several); the first version is made if none."""
    found = _newest_active_consent()
    if found is not None:
        return found
    try:
        # Two first requests may race to create it: the unique version lets one win.
        with db.session.begin_nested():
            db.session.add(ConsentText(version=FIRST_CONSENT_VERSION, text=FIRST_CONSENT_TEXT))
    except IntegrityError:
        pass
    found = _newest_active_consent()
    if found is None:  # an admin retired the first version and made no other
        raise LookupError("no active consent text")
    return found


def _newest_active_consent() -> ConsentText | None:
    return db.session.scalar(
        select(ConsentText)
        .where(ConsentText.active.is_(True))
        .order_by(ConsentText.created_at.desc(), ConsentText.id.desc())
        .limit(1)
    )


def paragraphs(text: str) -> list[str]:
    """A stored text's paragraphs (separated by blank lines), for showing as <p>s."""
    return [part.strip() for part in text.replace("\r\n", "\n").split("\n\n") if part.strip()]


# --- Reading back, in the patient's words ----------------------------------------------------


def emergency_answers(intake: Intake) -> list[AnsweredQuestion]:
    """The answers behind an intake's emergency flags, as question text and answer."""
    screening = Screening.from_dict(intake.screening)
    shown: list[AnsweredQuestion] = []
    seen: set[str] = set()
    for flag in screening.flags:
        if flag.level is not Level.EMERGENCY:
            continue
        main_id = flag.question_ids[0]
        if main_id in seen:
            continue
        seen.add(main_id)
        question = question_by_id(main_id)
        shown.append(AnsweredQuestion(question.text, _answer_words(question, intake.answers)))
    return shown


def _answer_words(question: Question, answers: Mapping[str, Any]) -> str:
    """"Yes, new in the last 2 weeks": the answer and, for red flags, when it started."""
    words = [_choice_label(question, answers.get(question.id))]
    onset_id = f"{question.id}_onset"
    if onset_id in answers:
        words.append(_choice_label(question_by_id(onset_id), answers[onset_id]).lower())
    return ", ".join(word for word in words if word)


def _choice_label(question: Question, value: Any) -> str:
    for choice in question.choices:
        if choice.value == value:
            return choice.label
    return "" if value is None else str(value)

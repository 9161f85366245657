"""The intake questionnaire as data: question ids, wording, answer types and when each is shown.

Ids and answer values follow the clinic's clinical-screening document (README, "Screening
rules"); `screening.screen` reads the answers this module produces. Pure Python so forms, the
JSON API and tests share one definition.

The emergency step: in both flows the seven emergency questions (with their onsets) are a step
of their own, id "safety", marked `Step.safety`; in the first visit it is the first health step,
right after "About your pain". The web layer tells it by `step.safety` (or by
`EMERGENCY_STEP_IDS`), runs `screening.emergency_screen(answers, today)` as soon as that step is
sent, and stops there on an emergency; `screen()` still runs over every answer at the end. Both
flows use the id "safety" for it; each flow's steps are its own (`FIRST_VISIT_STEPS`,
`CHECK_IN_STEPS`), so an id names one step within a flow.

The check-in before each follow-up asks only what can change: progress, then "since your last
visit" the emergency questions, the other new-symptom questions (`new_injury` among them) and
the precautions that can change. History questions are not asked again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

QUESTIONNAIRE_VERSION = "2026-12.1"

KINDS = (
    "yes_no_unsure",
    "onset",
    "yes_no",
    "integer",
    "date",
    "multi_choice",
    "single_choice",
    "text",
)
CHOICE_KINDS = ("yes_no_unsure", "onset", "yes_no", "single_choice", "multi_choice")
LEVELS = ("emergency", "review", "precaution")


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


YES_NO_CHOICES = (Choice("yes", "Yes"), Choice("no", "No"))
YES_NO_UNSURE_CHOICES = (*YES_NO_CHOICES, Choice("not_sure", "Not sure"))
ONSET_CHOICES = (
    Choice("new", "New in the last 2 weeks"),
    Choice("worse", "Getting worse"),
    Choice("stable", "Longer than 2 weeks and not changing"),
)
_FIXED_CHOICES = {
    "yes_no": YES_NO_CHOICES,
    "yes_no_unsure": YES_NO_UNSURE_CHOICES,
    "onset": ONSET_CHOICES,
}


@dataclass(frozen=True)
class Question:
    """One question. For `text`, `max` is the longest answer in characters.

    A follow-up (`follow_up_of` set) is shown only when its parent's answer is in `shown_when`.
    """

    id: str
    text: str
    kind: str
    choices: tuple[Choice, ...] = ()
    required: bool = False
    min: int | None = None
    max: int | None = None
    follow_up_of: str | None = None
    shown_when: tuple[str, ...] = ()
    help: str | None = None
    level: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.id}: unknown kind {self.kind!r}")
        if self.level is not None and self.level not in LEVELS:
            raise ValueError(f"{self.id}: unknown level {self.level!r}")
        if not self.choices and self.kind in _FIXED_CHOICES:
            # Frozen dataclass: the standard choices are filled in once, at definition time.
            object.__setattr__(self, "choices", _FIXED_CHOICES[self.kind])
        if self.kind in CHOICE_KINDS and not self.choices:
            raise ValueError(f"{self.id}: a {self.kind} question needs choices")
        if (self.follow_up_of is None) != (not self.shown_when):
            raise ValueError(f"{self.id}: follow_up_of and shown_when go together")

    @property
    def choice_values(self) -> tuple[str, ...]:
        return tuple(choice.value for choice in self.choices)


@dataclass(frozen=True)
class Step:
    """One page of a flow. `safety`: the step holds the emergency questions (see above)."""

    id: str
    title: str
    intro: str
    questions: tuple[Question, ...]
    safety: bool = False


# --- About your pain -----------------------------------------------------------------------

PAIN_AREA_CHOICES = (
    Choice("low_back_left", "Low back, left side"),
    Choice("low_back_right", "Low back, right side"),
    Choice("low_back_center", "Low back, middle"),
    Choice("buttock_left", "Left buttock"),
    Choice("buttock_right", "Right buttock"),
    Choice("thigh_left", "Left thigh"),
    Choice("thigh_right", "Right thigh"),
    Choice("below_knee_left", "Left leg below the knee"),
    Choice("below_knee_right", "Right leg below the knee"),
    Choice("groin", "Groin"),
    Choice("upper_back", "Upper back"),
    Choice("neck", "Neck"),
)
DURATION_CHOICES = (
    Choice("under_6_weeks", "Less than 6 weeks"),
    Choice("6_to_12_weeks", "6 to 12 weeks"),
    Choice("over_3_months", "3 months to a year"),
    Choice("over_1_year", "More than a year"),
)
PATTERN_CHOICES = (
    Choice("morning_stiffness_eases", "Stiff in the morning, easing once I get moving"),
    Choice("end_of_day_tightness", "Tight by the end of the day"),
    Choice("worse_sitting", "Worse when sitting"),
    Choice("worse_standing", "Worse when standing"),
    Choice("worse_bending", "Worse when bending forward"),
    Choice("buttock_after_sitting", "Pain in the buttock after sitting"),
    Choice("side_bending", "Worse when bending to the side"),
)

_PAIN_SCALE_HELP = "0 means no pain, 10 means the worst pain you can imagine."


def _pain_rating(qid: str, text: str) -> Question:
    return Question(qid, text, "integer", required=True, min=0, max=10, help=_PAIN_SCALE_HELP)


PAIN_AREAS = Question(
    "pain_areas",
    "Where do you feel pain?",
    "multi_choice",
    choices=PAIN_AREA_CHOICES,
    required=True,
    help="Choose all that apply. Left and right mean your own left and right.",
)
DURATION = Question(
    "duration",
    "How long have you had this pain?",
    "single_choice",
    choices=DURATION_CHOICES,
    required=True,
)
PATTERN = Question(
    "pattern",
    "Which of these fit your pain?",
    "multi_choice",
    choices=PATTERN_CHOICES,
    help="Choose any that apply.",
)
PAIN_NOW = _pain_rating("pain_now", "How bad is your pain right now?")
PAIN_WORST_WEEK = _pain_rating("pain_worst_week", "How bad was your pain at its worst this week?")
PAIN_AVERAGE_WEEK = _pain_rating("pain_average_week", "How bad was your pain on average this week?")
BAD_DAYS_WEEK = Question(
    "bad_days_week",
    "In the last 7 days, how many were bad days for your back?",
    "integer",
    required=True,
    min=0,
    max=7,
)
RELIEF_DAYS_WEEK = Question(
    "relief_days_week",
    "In the last 7 days, on how many days did you need something for short-term pain relief, "
    "such as painkillers?",
    "integer",
    min=0,
    max=7,
)
FLARE_RECOVERY_DAYS = Question(
    "flare_recovery_days",
    "When your pain flares up, how many days does it usually take to settle?",
    "integer",
    min=0,
    max=60,
)

# --- Safety: red flags -----------------------------------------------------------------------

_ONSET_TEXT = "Is it new in the last 2 weeks, or getting worse?"


def _red_flag(qid: str, text: str, level: str) -> Question:
    # Red flags offer "Not sure": people under-report these symptoms, and screening counts
    # "not sure" as yes. Every one must be answered.
    return Question(qid, text, "yes_no_unsure", required=True, level=level)


def _onset_of(question: Question) -> Question:
    return Question(
        f"{question.id}_onset",
        _ONSET_TEXT,
        "onset",
        required=True,
        follow_up_of=question.id,
        shown_when=("yes", "not_sure"),
        level=question.level,
    )


EMERGENCY_QUESTIONS = (
    _red_flag(
        "bladder_start",
        "Is it newly hard to start peeing, or is your stream weak or hard to control?",
        "emergency",
    ),
    _red_flag(
        "bladder_leak",
        "Have you leaked urine without knowing, needed pads, or stopped feeling when your "
        "bladder is full?",
        "emergency",
    ),
    _red_flag(
        "bowel_control",
        "Have you leaked stool, been unable to hold it, or not felt it coming?",
        "emergency",
    ),
    _red_flag(
        "saddle_numbness",
        "Is there numbness or tingling between your legs, around your bottom or genitals, or "
        "does toilet paper feel different when you wipe?",
        "emergency",
    ),
    _red_flag(
        "both_legs", "Do you have pain, numbness or weakness going down both legs?", "emergency"
    ),
    _red_flag(
        "legs_weakening",
        "Are both legs getting weaker quickly (tripping, foot slapping, knees giving way)?",
        "emergency",
    ),
    _red_flag(
        "sexual_function",
        "Any new trouble with erection or ejaculation, or new loss of feeling in your genitals "
        "during sex?",
        "emergency",
    ),
)

ONE_LEG_WEAKENING = _red_flag(
    "one_leg_weakening",
    "Is one leg or foot getting weaker (for example, the foot slaps or drags)?",
    "review",
)

REVIEW_QUESTIONS = (
    _red_flag(
        "fever_now", "Do you have a fever, chills or sweats now, with your back pain?", "review"
    ),
    _red_flag(
        "recent_infection",
        "In the last 3 months, have you had an infection treated with antibiotics, or a deep "
        "wound?",
        "review",
    ),
    _red_flag(
        "injected_drugs",
        "Have you ever injected drugs that were not prescribed to you?",
        "review",
    ),
    _red_flag(
        "immune_suppressed",
        "Do you take medicine that weakens your immune system (steroid tablets, transplant "
        "drugs, chemotherapy, biologic injections), or have HIV?",
        "review",
    ),
    _red_flag("cancer_history", "Have you ever had cancer?", "review"),
    _red_flag(
        "weight_loss", "Have you lost weight in the last few months without trying?", "review"
    ),
    _red_flag(
        "major_trauma",
        "Did this pain start after a big accident, such as a car crash, a fall from a height or "
        "a hard hit?",
        "review",
    ),
    _red_flag("fall_or_lift_onset", "Did it start after a small fall or lifting?", "review"),
    _red_flag(
        "osteoporosis_or_steroids",
        "Do you have weak bones (osteoporosis) or take steroid tablets long-term?",
        "review",
    ),
    _red_flag("first_episode", "Is this your first ever episode of back pain?", "review"),
    _red_flag(
        "night_pain",
        "Is the pain bad at night and not eased by changing position or lying down?",
        "review",
    ),
    _red_flag(
        "worsening_month",
        "Has the pain kept getting worse for over a month despite treatment?",
        "review",
    ),
    ONE_LEG_WEAKENING,
    _red_flag(
        "morning_stiffness_long",
        "Is your back stiff for more than 30 minutes every morning, and better with exercise "
        "rather than rest?",
        "review",
    ),
)


# Asked at check-in only: the first visit asks about the injury that started the pain.
NEW_INJURY = _red_flag(
    "new_injury", "Have you had a fall, accident or hard hit since your last visit?", "review"
)


# Each onset follow-up is made once, so that both flows show the very same question.
ONSETS: dict[str, Question] = {
    question.id: _onset_of(question) for question in (*EMERGENCY_QUESTIONS, ONE_LEG_WEAKENING)
}


def _with_onsets(questions: Iterable[Question]) -> tuple[Question, ...]:
    """The questions, each followed by its onset follow-up when it has one."""
    return tuple(
        q for question in questions for q in (question, ONSETS.get(question.id)) if q is not None
    )


# --- Needling precautions ------------------------------------------------------------------


def _precaution(qid: str, text: str, help: str | None = None) -> Question:
    return Question(qid, text, "yes_no", required=True, level="precaution", help=help)


BLEEDING_DISORDER = _precaution(
    "bleeding_disorder",
    "Do you have a bleeding disorder such as hemophilia, or bleed or bruise very easily?",
)
PREGNANT = _precaution("pregnant", "Are you pregnant, or could you be?")
PREGNANCY_WEEKS = Question(
    "pregnancy_weeks",
    "How many weeks pregnant are you?",
    "integer",
    min=0,
    max=45,
    follow_up_of=PREGNANT.id,
    shown_when=("yes",),
    help="Leave this blank if you don't know.",
    level="precaution",
)

NEEDLING_QUESTIONS = (
    _precaution(
        "blood_thinners",
        "Do you take blood thinners (warfarin, apixaban, rivaroxaban, clopidogrel, daily aspirin)?",
    ),
    BLEEDING_DISORDER,
    Question(
        "bleeding_disorder_severe",
        "Has a doctor diagnosed a bleeding disorder, such as hemophilia?",
        "yes_no",
        required=True,
        follow_up_of=BLEEDING_DISORDER.id,
        shown_when=("yes",),
        level="precaution",
    ),
    PREGNANT,
    PREGNANCY_WEEKS,
    _precaution(
        "needle_fear",
        "Are you very afraid of needles?",
        help="If you are, we will offer you care without needles.",
    ),
    _precaution("fainted_needles", "Have you fainted with needles or blood tests?"),
    _precaution("lymphedema", "Do you have lymphedema, or have you had lymph nodes removed?"),
    _precaution("metal_allergy", "Are you allergic to any metal, such as nickel?"),
    _precaution(
        "implanted_device",
        "Do you have a pacemaker, defibrillator or other implanted electrical device?",
    ),
    _precaution("diabetes", "Do you have diabetes?"),
    _precaution("epilepsy", "Do you have seizures or epilepsy?"),
    _precaution(
        "skin_problem_at_site",
        "Do you have a rash, wound or skin infection where you want treatment?",
    ),
    _precaution(
        "proxy_consent",
        "Are you filling this in for someone who cannot decide about treatment themselves?",
    ),
    _precaution("heart_valve", "Do you have an artificial heart valve?"),
    _precaution("recent_surgery", "Have you had surgery in the last 3 months?"),
)

# --- Function and goals ----------------------------------------------------------------------

ACTIVITY_COUNT = 3


def _activity(n: int) -> tuple[Question, Question]:
    name = Question(
        f"activity_{n}",
        "An everyday activity your back makes hard" if n == 1 else "Another activity (optional)",
        "text",
        max=200,
        help="For example: gardening, lifting your child, sitting through a film.",
    )
    score = Question(
        f"activity_{n}_score",
        "How well can you do it now?",
        "integer",
        min=0,
        max=10,
        help="0 means you can't do it at all, 10 means as well as before the pain.",
    )
    return name, score


ACTIVITIES = tuple(_activity(n) for n in range(1, ACTIVITY_COUNT + 1))
ACTIVITY_SCORES = tuple(score for _, score in ACTIVITIES)
GOALS = Question("goals", "What do you want to get back to?", "text", max=2000)

# --- Steps -----------------------------------------------------------------------------------

PAIN_STEP = Step(
    "pain",
    "About your pain",
    "Tell us where it hurts and how it has been this week.",
    (
        PAIN_AREAS,
        DURATION,
        PATTERN,
        PAIN_NOW,
        PAIN_WORST_WEEK,
        PAIN_AVERAGE_WEEK,
        BAD_DAYS_WEEK,
        RELIEF_DAYS_WEEK,
        FLARE_RECOVERY_DAYS,
    ),
)
_NOT_SURE_IS_FINE = 'Please answer every one; "Not sure" is a fine answer.'
SAFETY_STEP = Step(
    "safety",
    "Checking your safety",
    "These questions look for rare but serious problems that need care straight away. "
    + _NOT_SURE_IS_FINE,
    _with_onsets(EMERGENCY_QUESTIONS),
    safety=True,
)
HEALTH_STEP = Step(
    "health",
    "About your health",
    "These questions look for other problems a clinician should know about before your visit. "
    + _NOT_SURE_IS_FINE,
    _with_onsets(REVIEW_QUESTIONS),
)
NEEDLING_STEP = Step(
    "needling",
    "Before any needling",
    "Dry needling is safe for most people. These answers help your practitioner plan safe "
    "treatment for you.",
    NEEDLING_QUESTIONS,
)
FUNCTION_STEP = Step(
    "function",
    "What you want to get back to",
    "Name up to three activities your back makes hard, and how well you can do each now.",
    (*(q for activity in ACTIVITIES for q in activity), GOALS),
)

FIRST_VISIT_STEPS: tuple[Step, ...] = (
    PAIN_STEP,
    SAFETY_STEP,
    HEALTH_STEP,
    NEEDLING_STEP,
    FUNCTION_STEP,
)

# --- Check-in before each follow-up ------------------------------------------------------------


def _question(questions: Iterable[Question], qid: str) -> Question:
    (found,) = [question for question in questions if question.id == qid]
    return found


CHECK_IN_PROGRESS_STEP = Step(
    "progress",
    "How you are now",
    "A quick check since your last visit: your pain this week, and how well you can now do "
    "the activities you named at your first visit.",
    (PAIN_NOW, BAD_DAYS_WEEK, RELIEF_DAYS_WEEK, *ACTIVITY_SCORES),
)
# The same question objects as the first visit: the same ids, wording and rules.
CHECK_IN_SAFETY_STEP = Step(
    "safety",
    "Since your last visit: checking your safety",
    "Since your last visit, have you had any of these? They look for rare but serious problems "
    "that need care straight away. " + _NOT_SURE_IS_FINE,
    _with_onsets(EMERGENCY_QUESTIONS),
    safety=True,
)
CHECK_IN_CHANGES_STEP = Step(
    "changes",
    "Since your last visit: what has changed",
    "Tell us what is new since your last visit, so your practitioner can plan safe treatment. "
    + _NOT_SURE_IS_FINE,
    (
        *_with_onsets(
            [
                _question(REVIEW_QUESTIONS, "fever_now"),
                _question(REVIEW_QUESTIONS, "weight_loss"),
                ONE_LEG_WEAKENING,
                NEW_INJURY,
            ]
        ),
        PREGNANT,
        PREGNANCY_WEEKS,
        _question(NEEDLING_QUESTIONS, "blood_thinners"),
        _question(NEEDLING_QUESTIONS, "recent_surgery"),
        _question(NEEDLING_QUESTIONS, "skin_problem_at_site"),
    ),
)
CHECK_IN_STEPS: tuple[Step, ...] = (
    CHECK_IN_PROGRESS_STEP,
    CHECK_IN_SAFETY_STEP,
    CHECK_IN_CHANGES_STEP,
)

# The ids of the steps that hold the emergency questions, in either flow.
EMERGENCY_STEP_IDS: frozenset[str] = frozenset(
    step.id for step in (*FIRST_VISIT_STEPS, *CHECK_IN_STEPS) if step.safety
)

# --- Helpers ---------------------------------------------------------------------------------


def all_questions(steps: Iterable[Step]) -> list[Question]:
    """Every question in the steps, in order, each id once."""
    seen: dict[str, Question] = {}
    for step in steps:
        for question in step.questions:
            seen.setdefault(question.id, question)
    return list(seen.values())


_BY_ID = {q.id: q for q in all_questions((*FIRST_VISIT_STEPS, *CHECK_IN_STEPS))}


def question_by_id(qid: str) -> Question:
    """The question with this id; KeyError if there is none."""
    return _BY_ID[qid]


def is_shown(question: Question, answers: Mapping[str, Any]) -> bool:
    """Whether a patient with these answers (so far) sees this question."""
    if question.follow_up_of is None:
        return True
    parent = _BY_ID.get(question.follow_up_of)
    if parent is not None and not is_shown(parent, answers):
        return False
    return answers.get(question.follow_up_of) in question.shown_when


RawValue = str | list[str] | None
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


class _InvalidAnswerError(Exception):
    """A raw value that cannot become an answer; the message is shown to the patient."""


def clean_answers(
    steps: Iterable[Step], raw: Mapping[str, RawValue]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate form values into typed answers; returns (answers, errors by question id).

    Integers become ints, multi-choice answers lists in the order of the choices, dates ISO
    strings. Unanswered optional questions and hidden follow-ups are left out; unknown keys are
    ignored.
    """
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    # Parents come before their follow-ups, so `answers` already holds what decides visibility.
    for question in all_questions(steps):
        if not is_shown(question, answers):
            continue
        try:
            value = _clean_value(question, raw.get(question.id))
        except _InvalidAnswerError as invalid:
            errors[question.id] = str(invalid)
            continue
        if value is not None:
            answers[question.id] = value
    return answers, errors


def _clean_value(question: Question, raw_value: RawValue) -> Any:
    if question.kind == "multi_choice":
        return _clean_multi_choice(question, raw_value)
    text = _single_text(raw_value)
    if not text:
        if question.required:
            raise _InvalidAnswerError(_missing_message(question))
        return None
    if question.kind in CHOICE_KINDS:
        if text not in question.choice_values:
            raise _InvalidAnswerError("Choose one of the answers shown.")
        return text
    if question.kind == "integer":
        return _clean_integer(question, text)
    if question.kind == "date":
        return _clean_date(text)
    return _clean_text(question, text)


def _single_text(raw_value: RawValue) -> str:
    # Forms parsed with `to_dict(flat=False)` give every field as a list.
    if isinstance(raw_value, list | tuple):
        filled = [str(item).strip() for item in raw_value if str(item).strip()]
        if len(filled) > 1:
            raise _InvalidAnswerError("Choose only one answer.")
        return filled[0] if filled else ""
    return "" if raw_value is None else str(raw_value).strip()


def _missing_message(question: Question) -> str:
    if question.kind in CHOICE_KINDS:
        return "Please choose an answer."
    if question.kind == "integer":
        return _range_message(question)
    return "Please answer this question."


def _range_message(question: Question) -> str:
    if question.min is None or question.max is None:
        return "Enter a whole number."
    return f"Choose a number from {question.min} to {question.max}."


def _clean_multi_choice(question: Question, raw_value: RawValue) -> list[str] | None:
    if raw_value is None:
        picked: set[str] = set()
    elif isinstance(raw_value, str):
        picked = {raw_value.strip()} - {""}
    else:
        picked = {str(item).strip() for item in raw_value} - {""}
    if picked - set(question.choice_values):
        raise _InvalidAnswerError("Choose from the options shown.")
    if not picked:
        if question.required:
            raise _InvalidAnswerError("Choose at least one.")
        return None
    return [value for value in question.choice_values if value in picked]


def _clean_integer(question: Question, text: str) -> int:
    if not _WHOLE_NUMBER.fullmatch(text):
        raise _InvalidAnswerError(_range_message(question))
    number = int(text)
    if (question.min is not None and number < question.min) or (
        question.max is not None and number > question.max
    ):
        raise _InvalidAnswerError(_range_message(question))
    return number


def _clean_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise _InvalidAnswerError("Enter a date like 1980-04-25 (year, month, day).") from None


def _clean_text(question: Question, text: str) -> str:
    if question.max is not None and len(text) > question.max:
        raise _InvalidAnswerError(f"Please keep this under {question.max} characters.")
    return text

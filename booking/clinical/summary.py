"""An intake read back for a practitioner: the answers in the patient's words, each raised flag
with the exact question and answer behind it and the rule that raised it, and the badges a visit
list shows. No database access: callers pass the rows in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from booking.clinical.models import NeedlingClearance
from booking.intake.models import Intake
from booking.intake.questionnaire import ACTIVITY_COUNT, Question, question_by_id
from booking.intake.scoring import function_score_from_answers
from booking.intake.screening import RULES_BY_ID, Flag, Level, Screening, Tier, rule_for

LEVEL_LABELS = {
    Level.EMERGENCY: "Emergency",
    Level.REVIEW: "Medical review",
    Level.PRECAUTION: "Needling precaution",
    Level.NOTE: "Note",
}
KIND_LABELS = {"first_visit": "First-visit intake", "check_in": "Check-in"}
# Answers that are not questions in the questionnaire but can stand behind a flag.
EXTRA_QUESTIONS = {"date_of_birth": "Date of birth (from the contact details)"}
NOT_ANSWERED = "Not answered"
# Words for answer values a question does not list itself (screening reads "not_sure" as yes
# on every rule, so it is shown as given rather than as a code).
VALUE_WORDS = {"yes": "Yes", "no": "No", "not_sure": "Not sure"}


@dataclass(frozen=True)
class AnswerLine:
    """A question in the words the patient saw, and their answer in words."""

    question: str
    answer: str


@dataclass(frozen=True)
class FlagLine:
    level: Level
    level_label: str
    summary: str  # as screening wrote it, e.g. "... (onset not given)"
    urgent: bool
    no_needling: bool
    rule_id: str
    rule_summary: str
    rule_fires_when: str
    answers: tuple[AnswerLine, ...]


@dataclass(frozen=True)
class Activity:
    key: str  # the answer id of its score, e.g. "activity_1_score": outcomes use the same keys
    name: str
    score: int | None


@dataclass(frozen=True)
class Needling:
    """Whether needling is ruled out, and what practitioners have said since."""

    ruled_out_by_screening: bool
    clearances: tuple[NeedlingClearance, ...]  # newest first

    @property
    def latest(self) -> NeedlingClearance | None:
        return self.clearances[0] if self.clearances else None

    @property
    def state(self) -> str:
        """"no_needling", "cleared", or "" when screening never ruled needling out."""
        if not self.ruled_out_by_screening:
            return ""
        latest = self.latest
        return "cleared" if latest is not None and latest.cleared else "no_needling"


@dataclass(frozen=True)
class Badges:
    tier: str | None
    tier_label: str
    needling: str  # "no_needling" | "cleared" | ""
    precautions: tuple[str, ...]
    intake_id: int | None
    missing: bool = False  # a first visit with no questionnaire: shown in red


@dataclass(frozen=True)
class IntakeSummary:
    intake: Intake
    kind_label: str
    tier_label: str
    pain_areas: tuple[str, ...]
    about_pain: tuple[AnswerLine, ...]
    scores: tuple[AnswerLine, ...]
    function_score: float | None
    activities: tuple[Activity, ...]
    goals: str
    flags: tuple[FlagLine, ...]
    needling: Needling


def answer_words(qid: str, answers: Mapping[str, Any]) -> AnswerLine:
    """The question `qid` and the patient's answer, in words."""
    if qid in EXTRA_QUESTIONS:
        return AnswerLine(EXTRA_QUESTIONS[qid], str(answers.get(qid) or NOT_ANSWERED))
    try:
        question = question_by_id(qid)
    except KeyError:
        return AnswerLine(qid, _plain(answers.get(qid)))
    return AnswerLine(question.text, _value_words(question, answers.get(qid)))


def _value_words(question: Question, value: Any) -> str:
    if value is None or value == "" or value == []:
        return NOT_ANSWERED
    labels = {**VALUE_WORDS, **{choice.value: choice.label for choice in question.choices}}
    if isinstance(value, list):
        return ", ".join(labels.get(item, str(item)) for item in value)
    return labels.get(value, _plain(value))


def _plain(value: Any) -> str:
    if value is None or value == "":
        return NOT_ANSWERED
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    return VALUE_WORDS.get(str(value), str(value))


def flag_lines(screening: Screening, answers: Mapping[str, Any]) -> tuple[FlagLine, ...]:
    """Each raised flag with the answers behind it and the rule that raised it."""
    return tuple(_flag_line(flag, answers, screening.ruleset_version) for flag in screening.flags)


def _flag_line(flag: Flag, answers: Mapping[str, Any], ruleset_version: str) -> FlagLine:
    # The rule as the rule set that raised the flag read it (2026-11.1 held night pain alone).
    rule = rule_for(flag.rule_id, ruleset_version)
    return FlagLine(
        level=flag.level,
        level_label=LEVEL_LABELS[flag.level],
        summary=flag.summary or (rule.summary if rule else flag.rule_id),
        urgent=flag.urgent,
        no_needling=flag.no_needling,
        rule_id=flag.rule_id,
        rule_summary=rule.summary if rule else "",
        # A rule retired from the current rule set still explains itself by its id.
        rule_fires_when=rule.fires_when if rule else "",
        answers=tuple(answer_words(qid, answers) for qid in flag.question_ids),
    )


def activities_of(answers: Mapping[str, Any]) -> tuple[Activity, ...]:
    """The activities the patient named, with their 0-10 scores."""
    found = []
    for n in range(1, ACTIVITY_COUNT + 1):
        name = str(answers.get(f"activity_{n}") or "").strip()
        if name:
            score = answers.get(f"activity_{n}_score")
            found.append(Activity(f"activity_{n}_score", name, score))
    return tuple(found)


def needling_of(intake: Intake, clearances: Iterable[NeedlingClearance]) -> Needling:
    mine = sorted(
        (c for c in clearances if c.intake_id == intake.id),
        key=lambda c: (c.at, c.id),
        reverse=True,
    )
    return Needling(bool(intake.no_needling), tuple(mine))


def summarise(intake: Intake, clearances: Iterable[NeedlingClearance]) -> IntakeSummary:
    answers = intake.answers or {}
    screening = Screening.from_dict(intake.screening)
    return IntakeSummary(
        intake=intake,
        kind_label=KIND_LABELS.get(intake.kind, intake.kind),
        tier_label=Tier(intake.tier).label,
        pain_areas=tuple(
            _value_words(question_by_id("pain_areas"), [area]) for area in answers.get(
                "pain_areas", []
            )
        ),
        about_pain=tuple(
            answer_words(qid, answers) for qid in ("duration", "pattern") if qid in answers
        ),
        scores=tuple(
            answer_words(qid, answers)
            for qid in (
                "pain_now",
                "pain_worst_week",
                "pain_average_week",
                "bad_days_week",
                "relief_days_week",
                "flare_recovery_days",
            )
            if qid in answers
        ),
        function_score=function_score_from_answers(answers, ACTIVITY_COUNT),
        activities=activities_of(answers),
        goals=str(answers.get("goals") or ""),
        flags=flag_lines(screening, answers),
        needling=needling_of(intake, clearances),
    )


def badges_for(
    own: Intake | None,
    baseline: Intake | None,
    clearances: Sequence[NeedlingClearance],
) -> Badges:
    """A visit's badges: the tier of its own intake (else the baseline's), the needling state
    and the needling precautions of both.
    """
    shown = own or baseline
    if shown is None:
        return Badges(None, "No intake", "", (), None)
    precautions: dict[str, str] = {}
    for intake in (baseline, own):
        if intake is None:
            continue
        for flag in Screening.from_dict(intake.screening).flags:
            if flag.level is Level.PRECAUTION:
                rule = RULES_BY_ID.get(flag.rule_id)
                precautions.setdefault(flag.rule_id, rule.summary if rule else flag.rule_id)
    ruled_out = [i for i in (own, baseline) if i is not None and i.no_needling]
    needling = needling_of(ruled_out[0], clearances).state if ruled_out else ""
    return Badges(
        tier=shown.tier,
        tier_label=Tier(shown.tier).label,
        needling=needling,
        precautions=tuple(precautions.values()),
        intake_id=shown.id,
    )

"""Red-flag and needling-precaution screening: intake answers -> tier and flags. PURE.

The rules are the clinic's (README, "Screening rules"); `RULES` below lists them for a
clinician to read, and `RULESET_VERSION` is stored with every result so a past decision can
be explained.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

RULESET_VERSION = "2026-11.1"


class Tier(enum.StrEnum):
    EMERGENCY = "emergency"
    MEDICAL_REVIEW = "medical_review"
    PRECAUTION = "precaution"
    CLEAR = "clear"

    @property
    def rank(self) -> int:
        """Higher is more serious; the highest tier raised wins."""
        return _TIER_RANK[self]

    @property
    def label(self) -> str:
        return _TIER_LABELS[self]


_TIER_RANK = {Tier.CLEAR: 0, Tier.PRECAUTION: 1, Tier.MEDICAL_REVIEW: 2, Tier.EMERGENCY: 3}
_TIER_LABELS = {
    Tier.EMERGENCY: "Emergency",
    Tier.MEDICAL_REVIEW: "Medical review",
    Tier.PRECAUTION: "Precaution",
    Tier.CLEAR: "Clear",
}


class Level(enum.StrEnum):
    EMERGENCY = "emergency"
    REVIEW = "review"
    PRECAUTION = "precaution"
    NOTE = "note"

    @property
    def tier(self) -> Tier:
        """The tier this level raises; a note is for the practitioner and leaves it clear."""
        return _LEVEL_TIER[self]


_LEVEL_TIER = {
    Level.EMERGENCY: Tier.EMERGENCY,
    Level.REVIEW: Tier.MEDICAL_REVIEW,
    Level.PRECAUTION: Tier.PRECAUTION,
    Level.NOTE: Tier.CLEAR,
}


@dataclass(frozen=True)
class Flag:
    rule_id: str
    level: Level
    question_ids: tuple[str, ...]
    no_needling: bool = False
    urgent: bool = False
    summary: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "level": self.level.value,
            "question_ids": list(self.question_ids),
            "no_needling": self.no_needling,
            "urgent": self.urgent,
            "summary": self.summary,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Flag:
        return cls(
            rule_id=data["rule_id"],
            level=Level(data["level"]),
            question_ids=tuple(data["question_ids"]),
            no_needling=bool(data.get("no_needling", False)),
            urgent=bool(data.get("urgent", False)),
            summary=data.get("summary", ""),
        )


@dataclass(frozen=True)
class Screening:
    tier: Tier
    flags: tuple[Flag, ...]
    no_needling: bool
    ruleset_version: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form for storage with the intake."""
        return {
            "tier": self.tier.value,
            "flags": [flag.to_dict() for flag in self.flags],
            "no_needling": self.no_needling,
            "ruleset_version": self.ruleset_version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Screening:
        return cls(
            tier=Tier(data["tier"]),
            flags=tuple(Flag.from_dict(flag) for flag in data["flags"]),
            no_needling=bool(data["no_needling"]),
            ruleset_version=data["ruleset_version"],
        )


@dataclass(frozen=True)
class Rule:
    """One rule as a clinician reads it: its id, the practitioner summary and when it fires."""

    rule_id: str
    summary: str
    fires_when: str


# "Not sure" counts as yes for every rule: red flags because people under-report them (as the
# spec says); precautions because a precaution only alerts the practitioner, so erring that way
# costs little. A missing answer is "no".
RULES: tuple[Rule, ...] = (
    # Emergency: cauda equina and rapidly progressive neurology.
    Rule(
        "cauda_equina_bladder_start",
        "Bladder: difficulty starting or controlling urine stream",
        "bladder_start yes: EMERGENCY if onset new, worse or not given; REVIEW if stable",
    ),
    Rule(
        "cauda_equina_bladder_leak",
        "Bladder: leaking urine unknowingly, pads, or loss of bladder-full sensation",
        "bladder_leak yes: EMERGENCY if onset new, worse or not given; REVIEW if stable",
    ),
    Rule(
        "cauda_equina_bowel_control",
        "Bowel: leaking stool, unable to hold, or not feeling it coming",
        "bowel_control yes: EMERGENCY if onset new, worse or not given; REVIEW if stable",
    ),
    Rule(
        "cauda_equina_saddle_numbness",
        "Saddle numbness or tingling (perineum, genitals, buttocks)",
        "saddle_numbness yes: EMERGENCY if onset new, worse or not given; REVIEW if stable",
    ),
    Rule(
        "cauda_equina_both_legs",
        "Bilateral leg pain, numbness or weakness",
        "both_legs yes: EMERGENCY if onset new, worse or not given; REVIEW if stable",
    ),
    Rule(
        "progressive_weakness_both_legs",
        "Rapidly progressive weakness in both legs",
        "legs_weakening yes: EMERGENCY if onset new, worse or not given; REVIEW if stable",
    ),
    Rule(
        "cauda_equina_sexual_function",
        "Sexual dysfunction: erection, ejaculation or genital sensation",
        "sexual_function yes: EMERGENCY (part of it) when any rule above is EMERGENCY; "
        "otherwise REVIEW",
    ),
    # Medical review: a clinician decides before the visit.
    Rule("fever", "Fever, chills or sweats now", "fever_now yes: REVIEW"),
    Rule(
        "recent_infection",
        "Recent infection treated with antibiotics, or deep wound",
        "recent_infection yes: REVIEW",
    ),
    Rule("injected_drugs", "Has injected non-prescribed drugs", "injected_drugs yes: REVIEW"),
    Rule(
        "immune_suppressed",
        "Immunosuppressed (medication or HIV)",
        "immune_suppressed yes: REVIEW (and the needling precaution below)",
    ),
    Rule("cancer_history", "History of cancer", "cancer_history yes: REVIEW"),
    Rule(
        "unexplained_weight_loss",
        "Unexplained weight loss in recent months",
        "weight_loss yes: REVIEW",
    ),
    Rule("major_trauma", "Onset after major trauma", "major_trauma yes: REVIEW"),
    Rule(
        "fragility_fracture",
        "Onset after minor fall or lift with osteoporosis or long-term steroids",
        "fall_or_lift_onset yes and osteoporosis_or_steroids yes: REVIEW",
    ),
    Rule(
        "first_episode_age",
        "First episode of back pain under 20 or from 50",
        "first_episode yes and age (on the day screened) under 20 or 50 and over: REVIEW; "
        "no rule on age when date_of_birth is missing",
    ),
    Rule(
        "repeat_episode_over_50",
        "Repeat episode of back pain, age 50 or over",
        "first_episode no and age 50 or over: NOTE",
    ),
    Rule(
        "night_pain",
        "Night pain not eased by position or lying down",
        "night_pain yes: REVIEW",
    ),
    Rule(
        "worsening_month",
        "Pain worsening for over a month despite treatment",
        "worsening_month yes: REVIEW",
    ),
    Rule(
        "progressive_weakness_one_leg",
        "One leg or foot getting weaker",
        "one_leg_weakening yes: REVIEW marked urgent (same day) if onset new, worse or not "
        "given; NOTE if stable",
    ),
    Rule(
        "inflammatory_morning_stiffness",
        "Morning stiffness over 30 minutes, better with exercise (inflammatory pattern)",
        "morning_stiffness_long yes: NOTE only (must not hold bookings)",
    ),
    # Needling precautions: book and alert the practitioner.
    Rule(
        "immune_suppressed_needling",
        "Immunosuppressed: infection risk with needling",
        "immune_suppressed yes: PRECAUTION",
    ),
    Rule("blood_thinners", "Takes blood thinners", "blood_thinners yes: PRECAUTION"),
    Rule(
        "bleeding_disorder",
        "Bleeding disorder or bleeds/bruises easily",
        "bleeding_disorder yes: PRECAUTION",
    ),
    Rule(
        "bleeding_disorder_severe",
        "Diagnosed bleeding disorder (e.g. hemophilia): no needling until cleared",
        "bleeding_disorder_severe yes: PRECAUTION, no needling",
    ),
    Rule("pregnancy", "Pregnant or could be", "pregnant yes: PRECAUTION"),
    Rule(
        "pregnancy_first_trimester",
        "Pregnancy in the first trimester (or weeks unknown)",
        "pregnant yes and pregnancy_weeks under 13 or not given: PRECAUTION",
    ),
    Rule(
        "needle_fear",
        "Very afraid of needles: offer care without needles",
        "needle_fear yes: PRECAUTION, no needling",
    ),
    Rule(
        "fainted_needles",
        "Has fainted with needles or blood tests",
        "fainted_needles yes: PRECAUTION",
    ),
    Rule(
        "lymphedema",
        "Lymphedema or lymph nodes removed: no needling in that area until cleared",
        "lymphedema yes: PRECAUTION, no needling",
    ),
    Rule("metal_allergy", "Metal allergy (e.g. nickel)", "metal_allergy yes: PRECAUTION"),
    Rule(
        "implanted_device",
        "Implanted electrical device: no electrical stimulation through needles",
        "implanted_device yes: PRECAUTION",
    ),
    Rule("diabetes", "Diabetes", "diabetes yes: PRECAUTION"),
    Rule("epilepsy", "Seizures or epilepsy", "epilepsy yes: PRECAUTION"),
    Rule(
        "skin_problem_at_site",
        "Rash, wound or skin infection at the treatment site: no needling there until cleared",
        "skin_problem_at_site yes: PRECAUTION, no needling",
    ),
    Rule(
        "proxy_consent",
        "Form filled in by a proxy: no needling until consent is clear",
        "proxy_consent yes: PRECAUTION, no needling",
    ),
    Rule("heart_valve", "Artificial heart valve", "heart_valve yes: PRECAUTION"),
    Rule("recent_surgery", "Surgery in the last 3 months", "recent_surgery yes: PRECAUTION"),
)
RULES_BY_ID: dict[str, Rule] = {rule.rule_id: rule for rule in RULES}

# Question id -> rule id, for the questions whose onset decides emergency versus review.
CAUDA_EQUINA_RULES: dict[str, str] = {
    "bladder_start": "cauda_equina_bladder_start",
    "bladder_leak": "cauda_equina_bladder_leak",
    "bowel_control": "cauda_equina_bowel_control",
    "saddle_numbness": "cauda_equina_saddle_numbness",
    "both_legs": "cauda_equina_both_legs",
    "legs_weakening": "progressive_weakness_both_legs",
}
# Question id -> rule id, for the questions where yes alone raises review.
SINGLE_REVIEW_RULES: dict[str, str] = {
    "fever_now": "fever",
    "recent_infection": "recent_infection",
    "injected_drugs": "injected_drugs",
    "immune_suppressed": "immune_suppressed",
    "cancer_history": "cancer_history",
    "weight_loss": "unexplained_weight_loss",
    "major_trauma": "major_trauma",
    "night_pain": "night_pain",
    "worsening_month": "worsening_month",
}
# Question id -> (rule id, rules out needling until a practitioner clears it).
PRECAUTION_RULES: dict[str, tuple[str, bool]] = {
    "immune_suppressed": ("immune_suppressed_needling", False),
    "blood_thinners": ("blood_thinners", False),
    "bleeding_disorder": ("bleeding_disorder", False),
    "bleeding_disorder_severe": ("bleeding_disorder_severe", True),
    "pregnant": ("pregnancy", False),
    "needle_fear": ("needle_fear", True),
    "fainted_needles": ("fainted_needles", False),
    "lymphedema": ("lymphedema", True),
    "metal_allergy": ("metal_allergy", False),
    "implanted_device": ("implanted_device", False),
    "diabetes": ("diabetes", False),
    "epilepsy": ("epilepsy", False),
    "skin_problem_at_site": ("skin_problem_at_site", True),
    "proxy_consent": ("proxy_consent", True),
    "heart_valve": ("heart_valve", False),
    "recent_surgery": ("recent_surgery", False),
}

ONSET_WORDS = {
    "new": "new in the last 2 weeks",
    "worse": "getting worse",
    "stable": "stable for over 2 weeks",
}
FIRST_TRIMESTER_WEEKS = 13
OLDER_AGE = 50
YOUNGER_AGE = 20


def screen(answers: Mapping[str, Any], today: date) -> Screening:
    """Screen one answer set on `today` (the day decides the patient's age)."""
    age = age_on(answers.get("date_of_birth"), today)
    flags = [
        *_cauda_equina_flags(answers),
        *_review_flags(answers, age),
        *_precaution_flags(answers),
    ]
    # Most serious first, keeping the rule order within a level, so lists read top-down.
    flags.sort(key=lambda flag: -flag.level.tier.rank)
    tier = max((flag.level.tier for flag in flags), key=lambda t: t.rank, default=Tier.CLEAR)
    return Screening(
        tier=tier,
        flags=tuple(flags),
        no_needling=any(flag.no_needling for flag in flags),
        ruleset_version=RULESET_VERSION,
    )


def age_on(date_of_birth: date | str | None, today: date) -> int | None:
    """Age in whole years on `today`; None when the date of birth is missing or impossible."""
    if isinstance(date_of_birth, str):
        try:
            date_of_birth = date.fromisoformat(date_of_birth.strip())
        except ValueError:
            return None
    if not isinstance(date_of_birth, date) or date_of_birth > today:
        return None
    birthday_to_come = (today.month, today.day) < (date_of_birth.month, date_of_birth.day)
    return today.year - date_of_birth.year - birthday_to_come


def _answer(answers: Mapping[str, Any], qid: str) -> str:
    value = answers.get(qid)
    if value is True:
        return "yes"
    if value is None or value is False:
        return "no"
    return str(value).strip().lower()


def _is_yes(answers: Mapping[str, Any], qid: str) -> bool:
    return _answer(answers, qid) in ("yes", "not_sure")


def _onset(answers: Mapping[str, Any], qid: str) -> str:
    # A missing or unreadable onset counts as new: the safe reading of a red flag.
    onset = _answer(answers, f"{qid}_onset")
    return onset if onset in ONSET_WORDS else "new"


def _behind(answers: Mapping[str, Any], *qids: str) -> tuple[str, ...]:
    """The answered question ids behind a flag, first id always included."""
    first, *rest = qids
    return (first, *(qid for qid in rest if qid in answers))


def _summary(answers: Mapping[str, Any], rule_id: str, qids: tuple[str, ...], *extra: str) -> str:
    notes = [*extra]
    if any(_answer(answers, qid) == "not_sure" for qid in qids):
        notes.append("patient not sure")
    text = RULES_BY_ID[rule_id].summary
    return f"{text} ({'; '.join(notes)})" if notes else text


def _onset_note(answers: Mapping[str, Any], qid: str) -> str:
    if f"{qid}_onset" not in answers:
        return "onset not given"
    return ONSET_WORDS[_onset(answers, qid)]


def _cauda_equina_flags(answers: Mapping[str, Any]) -> Iterator[Flag]:
    flags = [
        _onset_flag(answers, qid, rule_id, progressing=Level.EMERGENCY, stable=Level.REVIEW)
        for qid, rule_id in CAUDA_EQUINA_RULES.items()
        if _is_yes(answers, qid)
    ]
    yield from flags
    if _is_yes(answers, "sexual_function"):
        # Alone it is usually something else; with another cauda equina sign it is part of it.
        emergency = any(flag.level is Level.EMERGENCY for flag in flags)
        qids = _behind(answers, "sexual_function", "sexual_function_onset")
        yield Flag(
            "cauda_equina_sexual_function",
            Level.EMERGENCY if emergency else Level.REVIEW,
            qids,
            urgent=emergency,
            summary=_summary(
                answers,
                "cauda_equina_sexual_function",
                qids,
                _onset_note(answers, "sexual_function"),
            ),
        )


def _onset_flag(
    answers: Mapping[str, Any], qid: str, rule_id: str, *, progressing: Level, stable: Level
) -> Flag:
    """New, worse or onset not given: `progressing`, marked urgent; unchanged 2+ weeks: `stable`."""
    is_progressing = _onset(answers, qid) != "stable"
    qids = _behind(answers, qid, f"{qid}_onset")
    return Flag(
        rule_id,
        progressing if is_progressing else stable,
        qids,
        urgent=is_progressing,
        summary=_summary(answers, rule_id, qids, _onset_note(answers, qid)),
    )


def _review_flags(answers: Mapping[str, Any], age: int | None) -> Iterator[Flag]:
    for qid, rule_id in SINGLE_REVIEW_RULES.items():
        if _is_yes(answers, qid):
            yield _simple_flag(answers, rule_id, Level.REVIEW, (qid,))
    if _is_yes(answers, "fall_or_lift_onset") and _is_yes(answers, "osteoporosis_or_steroids"):
        qids = ("fall_or_lift_onset", "osteoporosis_or_steroids")
        yield _simple_flag(answers, "fragility_fracture", Level.REVIEW, qids)
    yield from _age_flags(answers, age)
    if _is_yes(answers, "one_leg_weakening"):
        yield _onset_flag(
            answers,
            "one_leg_weakening",
            "progressive_weakness_one_leg",
            progressing=Level.REVIEW,
            stable=Level.NOTE,
        )
    if _is_yes(answers, "morning_stiffness_long"):
        qids = ("morning_stiffness_long",)
        yield _simple_flag(answers, "inflammatory_morning_stiffness", Level.NOTE, qids)


def _age_flags(answers: Mapping[str, Any], age: int | None) -> Iterator[Flag]:
    if age is None:
        return
    qids = ("first_episode", "date_of_birth")
    if _is_yes(answers, "first_episode"):
        if age >= OLDER_AGE or age < YOUNGER_AGE:
            yield _simple_flag(answers, "first_episode_age", Level.REVIEW, qids, f"age {age}")
    elif age >= OLDER_AGE:
        yield _simple_flag(answers, "repeat_episode_over_50", Level.NOTE, qids, f"age {age}")


def _precaution_flags(answers: Mapping[str, Any]) -> Iterator[Flag]:
    for qid, (rule_id, no_needling) in PRECAUTION_RULES.items():
        if _is_yes(answers, qid):
            yield _simple_flag(answers, rule_id, Level.PRECAUTION, (qid,), no_needling=no_needling)
        if qid == "pregnant" and _is_yes(answers, qid) and _first_trimester(answers):
            qids = _behind(answers, "pregnant", "pregnancy_weeks")
            yield _simple_flag(answers, "pregnancy_first_trimester", Level.PRECAUTION, qids)


def _first_trimester(answers: Mapping[str, Any]) -> bool:
    """Under 13 weeks, or weeks not known (the cautious reading)."""
    try:
        weeks = int(str(answers.get("pregnancy_weeks", "")).strip())
    except ValueError:
        return True
    return weeks < FIRST_TRIMESTER_WEEKS


def _simple_flag(
    answers: Mapping[str, Any],
    rule_id: str,
    level: Level,
    qids: tuple[str, ...],
    *extra: str,
    no_needling: bool = False,
) -> Flag:
    return Flag(
        rule_id,
        level,
        qids,
        no_needling=no_needling,
        summary=_summary(answers, rule_id, qids, *extra),
    )

"""Red-flag and needling-precaution screening: intake answers -> tier and flags. PURE.

The rules are the clinic's clinical-screening document, rule set 2026-12.1. `RULES` below lists
them for a clinician to read (each rule's id, the levels it raises, the questions behind it and
when it fires), and `RULESET_VERSION` is stored with every result so a past decision can be
explained; `rule_for(rule_id, version)` gives a rule as the version that raised a stored flag
read it (results stored under 2026-11.1 load unchanged and keep their rule ids).

Entry points:

- `screen(answers, today, *, recent_emergency=False) -> Screening`: every rule. The service
  looks up whether the patient had an emergency screening in the last 14 days or a call-back
  not yet made, and passes `recent_emergency=True`; this module never looks anything up.
- `emergency_screen(answers, today) -> Screening | None`: the emergency rules only (the seven
  emergency questions and their onsets), for the web flow to run as soon as the step holding
  those questions is sent (`Step.safety` in questionnaire.py). It returns the Screening, holding
  only those rules' flags, when its tier is emergency, else None; `screen()` still runs over the
  whole answer set at the end.
- `age_on(date_of_birth, today) -> int | None`.

Failing safe (the API and staff call `screen()` too, so a malformed value never clears a
patient): every answer value is matched after trimming and lower-casing; a yes/no question whose
value is present but is not "no" (or JSON false) counts as yes ("Y", "unsure", 1, ["yes"], "");
a missing, null or unreadable onset counts as "new"; `pregnancy_weeks` outside whole numbers
0-45 is unknown; a missing, unreadable or future date of birth makes the age unknown, and every
rule needing an age then treats it as qualifying. `today` and `date_of_birth` may be dates or
datetimes (the date is used). A missing (or null) answer is "no"; unknown ids are ignored.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

RULESET_VERSION = "2026-12.1"


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

    @property
    def urgent(self) -> bool:
        """A review marked urgent (same day) was raised: one leg weakening, new or worse."""
        return any(flag.urgent and flag.level is Level.REVIEW for flag in self.flags)

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
    """One rule as a clinician reads it.

    `levels` are the levels it can raise, most serious first (a cauda equina answer is an
    emergency when new or worse, a review when stable); `question_ids` the answers behind it.
    """

    rule_id: str
    levels: tuple[Level, ...]
    question_ids: tuple[str, ...]
    summary: str
    fires_when: str


# Short names for the table below.
EMERGENCY, REVIEW, PRECAUTION, NOTE = Level.EMERGENCY, Level.REVIEW, Level.PRECAUTION, Level.NOTE


def _onset_rule(qid: str, rule_id: str, summary: str) -> Rule:
    return Rule(
        rule_id,
        (EMERGENCY, REVIEW),
        (qid, f"{qid}_onset"),
        summary,
        f"{qid} yes: EMERGENCY if onset new, worse or not given; REVIEW if stable",
    )


def _precaution_rule(qid: str, summary: str, no_needling: bool = False) -> Rule:
    then = "PRECAUTION, no needling" if no_needling else "PRECAUTION"
    return Rule(qid, (PRECAUTION,), (qid,), summary, f"{qid} yes: {then}")


# "Yes" on every rule means yes, "not sure", or any value present that is not "no" (see the
# module docstring); a missing answer is "no".
RULES: tuple[Rule, ...] = (
    # Emergency: cauda equina and rapidly progressive neurology.
    _onset_rule(
        "bladder_start",
        "cauda_equina_bladder_start",
        "Bladder: difficulty starting or controlling urine stream",
    ),
    _onset_rule(
        "bladder_leak",
        "cauda_equina_bladder_leak",
        "Bladder: leaking urine unknowingly, pads, or loss of bladder-full sensation",
    ),
    _onset_rule(
        "bowel_control",
        "cauda_equina_bowel_control",
        "Bowel: leaking stool, unable to hold, or not feeling it coming",
    ),
    _onset_rule(
        "saddle_numbness",
        "cauda_equina_saddle_numbness",
        "Saddle numbness or tingling (perineum, genitals, buttocks)",
    ),
    _onset_rule("both_legs", "cauda_equina_both_legs", "Bilateral leg pain, numbness or weakness"),
    _onset_rule(
        "legs_weakening",
        "progressive_weakness_both_legs",
        "Rapidly progressive weakness in both legs",
    ),
    Rule(
        "cauda_equina_sexual_function",
        (EMERGENCY, REVIEW),
        ("sexual_function", "sexual_function_onset"),
        "Sexual dysfunction: erection, ejaculation or genital sensation",
        "sexual_function yes: EMERGENCY (part of it) when any rule above is EMERGENCY; "
        "otherwise REVIEW, whatever its onset",
    ),
    # Medical review: a clinician decides before the visit.
    Rule(
        "recent_emergency",
        (REVIEW,),
        (),
        "Emergency screening in the last 14 days, or an emergency call-back not yet made",
        "the patient (same email and date of birth) had an EMERGENCY screening in the last 14 "
        "days or has a call-back not yet marked as called: REVIEW, whatever the answers now",
    ),
    Rule(
        "fever", (REVIEW,), ("fever_now",), "Fever, chills or sweats now", "fever_now yes: REVIEW"
    ),
    Rule(
        "immune_suppressed",
        (REVIEW,),
        ("immune_suppressed",),
        "Immunosuppressed (medication or HIV)",
        "immune_suppressed yes: REVIEW (and the needling precaution below)",
    ),
    Rule(
        "cancer_history",
        (REVIEW,),
        ("cancer_history",),
        "History of cancer",
        "cancer_history yes: REVIEW",
    ),
    Rule(
        "unexplained_weight_loss",
        (REVIEW,),
        ("weight_loss",),
        "Unexplained weight loss in recent months",
        "weight_loss yes: REVIEW",
    ),
    Rule(
        "major_trauma",
        (REVIEW,),
        ("major_trauma",),
        "Onset after major trauma",
        "major_trauma yes: REVIEW",
    ),
    Rule(
        "new_injury",
        (REVIEW,),
        ("new_injury",),
        "Fall, accident or hard hit since the last visit",
        "new_injury yes (asked at check-in): REVIEW",
    ),
    Rule(
        "fragility_fracture",
        (REVIEW,),
        ("fall_or_lift_onset", "osteoporosis_or_steroids"),
        "Onset after minor fall or lift with osteoporosis or long-term steroids",
        "fall_or_lift_onset yes and osteoporosis_or_steroids yes: REVIEW",
    ),
    Rule(
        "progressive_weakness_one_leg",
        (REVIEW, NOTE),
        ("one_leg_weakening", "one_leg_weakening_onset"),
        "One leg or foot getting weaker",
        "one_leg_weakening yes: REVIEW marked urgent (same day) if onset new, worse or not "
        "given; NOTE if stable",
    ),
    Rule(
        "inflammatory_morning_stiffness",
        (NOTE,),
        ("morning_stiffness_long",),
        "Morning stiffness over 30 minutes, better with exercise (inflammatory pattern)",
        "morning_stiffness_long yes: NOTE only (must not hold bookings)",
    ),
    # Context flags: each alone is a NOTE; two or more together raise context_cluster.
    Rule(
        "recent_infection",
        (NOTE,),
        ("recent_infection",),
        "Infection treated with antibiotics, or deep wound, in the last 3 months",
        "recent_infection yes: NOTE (context flag)",
    ),
    Rule(
        "injected_drugs",
        (NOTE,),
        ("injected_drugs",),
        "Has injected non-prescribed drugs",
        "injected_drugs yes: NOTE (context flag)",
    ),
    Rule(
        "first_episode_age",
        (NOTE,),
        ("first_episode", "date_of_birth"),
        "First episode of back pain under 20 or from 50",
        "first_episode yes and age (on the day screened) under 20 or 50 and over, or age "
        "unknown (date of birth missing, unreadable or in the future): NOTE (context flag)",
    ),
    Rule(
        "night_pain",
        (NOTE,),
        ("night_pain",),
        "Night pain not eased by position or lying down",
        "night_pain yes: NOTE (context flag)",
    ),
    Rule(
        "worsening_month",
        (NOTE,),
        ("worsening_month",),
        "Pain worsening for over a month despite treatment",
        "worsening_month yes: NOTE (context flag)",
    ),
    Rule(
        "context_cluster",
        (REVIEW,),
        (
            "recent_infection",
            "injected_drugs",
            "first_episode",
            "date_of_birth",
            "night_pain",
            "worsening_month",
        ),
        "Two or more context flags together",
        "two or more of the five context flags above: REVIEW, behind all their questions "
        "(the single context flags stay NOTEs beside it)",
    ),
    Rule(
        "repeat_episode_over_50",
        (NOTE,),
        ("first_episode", "date_of_birth"),
        "Repeat episode of back pain, age 50 or over",
        "first_episode no (or not answered) and age 50 or over, or age unknown: NOTE",
    ),
    # Needling precautions: book and alert the practitioner.
    Rule(
        "immune_suppressed_needling",
        (PRECAUTION,),
        ("immune_suppressed",),
        "Immunosuppressed: infection risk with needling",
        "immune_suppressed yes: PRECAUTION",
    ),
    _precaution_rule("blood_thinners", "Takes blood thinners"),
    _precaution_rule("bleeding_disorder", "Bleeding disorder or bleeds/bruises easily"),
    Rule(
        "bleeding_disorder_severe",
        (PRECAUTION,),
        ("bleeding_disorder_severe",),
        "Diagnosed bleeding disorder (e.g. hemophilia): no needling until cleared",
        "bleeding_disorder_severe yes, even without bleeding_disorder yes: PRECAUTION, no needling",
    ),
    Rule(
        "pregnancy",
        (PRECAUTION,),
        ("pregnant",),
        "Pregnant or could be",
        "pregnant yes: PRECAUTION",
    ),
    Rule(
        "pregnancy_first_trimester",
        (PRECAUTION,),
        ("pregnant", "pregnancy_weeks"),
        "Pregnancy in the first trimester (or weeks unknown)",
        "pregnant yes and pregnancy_weeks under 13 or unknown (not given, or not a whole "
        "number from 0 to 45): PRECAUTION",
    ),
    _precaution_rule(
        "needle_fear", "Very afraid of needles: offer care without needles", no_needling=True
    ),
    _precaution_rule("fainted_needles", "Has fainted with needles or blood tests"),
    _precaution_rule(
        "lymphedema",
        "Lymphedema or lymph nodes removed: no needling in that area until cleared",
        no_needling=True,
    ),
    _precaution_rule("metal_allergy", "Metal allergy (e.g. nickel)"),
    _precaution_rule(
        "implanted_device",
        "Implanted electrical device: no electrical stimulation through needles",
    ),
    _precaution_rule("diabetes", "Diabetes"),
    _precaution_rule("epilepsy", "Seizures or epilepsy"),
    _precaution_rule(
        "skin_problem_at_site",
        "Rash, wound or skin infection at the treatment site: no needling there until cleared",
        no_needling=True,
    ),
    _precaution_rule(
        "proxy_consent",
        "Form filled in by a proxy: no needling until consent is clear",
        no_needling=True,
    ),
    _precaution_rule("heart_valve", "Artificial heart valve"),
    _precaution_rule("recent_surgery", "Surgery in the last 3 months"),
)
RULES_BY_ID: dict[str, Rule] = {rule.rule_id: rule for rule in RULES}

# The rules that 2026-11.1 read differently; its stored results are explained by these.
RULES_2026_11_CHANGED: tuple[Rule, ...] = (
    Rule(
        "recent_infection",
        (REVIEW,),
        ("recent_infection",),
        "Recent infection treated with antibiotics, or deep wound",
        "recent_infection yes: REVIEW",
    ),
    Rule(
        "injected_drugs",
        (REVIEW,),
        ("injected_drugs",),
        "Has injected non-prescribed drugs",
        "injected_drugs yes: REVIEW",
    ),
    Rule(
        "first_episode_age",
        (REVIEW,),
        ("first_episode", "date_of_birth"),
        "First episode of back pain under 20 or from 50",
        "first_episode yes and age (on the day screened) under 20 or 50 and over: REVIEW; "
        "no rule on age when date_of_birth is missing",
    ),
    Rule(
        "repeat_episode_over_50",
        (NOTE,),
        ("first_episode", "date_of_birth"),
        "Repeat episode of back pain, age 50 or over",
        "first_episode no and age 50 or over: NOTE",
    ),
    Rule(
        "night_pain",
        (REVIEW,),
        ("night_pain",),
        "Night pain not eased by position or lying down",
        "night_pain yes: REVIEW",
    ),
    Rule(
        "worsening_month",
        (REVIEW,),
        ("worsening_month",),
        "Pain worsening for over a month despite treatment",
        "worsening_month yes: REVIEW",
    ),
)
_EARLIER_RULES: dict[str, dict[str, Rule]] = {
    "2026-11.1": {rule.rule_id: rule for rule in RULES_2026_11_CHANGED},
}


def rule_for(rule_id: str, ruleset_version: str = RULESET_VERSION) -> Rule | None:
    """The rule as `ruleset_version` read it; None for an id no rule set knows."""
    earlier = _EARLIER_RULES.get(ruleset_version, {})
    return earlier.get(rule_id) or RULES_BY_ID.get(rule_id)


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
    "immune_suppressed": "immune_suppressed",
    "cancer_history": "cancer_history",
    "weight_loss": "unexplained_weight_loss",
    "major_trauma": "major_trauma",
    "new_injury": "new_injury",
}
# Question id -> rule id, for the context flags (first_episode also needs the age).
CONTEXT_RULES: dict[str, str] = {
    "recent_infection": "recent_infection",
    "injected_drugs": "injected_drugs",
    "first_episode": "first_episode_age",
    "night_pain": "night_pain",
    "worsening_month": "worsening_month",
}
CLUSTER_SIZE = 2  # context flags together that raise context_cluster
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
MAX_PREGNANCY_WEEKS = 45
OLDER_AGE = 50
YOUNGER_AGE = 20

# --- Entry points ----------------------------------------------------------------------------


def screen(
    answers: Mapping[str, Any], today: date | datetime, *, recent_emergency: bool = False
) -> Screening:
    """Screen one answer set on `today` (the day decides the patient's age).

    `recent_emergency`: the service found an emergency screening of this patient in the last
    14 days, or a call-back not yet made; it raises a review whatever the answers.
    """
    age = age_on(answers.get("date_of_birth"), today)
    return _screening(
        [
            *_emergency_flags(answers),
            *_recent_emergency_flags(recent_emergency),
            *_review_flags(answers),
            *_context_flags(answers, age),
            *_precaution_flags(answers),
        ]
    )


def emergency_screen(answers: Mapping[str, Any], today: date | datetime) -> Screening | None:
    """The emergency rules alone: their Screening when it is an emergency, else None.

    For the web flow, as soon as the step with the emergency questions is sent. No emergency
    rule needs the age; `today` is taken so that both entry points are called alike.
    """
    result = _screening(list(_emergency_flags(answers)))
    return result if result.tier is Tier.EMERGENCY else None


def age_on(date_of_birth: object, today: date | datetime) -> int | None:
    """Age in whole years on `today`; None when the date of birth is missing, unreadable or
    in the future. Someone born on 29 February turns a year older on 1 March in other years.
    """
    born = _birth_date(date_of_birth)
    day = _day(today)
    if born is None or born > day:
        return None
    birthday_to_come = (day.month, day.day) < (born.month, born.day)
    return day.year - born.year - birthday_to_come


def pregnancy_weeks(value: object) -> int | None:
    """Whole weeks from 0 to 45 (a whole number, or its digits as text); None when unknown."""
    weeks: int | None = None
    if isinstance(value, bool):  # JSON true is no number of weeks
        return None
    if isinstance(value, int):
        weeks = value
    elif isinstance(value, float) and value.is_integer():
        weeks = int(value)
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        weeks = int(value.strip())
    if weeks is None or not 0 <= weeks <= MAX_PREGNANCY_WEEKS:
        return None
    return weeks


def _screening(flags: list[Flag]) -> Screening:
    # Most serious first, keeping the rule order within a level, so lists read top-down.
    flags.sort(key=lambda flag: -flag.level.tier.rank)
    tier = max((flag.level.tier for flag in flags), key=lambda t: t.rank, default=Tier.CLEAR)
    return Screening(
        tier=tier,
        flags=tuple(flags),
        no_needling=any(flag.no_needling for flag in flags),
        ruleset_version=RULESET_VERSION,
    )


# --- Reading values --------------------------------------------------------------------------

_DIGITS = re.compile(r"[0-9]+")
YES, NO, NOT_SURE, UNCLEAR = "yes", "no", "not_sure", "unclear"


def _reading(answers: Mapping[str, Any], qid: str) -> str:
    """A yes/no answer as screening reads it: yes, no, not_sure, or unclear (counted as yes)."""
    value = answers.get(qid)
    if value is None or value is False:
        return NO  # missing, null, or JSON false
    if value is True:
        return YES
    if isinstance(value, str) and value.strip().lower() in (YES, NO, NOT_SURE):
        return value.strip().lower()
    return UNCLEAR


def _is_yes(answers: Mapping[str, Any], qid: str) -> bool:
    return _reading(answers, qid) != NO


def _onset_value(answers: Mapping[str, Any], qid: str) -> str | None:
    value = answers.get(f"{qid}_onset")
    text = value.strip().lower() if isinstance(value, str) else None
    return text if text in ONSET_WORDS else None


def _onset(answers: Mapping[str, Any], qid: str) -> str:
    """new, worse or stable; a missing, null or unreadable onset counts as new."""
    return _onset_value(answers, qid) or "new"


def _onset_note(answers: Mapping[str, Any], qid: str) -> str:
    if answers.get(f"{qid}_onset") is None:
        return "onset not given"
    onset = _onset_value(answers, qid)
    return ONSET_WORDS[onset] if onset else "onset unclear, counted as new"


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _birth_date(value: object) -> date | None:
    if isinstance(value, date):
        return _day(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return date.fromisoformat(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None


def _present(answers: Mapping[str, Any], *qids: str) -> tuple[str, ...]:
    """The ids among `qids` that were answered (not missing or null)."""
    return tuple(qid for qid in qids if answers.get(qid) is not None)


# --- Building flags --------------------------------------------------------------------------


def _flag(
    answers: Mapping[str, Any],
    rule_id: str,
    level: Level,
    asked: tuple[str, ...],
    details: tuple[str, ...] = (),
    extra: tuple[str, ...] = (),
    *,
    urgent: bool = False,
    no_needling: bool = False,
) -> Flag:
    """A flag behind the yes/no questions `asked` and the `details` (onset, age, weeks)."""
    notes = [*extra]
    readings = {_reading(answers, qid) for qid in asked}
    if NOT_SURE in readings:
        notes.append("patient not sure")
    if UNCLEAR in readings:
        notes.append("answer unclear, counted as yes")
    text = RULES_BY_ID[rule_id].summary
    return Flag(
        rule_id,
        level,
        (*asked, *details),
        no_needling=no_needling,
        urgent=urgent,
        summary=f"{text} ({'; '.join(notes)})" if notes else text,
    )


def _onset_flag(
    answers: Mapping[str, Any], qid: str, rule_id: str, *, progressing: Level, stable: Level
) -> Flag:
    """New, worse or onset not given: `progressing`, marked urgent; unchanged 2+ weeks: `stable`."""
    is_progressing = _onset(answers, qid) != "stable"
    return _flag(
        answers,
        rule_id,
        progressing if is_progressing else stable,
        (qid,),
        _present(answers, f"{qid}_onset"),
        (_onset_note(answers, qid),),
        urgent=is_progressing,
    )


# --- The rules -------------------------------------------------------------------------------


def _emergency_flags(answers: Mapping[str, Any]) -> Iterator[Flag]:
    flags = [
        _onset_flag(answers, qid, rule_id, progressing=Level.EMERGENCY, stable=Level.REVIEW)
        for qid, rule_id in CAUDA_EQUINA_RULES.items()
        if _is_yes(answers, qid)
    ]
    yield from flags
    if _is_yes(answers, "sexual_function"):
        # Alone it is usually something else; with another cauda equina sign it is part of it.
        emergency = any(flag.level is Level.EMERGENCY for flag in flags)
        yield _flag(
            answers,
            "cauda_equina_sexual_function",
            Level.EMERGENCY if emergency else Level.REVIEW,
            ("sexual_function",),
            _present(answers, "sexual_function_onset"),
            (_onset_note(answers, "sexual_function"),),
            urgent=emergency,
        )


def _recent_emergency_flags(recent_emergency: bool) -> Iterator[Flag]:
    if recent_emergency:
        yield Flag(
            "recent_emergency", Level.REVIEW, (), summary=RULES_BY_ID["recent_emergency"].summary
        )


def _review_flags(answers: Mapping[str, Any]) -> Iterator[Flag]:
    for qid, rule_id in SINGLE_REVIEW_RULES.items():
        if _is_yes(answers, qid):
            yield _flag(answers, rule_id, Level.REVIEW, (qid,))
    if _is_yes(answers, "fall_or_lift_onset") and _is_yes(answers, "osteoporosis_or_steroids"):
        qids = ("fall_or_lift_onset", "osteoporosis_or_steroids")
        yield _flag(answers, "fragility_fracture", Level.REVIEW, qids)
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
        yield _flag(answers, "inflammatory_morning_stiffness", Level.NOTE, qids)


def _context_flags(answers: Mapping[str, Any], age: int | None) -> Iterator[Flag]:
    """Each context flag alone is a note; two or more together also raise a review."""
    found = (_context_flag(answers, qid, rule_id, age) for qid, rule_id in CONTEXT_RULES.items())
    notes = [flag for flag in found if flag is not None]
    if len(notes) >= CLUSTER_SIZE:
        rule = RULES_BY_ID["context_cluster"]
        yield Flag(
            rule.rule_id,
            Level.REVIEW,
            tuple(qid for note in notes for qid in note.question_ids),
            summary=f"{rule.summary}: {'; '.join(note.summary for note in notes)}",
        )
    yield from notes
    if not _is_yes(answers, "first_episode") and (age is None or age >= OLDER_AGE):
        yield _flag(
            answers,
            "repeat_episode_over_50",
            Level.NOTE,
            (),
            ("first_episode", "date_of_birth"),
            (_age_words(age),),
        )


def _context_flag(
    answers: Mapping[str, Any], qid: str, rule_id: str, age: int | None
) -> Flag | None:
    if not _is_yes(answers, qid):
        return None
    if qid != "first_episode":
        return _flag(answers, rule_id, Level.NOTE, (qid,))
    # An unknown age counts as qualifying: the cautious reading.
    if age is not None and YOUNGER_AGE <= age < OLDER_AGE:
        return None
    return _flag(answers, rule_id, Level.NOTE, (qid,), ("date_of_birth",), (_age_words(age),))


def _age_words(age: int | None) -> str:
    return "age unknown" if age is None else f"age {age}"


def _precaution_flags(answers: Mapping[str, Any]) -> Iterator[Flag]:
    for qid, (rule_id, no_needling) in PRECAUTION_RULES.items():
        if not _is_yes(answers, qid):
            continue
        yield _flag(answers, rule_id, Level.PRECAUTION, (qid,), no_needling=no_needling)
        if qid == "pregnant":
            yield from _first_trimester_flags(answers)


def _first_trimester_flags(answers: Mapping[str, Any]) -> Iterator[Flag]:
    """Under 13 weeks, or weeks unknown (the cautious reading)."""
    weeks = pregnancy_weeks(answers.get("pregnancy_weeks"))
    if weeks is not None and weeks >= FIRST_TRIMESTER_WEEKS:
        return
    yield _flag(
        answers,
        "pregnancy_first_trimester",
        Level.PRECAUTION,
        ("pregnant",),
        _present(answers, "pregnancy_weeks"),
        ("weeks unknown" if weeks is None else f"{weeks} weeks",),
    )

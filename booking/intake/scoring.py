"""Pain, function and risk scores, and the practical-trial check. PURE.

Formulas from the clinic's screening rules (README, "Screening rules"). The Oswestry (ODI) and
STarT Back item texts are copyrighted and deliberately not here: only their scoring, which
callers feed with item scores.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Smallest changes patients notice as meaningful and beyond measurement error.
MEANINGFUL_PAIN_CHANGE = 2
MEANINGFUL_FUNCTION_CHANGE = 2

PAIN_MAX = 10
ACTIVITY_SCORE_MAX = 10
ODI_SECTION_MAX = 5
START_BACK_ITEMS = 9
TRIAL_VISITS = range(3, 6)  # visits 3, 4 and 5


class Direction(enum.StrEnum):
    IMPROVED = "improved"
    NO_MEANINGFUL_CHANGE = "no_meaningful_change"
    WORSE = "worse"


@dataclass(frozen=True)
class Change:
    """A change between two scores; `improvement` is positive when the patient is better."""

    baseline: float
    current: float
    improvement: float
    direction: Direction

    @property
    def meaningful(self) -> bool:
        return self.direction is not Direction.NO_MEANINGFUL_CHANGE


def _change(baseline: float, current: float, improvement: float, threshold: float) -> Change:
    if improvement >= threshold:
        direction = Direction.IMPROVED
    elif improvement <= -threshold:
        direction = Direction.WORSE
    else:
        direction = Direction.NO_MEANINGFUL_CHANGE
    return Change(baseline, current, improvement, direction)


def _check_range(value: float, top: int, what: str) -> None:
    if isinstance(value, bool) or not 0 <= value <= top:
        raise ValueError(f"{what} must be from 0 to {top}, got {value!r}")


def pain_change(baseline: int | None, current: int | None) -> Change | None:
    """Change on the 0-10 pain rating scale (lower pain is better); None if either is missing."""
    if baseline is None or current is None:
        return None
    _check_range(baseline, PAIN_MAX, "pain")
    _check_range(current, PAIN_MAX, "pain")
    return _change(baseline, current, baseline - current, MEANINGFUL_PAIN_CHANGE)


def function_score(ratings: Iterable[int | None]) -> float | None:
    """Patient-specific function: mean of the rated activities (0-10); None if none rated."""
    rated = [rating for rating in ratings if rating is not None]
    for rating in rated:
        _check_range(rating, ACTIVITY_SCORE_MAX, "activity score")
    return sum(rated) / len(rated) if rated else None


def function_score_from_answers(answers: Mapping[str, Any], activities: int = 3) -> float | None:
    """The function score from intake answers `activity_1_score` .. `activity_<n>_score`."""
    return function_score(answers.get(f"activity_{n}_score") for n in range(1, activities + 1))


def function_change(baseline: float | None, current: float | None) -> Change | None:
    """Change in the function score (higher is better); None if either is missing."""
    if baseline is None or current is None:
        return None
    return _change(baseline, current, current - baseline, MEANINGFUL_FUNCTION_CHANGE)


def _odi_section(score: int | Sequence[int] | None) -> int | None:
    # Two boxes ticked in one section: the scoring convention takes the higher.
    if score is None:
        return None
    if isinstance(score, Sequence):
        if not score:
            return None
        score = max(score)
    _check_range(score, ODI_SECTION_MAX, "ODI section score")
    return score


def odi_percent(section_scores: Sequence[int | Sequence[int] | None]) -> float | None:
    """Oswestry Disability Index %: answered sections only; None when none answered."""
    answered = [s for s in map(_odi_section, section_scores) if s is not None]
    if not answered:
        return None
    return sum(answered) / (ODI_SECTION_MAX * len(answered)) * 100


class StartBackRisk(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True)
class StartBackResult:
    total: int
    psychosocial: int
    risk: StartBackRisk


def start_back(items: Sequence[bool | None]) -> StartBackResult:
    """STarT Back from its 9 items as positive (True) / not (False, or None if unanswered).

    The caller decides positivity per item (for item 9, "very much" or "extremely").
    """
    if len(items) != START_BACK_ITEMS:
        raise ValueError(f"STarT Back has {START_BACK_ITEMS} items, got {len(items)}")
    positive = [item is True for item in items]
    total = sum(positive)
    psychosocial = sum(positive[4:])  # items 5 to 9
    if total <= 3:
        risk = StartBackRisk.LOW
    elif psychosocial >= 4:
        risk = StartBackRisk.HIGH
    else:
        risk = StartBackRisk.MEDIUM
    return StartBackResult(total, psychosocial, risk)


def trial_needs_reassessment(
    visit_number: int,
    baseline_pain: int,
    current_pain: int,
    baseline_bad_days: int,
    current_bad_days: int,
) -> bool:
    """Whether to prompt "reassess the plan": visits 3-5 with neither pain nor bad days better."""
    if visit_number not in TRIAL_VISITS:
        return False
    pain_fell = baseline_pain - current_pain >= MEANINGFUL_PAIN_CHANGE
    bad_days_fell = current_bad_days < baseline_bad_days
    return not pain_fell and not bad_days_fell

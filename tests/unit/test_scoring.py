"""Pain and function change, ODI, STarT Back and the practical-trial prompt."""

from __future__ import annotations

import pytest

from booking.intake.scoring import (
    MEANINGFUL_FUNCTION_CHANGE,
    MEANINGFUL_PAIN_CHANGE,
    Direction,
    StartBackResult,
    StartBackRisk,
    function_change,
    function_score,
    function_score_from_answers,
    odi_percent,
    pain_change,
    start_back,
    trial_needs_reassessment,
)


def test_meaningful_changes_are_two_points():
    assert MEANINGFUL_PAIN_CHANGE == 2
    assert MEANINGFUL_FUNCTION_CHANGE == 2


# --- Pain ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "current", "improvement", "direction"),
    [
        (6, 4, 2, Direction.IMPROVED),
        (6, 5, 1, Direction.NO_MEANINGFUL_CHANGE),
        (6, 6, 0, Direction.NO_MEANINGFUL_CHANGE),
        (6, 7, -1, Direction.NO_MEANINGFUL_CHANGE),
        (6, 8, -2, Direction.WORSE),
        (10, 0, 10, Direction.IMPROVED),
        (0, 10, -10, Direction.WORSE),
    ],
)
def test_pain_change(baseline, current, improvement, direction):
    change = pain_change(baseline, current)

    assert change is not None
    assert change.improvement == improvement
    assert change.direction is direction
    assert change.meaningful is (direction is not Direction.NO_MEANINGFUL_CHANGE)
    assert (change.baseline, change.current) == (baseline, current)


@pytest.mark.parametrize(("baseline", "current"), [(None, 4), (4, None), (None, None)])
def test_pain_change_needs_both_ratings(baseline, current):
    assert pain_change(baseline, current) is None


@pytest.mark.parametrize(("baseline", "current"), [(-1, 4), (4, 11), (True, 3)])
def test_pain_rating_outside_0_to_10_is_refused(baseline, current):
    with pytest.raises(ValueError, match="pain must be from 0 to 10"):
        pain_change(baseline, current)


# --- Patient-specific function ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratings", "score"),
    [
        ([4, 6, 8], 6.0),
        ([4, None, 5], 4.5),
        ([0], 0.0),
        ([10, 10], 10.0),
        ([], None),
        ([None, None, None], None),
    ],
)
def test_function_score_is_the_mean_of_rated_activities(ratings, score):
    assert function_score(ratings) == score


@pytest.mark.parametrize("ratings", [[11], [-1, 5]])
def test_function_rating_outside_0_to_10_is_refused(ratings):
    with pytest.raises(ValueError):
        function_score(ratings)


def test_function_score_from_intake_answers():
    answers = {
        "activity_1": "gardening",
        "activity_1_score": 3,
        "activity_2": "lifting my child",
        "activity_3_score": 6,
        "pain_now": 9,
    }

    assert function_score_from_answers(answers) == 4.5
    assert function_score_from_answers({"goals": "walk the dog"}) is None


@pytest.mark.parametrize(
    ("baseline", "current", "direction"),
    [
        (3.0, 5.0, Direction.IMPROVED),
        (3.0, 4.5, Direction.NO_MEANINGFUL_CHANGE),
        (3.0, 1.5, Direction.NO_MEANINGFUL_CHANGE),
        (5.0, 3.0, Direction.WORSE),
    ],
)
def test_function_change_higher_is_better(baseline, current, direction):
    change = function_change(baseline, current)

    assert change is not None
    assert change.direction is direction
    assert change.improvement == current - baseline


@pytest.mark.parametrize(("baseline", "current"), [(None, 4.0), (4.0, None)])
def test_function_change_needs_both_scores(baseline, current):
    assert function_change(baseline, current) is None


# --- Oswestry Disability Index ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("sections", "percent"),
    [
        pytest.param([0] * 10, 0.0, id="no-disability"),
        pytest.param([5] * 10, 100.0, id="maximum"),
        pytest.param([2] * 10, 40.0, id="all-answered"),
        pytest.param([4, 4, 4, 4, 4, None, 0, 0, 0, 0], 20 / 45 * 100, id="one-unanswered"),
        pytest.param([5, *[None] * 8, 3], 80.0, id="two-answered"),
        pytest.param([(2, 4), 1], 50.0, id="two-boxes-take-higher"),
        pytest.param([(3,), 1], 40.0, id="one-box-as-sequence"),
        pytest.param([(), 2], 40.0, id="empty-box-list-is-unanswered"),
    ],
)
def test_odi_percent(sections, percent):
    assert odi_percent(sections) == pytest.approx(percent)


@pytest.mark.parametrize("sections", [[], [None] * 10, [(), None]])
def test_odi_percent_with_nothing_answered_is_none(sections):
    assert odi_percent(sections) is None


@pytest.mark.parametrize("sections", [[6], [-1, 2], [(2, 6)]])
def test_odi_section_outside_0_to_5_is_refused(sections):
    with pytest.raises(ValueError):
        odi_percent(sections)


# --- STarT Back ------------------------------------------------------------------------------


def items(positive: set[int]) -> list[bool]:
    """Nine answers with the given 1-based item numbers positive."""
    return [number in positive for number in range(1, 10)]


@pytest.mark.parametrize(
    ("positive", "total", "psychosocial", "risk"),
    [
        pytest.param(set(), 0, 0, StartBackRisk.LOW, id="none"),
        pytest.param({1, 2, 3}, 3, 0, StartBackRisk.LOW, id="total-3-physical"),
        pytest.param({5, 6, 7}, 3, 3, StartBackRisk.LOW, id="total-3-psychosocial"),
        pytest.param({1, 2, 3, 4}, 4, 0, StartBackRisk.MEDIUM, id="total-4-physical"),
        pytest.param({1, 5, 6, 7}, 4, 3, StartBackRisk.MEDIUM, id="psychosocial-3"),
        pytest.param({5, 6, 7, 8}, 4, 4, StartBackRisk.HIGH, id="total-4-psychosocial-4"),
        pytest.param({1, 2, 3, 4, 5, 6, 7}, 7, 3, StartBackRisk.MEDIUM, id="total-7-psych-3"),
        pytest.param({1, 6, 7, 8, 9}, 5, 4, StartBackRisk.HIGH, id="psychosocial-4"),
        pytest.param(set(range(1, 10)), 9, 5, StartBackRisk.HIGH, id="all"),
    ],
)
def test_start_back_classification(positive, total, psychosocial, risk):
    result = start_back(items(positive))

    assert result == StartBackResult(total, psychosocial, risk)
    assert result.risk == risk.value


def test_start_back_unanswered_items_are_not_positive():
    answers = [True, True, True, None, None, True, True, None, True]

    assert start_back(answers) == StartBackResult(6, 3, StartBackRisk.MEDIUM)


@pytest.mark.parametrize("count", [8, 10])
def test_start_back_needs_nine_items(count):
    with pytest.raises(ValueError, match="9 items"):
        start_back([False] * count)


# --- Practical trial -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("visit", "prompt"), [(1, False), (2, False), (3, True), (4, True), (5, True), (6, False)]
)
def test_trial_prompt_only_at_visits_3_to_5(visit, prompt):
    # No improvement at all: only the visit number decides.
    assert trial_needs_reassessment(visit, 6, 6, 5, 5) is prompt


@pytest.mark.parametrize(
    ("current_pain", "current_bad_days", "prompt"),
    [
        pytest.param(4, 5, False, id="pain-fell-2-bad-days-same"),
        pytest.param(5, 5, True, id="pain-fell-1-bad-days-same"),
        pytest.param(5, 4, False, id="pain-fell-1-bad-days-fewer"),
        pytest.param(3, 4, False, id="both-better"),
        pytest.param(6, 6, True, id="bad-days-more"),
        pytest.param(8, 5, True, id="pain-worse"),
        pytest.param(6, 0, False, id="bad-days-fell-to-zero"),
    ],
)
@pytest.mark.parametrize("visit", [3, 5])
def test_trial_prompt_when_neither_pain_nor_bad_days_improved(
    visit, current_pain, current_bad_days, prompt
):
    baseline_pain, baseline_bad_days = 6, 5

    result = trial_needs_reassessment(
        visit, baseline_pain, current_pain, baseline_bad_days, current_bad_days
    )

    assert result is prompt


def test_trial_with_no_bad_days_at_baseline_looks_at_pain_alone():
    assert trial_needs_reassessment(3, 4, 3, 0, 0) is True
    assert trial_needs_reassessment(3, 4, 2, 0, 0) is False

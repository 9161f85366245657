"""Screening rules, their boundaries and the worked examples of the clinic's screening rules."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from booking.intake import questionnaire
from booking.intake.screening import (
    CAUDA_EQUINA_RULES,
    PRECAUTION_RULES,
    RULES,
    RULES_BY_ID,
    RULESET_VERSION,
    SINGLE_REVIEW_RULES,
    Flag,
    Level,
    Screening,
    Tier,
    age_on,
    screen,
)

TODAY = date(2026, 11, 21)
# Birthdays relative to TODAY: "today" means the birthday falls on TODAY.
AGE_20_BIRTHDAY_TODAY = "2006-11-21"
AGE_19_BIRTHDAY_TOMORROW = "2006-11-22"
AGE_50_BIRTHDAY_TODAY = "1976-11-21"
AGE_49_BIRTHDAY_TOMORROW = "1976-11-22"
ADULT_DOB = "1990-03-15"  # 36 on TODAY: no age rule applies


def rule_ids(result: Screening) -> list[str]:
    return [flag.rule_id for flag in result.flags]


def flag_for(result: Screening, rule_id: str) -> Flag:
    (flag,) = [flag for flag in result.flags if flag.rule_id == rule_id]
    return flag


# --- Emergency: cauda equina and progressive neurology -------------------------------------


@pytest.mark.parametrize("qid", CAUDA_EQUINA_RULES)
@pytest.mark.parametrize("answer", ["yes", "not_sure"])
@pytest.mark.parametrize(
    ("onset", "level", "tier", "urgent"),
    [
        ("new", Level.EMERGENCY, Tier.EMERGENCY, True),
        ("worse", Level.EMERGENCY, Tier.EMERGENCY, True),
        (None, Level.EMERGENCY, Tier.EMERGENCY, True),  # missing onset counts as new
        ("stable", Level.REVIEW, Tier.MEDICAL_REVIEW, False),
    ],
)
def test_cauda_equina_question_level_follows_onset(qid, answer, onset, level, tier, urgent):
    answers = {qid: answer, "date_of_birth": ADULT_DOB}
    if onset is not None:
        answers[f"{qid}_onset"] = onset

    result = screen(answers, TODAY)

    assert result.tier is tier
    assert rule_ids(result) == [CAUDA_EQUINA_RULES[qid]]
    flag = result.flags[0]
    assert flag.level is level
    assert flag.urgent is urgent
    assert flag.no_needling is False
    assert flag.question_ids[0] == qid


@pytest.mark.parametrize("qid", CAUDA_EQUINA_RULES)
@pytest.mark.parametrize("answer", ["no", None])
def test_cauda_equina_question_answered_no_or_missing_raises_nothing(qid, answer):
    answers = {f"{qid}_onset": "new"}  # a stray onset without the symptom means nothing
    if answer is not None:
        answers[qid] = answer

    result = screen(answers, TODAY)

    assert result.tier is Tier.CLEAR
    assert result.flags == ()


def test_unreadable_onset_is_read_as_new():
    result = screen({"bowel_control": "yes", "bowel_control_onset": "last year?"}, TODAY)

    assert result.tier is Tier.EMERGENCY


def test_question_ids_include_the_onset_only_when_answered():
    with_onset = screen({"both_legs": "yes", "both_legs_onset": "worse"}, TODAY)
    without = screen({"both_legs": "yes"}, TODAY)

    assert with_onset.flags[0].question_ids == ("both_legs", "both_legs_onset")
    assert without.flags[0].question_ids == ("both_legs",)


def test_each_cauda_equina_answer_gets_its_own_flag():
    answers = {
        "bladder_leak": "yes",
        "bladder_leak_onset": "new",
        "legs_weakening": "yes",
        "legs_weakening_onset": "stable",
    }

    result = screen(answers, TODAY)

    assert result.tier is Tier.EMERGENCY
    assert flag_for(result, "cauda_equina_bladder_leak").level is Level.EMERGENCY
    assert flag_for(result, "progressive_weakness_both_legs").level is Level.REVIEW


@pytest.mark.parametrize("onset", ["new", "worse", "stable", None])
@pytest.mark.parametrize("answer", ["yes", "not_sure"])
def test_sexual_function_alone_is_review(onset, answer):
    answers = {"sexual_function": answer}
    if onset is not None:
        answers["sexual_function_onset"] = onset

    result = screen(answers, TODAY)

    assert result.tier is Tier.MEDICAL_REVIEW
    flag = flag_for(result, "cauda_equina_sexual_function")
    assert flag.level is Level.REVIEW
    assert flag.urgent is False


@pytest.mark.parametrize("own_onset", ["new", "stable"])
def test_sexual_function_with_an_emergency_answer_is_part_of_the_emergency(own_onset):
    answers = {
        "sexual_function": "yes",
        "sexual_function_onset": own_onset,
        "bladder_start": "yes",
        "bladder_start_onset": "new",
    }

    result = screen(answers, TODAY)

    assert result.tier is Tier.EMERGENCY
    assert rule_ids(result) == ["cauda_equina_bladder_start", "cauda_equina_sexual_function"]
    assert all(flag.level is Level.EMERGENCY for flag in result.flags)


def test_sexual_function_with_only_a_stable_cauda_equina_answer_stays_review():
    answers = {
        "sexual_function": "yes",
        "sexual_function_onset": "new",
        "bladder_start": "yes",
        "bladder_start_onset": "stable",
    }

    result = screen(answers, TODAY)

    assert result.tier is Tier.MEDICAL_REVIEW
    assert {flag.level for flag in result.flags} == {Level.REVIEW}


# --- Medical review --------------------------------------------------------------------------


@pytest.mark.parametrize(("qid", "rule_id"), SINGLE_REVIEW_RULES.items())
@pytest.mark.parametrize("answer", ["yes", "not_sure"])
def test_single_review_question_raises_review(qid, rule_id, answer):
    result = screen({qid: answer, "date_of_birth": ADULT_DOB}, TODAY)

    assert result.tier is Tier.MEDICAL_REVIEW
    flag = flag_for(result, rule_id)
    assert flag.level is Level.REVIEW
    assert flag.question_ids == (qid,)
    assert flag.urgent is False


@pytest.mark.parametrize("qid", SINGLE_REVIEW_RULES)
def test_single_review_question_answered_no_is_clear(qid):
    result = screen({qid: "no", "date_of_birth": ADULT_DOB}, TODAY)

    assert result.tier is Tier.CLEAR
    assert result.flags == ()


def test_immune_suppression_is_also_a_needling_precaution():
    result = screen({"immune_suppressed": "yes"}, TODAY)

    assert result.tier is Tier.MEDICAL_REVIEW
    assert rule_ids(result) == ["immune_suppressed", "immune_suppressed_needling"]
    assert flag_for(result, "immune_suppressed_needling").level is Level.PRECAUTION
    assert result.no_needling is False


@pytest.mark.parametrize(
    ("fall_or_lift", "weak_bones", "tier"),
    [
        ("yes", "yes", Tier.MEDICAL_REVIEW),
        ("not_sure", "yes", Tier.MEDICAL_REVIEW),
        ("yes", "not_sure", Tier.MEDICAL_REVIEW),
        ("yes", "no", Tier.CLEAR),
        ("no", "yes", Tier.CLEAR),
        ("yes", None, Tier.CLEAR),
        (None, "yes", Tier.CLEAR),
    ],
)
def test_fragility_fracture_needs_both_answers(fall_or_lift, weak_bones, tier):
    answers = {"fall_or_lift_onset": fall_or_lift, "osteoporosis_or_steroids": weak_bones}
    answers = {qid: value for qid, value in answers.items() if value is not None}

    result = screen(answers, TODAY)

    assert result.tier is tier
    if tier is Tier.MEDICAL_REVIEW:
        flag = flag_for(result, "fragility_fracture")
        assert flag.question_ids == ("fall_or_lift_onset", "osteoporosis_or_steroids")
    else:
        assert result.flags == ()


@pytest.mark.parametrize(
    ("dob", "age"),
    [
        (AGE_20_BIRTHDAY_TODAY, 20),
        (AGE_19_BIRTHDAY_TOMORROW, 19),
        (AGE_50_BIRTHDAY_TODAY, 50),
        (AGE_49_BIRTHDAY_TOMORROW, 49),
        ("2026-11-21", 0),
        ("1931-01-01", 95),
    ],
)
def test_age_is_taken_on_the_day_screened(dob, age):
    assert age_on(dob, TODAY) == age
    assert age_on(date.fromisoformat(dob), TODAY) == age


@pytest.mark.parametrize(
    ("today", "age"),
    [(date(2027, 2, 28), 18), (date(2027, 3, 1), 19), (date(2028, 2, 29), 20)],
)
def test_leap_day_birthday_counts_from_the_first_of_march_in_other_years(today, age):
    assert age_on("2008-02-29", today) == age


@pytest.mark.parametrize("dob", [None, "", "not a date", "2026-11-22", "21/11/1970"])
def test_missing_impossible_or_unreadable_date_of_birth_gives_no_age(dob):
    assert age_on(dob, TODAY) is None


@pytest.mark.parametrize(
    ("dob", "first_episode", "rule_id", "tier"),
    [
        (AGE_19_BIRTHDAY_TOMORROW, "yes", "first_episode_age", Tier.MEDICAL_REVIEW),
        (AGE_20_BIRTHDAY_TODAY, "yes", None, Tier.CLEAR),
        (AGE_49_BIRTHDAY_TOMORROW, "yes", None, Tier.CLEAR),
        (AGE_50_BIRTHDAY_TODAY, "yes", "first_episode_age", Tier.MEDICAL_REVIEW),
        (AGE_50_BIRTHDAY_TODAY, "not_sure", "first_episode_age", Tier.MEDICAL_REVIEW),
        (AGE_19_BIRTHDAY_TOMORROW, "not_sure", "first_episode_age", Tier.MEDICAL_REVIEW),
        (AGE_50_BIRTHDAY_TODAY, "no", "repeat_episode_over_50", Tier.CLEAR),
        (AGE_50_BIRTHDAY_TODAY, None, "repeat_episode_over_50", Tier.CLEAR),
        (AGE_49_BIRTHDAY_TOMORROW, "no", None, Tier.CLEAR),
        (AGE_19_BIRTHDAY_TOMORROW, "no", None, Tier.CLEAR),
        (AGE_20_BIRTHDAY_TODAY, "no", None, Tier.CLEAR),
    ],
)
def test_first_episode_and_age(dob, first_episode, rule_id, tier):
    answers = {"date_of_birth": dob}
    if first_episode is not None:
        answers["first_episode"] = first_episode

    result = screen(answers, TODAY)

    assert result.tier is tier
    assert rule_ids(result) == ([rule_id] if rule_id else [])
    if rule_id:
        flag = result.flags[0]
        assert flag.question_ids == ("first_episode", "date_of_birth")
        assert flag.level is (Level.REVIEW if tier is Tier.MEDICAL_REVIEW else Level.NOTE)
        assert f"age {age_on(dob, TODAY)}" in flag.summary


@pytest.mark.parametrize("dob", [None, "unknown", "2030-01-01"])
@pytest.mark.parametrize("first_episode", ["yes", "no"])
def test_no_age_rule_fires_without_a_usable_date_of_birth(dob, first_episode):
    answers = {"first_episode": first_episode}
    if dob is not None:
        answers["date_of_birth"] = dob

    result = screen(answers, TODAY)

    assert result.tier is Tier.CLEAR
    assert result.flags == ()


@pytest.mark.parametrize("answer", ["yes", "not_sure"])
@pytest.mark.parametrize(
    ("onset", "level", "tier", "urgent"),
    [
        ("new", Level.REVIEW, Tier.MEDICAL_REVIEW, True),
        ("worse", Level.REVIEW, Tier.MEDICAL_REVIEW, True),
        (None, Level.REVIEW, Tier.MEDICAL_REVIEW, True),
        ("stable", Level.NOTE, Tier.CLEAR, False),
    ],
)
def test_one_leg_weakening_follows_onset(answer, onset, level, tier, urgent):
    answers = {"one_leg_weakening": answer}
    if onset is not None:
        answers["one_leg_weakening_onset"] = onset

    result = screen(answers, TODAY)

    assert result.tier is tier
    flag = flag_for(result, "progressive_weakness_one_leg")
    assert flag.level is level
    assert flag.urgent is urgent


@pytest.mark.parametrize("answer", ["yes", "not_sure"])
def test_long_morning_stiffness_is_a_note_that_never_holds_a_booking(answer):
    result = screen({"morning_stiffness_long": answer}, TODAY)

    assert result.tier is Tier.CLEAR
    flag = flag_for(result, "inflammatory_morning_stiffness")
    assert flag.level is Level.NOTE
    assert result.no_needling is False


# --- Needling precautions --------------------------------------------------------------------

NO_NEEDLING_RULES = {
    "bleeding_disorder_severe",
    "needle_fear",
    "lymphedema",
    "skin_problem_at_site",
    "proxy_consent",
}
# immune_suppressed is a review question that also raises a precaution; tested on its own.
PRECAUTION_ONLY = {
    qid: rule for qid, rule in PRECAUTION_RULES.items() if qid != "immune_suppressed"
}


@pytest.mark.parametrize(("qid", "rule"), PRECAUTION_ONLY.items())
def test_each_precaution_raises_precaution_with_its_needling_effect(qid, rule):
    rule_id, _ = rule
    answers = {qid: "yes", "pregnancy_weeks": 20, "date_of_birth": ADULT_DOB}

    result = screen(answers, TODAY)

    assert result.tier is Tier.PRECAUTION
    assert rule_ids(result) == [rule_id]
    flag = result.flags[0]
    assert flag.level is Level.PRECAUTION
    assert flag.no_needling is (rule_id in NO_NEEDLING_RULES)
    assert result.no_needling is (rule_id in NO_NEEDLING_RULES)


@pytest.mark.parametrize("qid", PRECAUTION_ONLY)
def test_precaution_answered_no_is_clear(qid):
    result = screen({qid: "no"}, TODAY)

    assert result.tier is Tier.CLEAR
    assert result.no_needling is False


def test_not_sure_on_a_precaution_is_treated_as_yes():
    result = screen({"needle_fear": "not_sure"}, TODAY)

    assert result.tier is Tier.PRECAUTION
    assert result.no_needling is True
    assert "patient not sure" in result.flags[0].summary


@pytest.mark.parametrize(
    ("severe", "expected_rules", "no_needling"),
    [
        ("yes", ["bleeding_disorder", "bleeding_disorder_severe"], True),
        ("no", ["bleeding_disorder"], False),
        (None, ["bleeding_disorder"], False),
    ],
)
def test_bleeding_disorder_severity_decides_needling(severe, expected_rules, no_needling):
    answers = {"bleeding_disorder": "yes"}
    if severe is not None:
        answers["bleeding_disorder_severe"] = severe

    result = screen(answers, TODAY)

    assert result.tier is Tier.PRECAUTION
    assert rule_ids(result) == expected_rules
    assert result.no_needling is no_needling


@pytest.mark.parametrize(
    ("weeks", "first_trimester"),
    [(0, True), (9, True), (12, True), (13, False), (30, False), (None, True), ("12", True)],
)
def test_pregnancy_first_trimester_flag(weeks, first_trimester):
    answers = {"pregnant": "yes"}
    if weeks is not None:
        answers["pregnancy_weeks"] = weeks

    result = screen(answers, TODAY)

    assert result.tier is Tier.PRECAUTION
    assert result.no_needling is False
    expected = ["pregnancy", "pregnancy_first_trimester"] if first_trimester else ["pregnancy"]
    assert rule_ids(result) == expected


def test_pregnancy_weeks_without_pregnancy_raise_nothing():
    assert screen({"pregnant": "no", "pregnancy_weeks": 8}, TODAY).flags == ()


# --- Combinations, tiers and defaults --------------------------------------------------------


def test_emergency_wins_over_precautions_and_review():
    answers = {
        "needle_fear": "yes",
        "diabetes": "yes",
        "fever_now": "yes",
        "saddle_numbness": "yes",
        "saddle_numbness_onset": "worse",
    }

    result = screen(answers, TODAY)

    assert result.tier is Tier.EMERGENCY
    assert result.no_needling is True
    assert [flag.level for flag in result.flags] == [
        Level.EMERGENCY,
        Level.REVIEW,
        Level.PRECAUTION,
        Level.PRECAUTION,
    ]


def test_no_needling_is_kept_alongside_review():
    result = screen({"cancer_history": "yes", "lymphedema": "yes"}, TODAY)

    assert result.tier is Tier.MEDICAL_REVIEW
    assert result.no_needling is True
    assert rule_ids(result) == ["cancer_history", "lymphedema"]


def test_precaution_outranks_a_note():
    answers = {"morning_stiffness_long": "yes", "metal_allergy": "yes"}

    result = screen(answers, TODAY)

    assert result.tier is Tier.PRECAUTION
    assert rule_ids(result) == ["metal_allergy", "inflammatory_morning_stiffness"]


def test_empty_answers_are_clear():
    result = screen({}, TODAY)

    assert result == Screening(Tier.CLEAR, (), False, RULESET_VERSION)


def test_unknown_question_ids_are_ignored():
    result = screen({"favourite_colour": "yes", "tumour_elsewhere": "yes"}, TODAY)

    assert result.tier is Tier.CLEAR
    assert result.flags == ()


def test_not_sure_is_noted_in_the_summary():
    result = screen({"night_pain": "not_sure"}, TODAY)

    assert result.flags[0].summary == (
        "Night pain not eased by position or lying down (patient not sure)"
    )


def test_onset_is_described_in_the_summary():
    result = screen({"bladder_start": "yes", "bladder_start_onset": "new"}, TODAY)

    assert result.flags[0].summary == (
        "Bladder: difficulty starting or controlling urine stream (new in the last 2 weeks)"
    )


def test_tier_ranks_put_emergency_highest_and_clear_lowest():
    ordered = sorted(Tier, key=lambda tier: tier.rank)

    assert ordered == [Tier.CLEAR, Tier.PRECAUTION, Tier.MEDICAL_REVIEW, Tier.EMERGENCY]


@pytest.mark.parametrize(
    ("level", "tier"),
    [
        (Level.EMERGENCY, Tier.EMERGENCY),
        (Level.REVIEW, Tier.MEDICAL_REVIEW),
        (Level.PRECAUTION, Tier.PRECAUTION),
        (Level.NOTE, Tier.CLEAR),
    ],
)
def test_each_level_raises_its_tier(level, tier):
    assert level.tier is tier


def test_tier_values_are_the_stored_strings():
    assert [tier.value for tier in Tier] == ["emergency", "medical_review", "precaution", "clear"]
    assert Tier("medical_review") is Tier.MEDICAL_REVIEW


# --- Worked examples A-E ---------------------------------------------------------------------


def dob_for_age(age: int) -> str:
    return date(TODAY.year - age, 6, 1).isoformat()  # June 1st: birthday already passed


@pytest.mark.parametrize(
    ("answers", "tier", "no_needling", "expected_rules"),
    [
        pytest.param(
            {
                "date_of_birth": dob_for_age(46),
                "bladder_start": "yes",
                "bladder_start_onset": "new",
                "saddle_numbness": "yes",
                "saddle_numbness_onset": "new",
            },
            Tier.EMERGENCY,
            False,
            ["cauda_equina_bladder_start", "cauda_equina_saddle_numbness"],
            id="A-cauda-equina",
        ),
        pytest.param(
            {"date_of_birth": dob_for_age(35), "fever_now": "no"},
            Tier.CLEAR,
            False,
            [],
            id="B-past-flu",
        ),
        pytest.param(
            {
                "date_of_birth": dob_for_age(38),
                "one_leg_weakening": "yes",
                "one_leg_weakening_onset": "worse",
            },
            Tier.MEDICAL_REVIEW,
            False,
            ["progressive_weakness_one_leg"],
            id="C-one-leg-weakening",
        ),
        pytest.param(
            {"date_of_birth": dob_for_age(29), "pregnant": "yes", "pregnancy_weeks": 9},
            Tier.PRECAUTION,
            False,
            ["pregnancy", "pregnancy_first_trimester"],
            id="D-first-trimester",
        ),
        pytest.param(
            {"date_of_birth": dob_for_age(33), "needle_fear": "yes", "fainted_needles": "yes"},
            Tier.PRECAUTION,
            True,
            ["needle_fear", "fainted_needles"],
            id="E-needle-fear",
        ),
    ],
)
def test_worked_examples(answers, tier, no_needling, expected_rules):
    result = screen(answers, TODAY)

    assert result.tier is tier
    assert result.no_needling is no_needling
    assert rule_ids(result) == expected_rules


def test_worked_example_c_is_urgent():
    answers = {
        "date_of_birth": dob_for_age(38),
        "one_leg_weakening": "yes",
        "one_leg_weakening_onset": "worse",
    }

    assert screen(answers, TODAY).flags[0].urgent is True


# --- Storage ---------------------------------------------------------------------------------


def test_to_dict_from_dict_round_trip_through_json():
    answers = {
        "bladder_start": "not_sure",
        "fever_now": "yes",
        "lymphedema": "yes",
        "morning_stiffness_long": "yes",
    }
    result = screen(answers, TODAY)

    stored = json.loads(json.dumps(result.to_dict()))

    assert Screening.from_dict(stored) == result
    assert stored["tier"] == "emergency"
    assert stored["ruleset_version"] == RULESET_VERSION
    assert stored["no_needling"] is True
    assert stored["flags"][0] == {
        "rule_id": "cauda_equina_bladder_start",
        "level": "emergency",
        "question_ids": ["bladder_start"],
        "no_needling": False,
        "urgent": True,
        "summary": "Bladder: difficulty starting or controlling urine stream "
        "(onset not given; patient not sure)",
    }


def test_from_dict_keeps_a_stored_older_ruleset_version():
    stored = {"tier": "clear", "flags": [], "no_needling": False, "ruleset_version": "2025-01.0"}

    assert Screening.from_dict(stored).ruleset_version == "2025-01.0"


# --- The rule set as a whole -----------------------------------------------------------------


def test_rule_ids_are_unique_snake_case():
    ids = [rule.rule_id for rule in RULES]

    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", rule_id) for rule_id in ids)
    assert all(rule.summary and rule.fires_when for rule in RULES)


def test_every_documented_rule_can_fire_and_every_flag_is_documented():
    questions = questionnaire.all_questions(questionnaire.FIRST_VISIT_STEPS)
    everything_yes = {question.id: "yes" for question in questions}
    everything_yes |= {"date_of_birth": AGE_50_BIRTHDAY_TODAY, "pregnancy_weeks": 8}
    repeat_episode = {"date_of_birth": AGE_50_BIRTHDAY_TODAY, "first_episode": "no"}

    fired = set(rule_ids(screen(everything_yes, TODAY))) | set(
        rule_ids(screen(repeat_episode, TODAY))
    )

    assert fired == set(RULES_BY_ID)


def test_screened_questions_exist_in_the_questionnaire_at_the_same_level():
    def level_of(qid: str) -> str | None:
        return questionnaire.question_by_id(qid).level

    assert {level_of(qid) for qid in CAUDA_EQUINA_RULES} == {"emergency"}
    assert level_of("sexual_function") == "emergency"
    assert {level_of(qid) for qid in SINGLE_REVIEW_RULES} == {"review"}
    review_extras = (
        "fall_or_lift_onset",
        "osteoporosis_or_steroids",
        "first_episode",
        "one_leg_weakening",
        "morning_stiffness_long",
    )
    assert {level_of(qid) for qid in review_extras} == {"review"}
    assert {level_of(qid) for qid in PRECAUTION_ONLY} == {"precaution"}
    assert level_of("pregnancy_weeks") == "precaution"

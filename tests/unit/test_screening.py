"""Rule set 2026-12.1: every rule, both sides of each boundary, failing safe on malformed values,
the worked examples A-I of the clinic's screening document, and stored results."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from booking.intake import questionnaire
from booking.intake.screening import (
    CAUDA_EQUINA_RULES,
    CONTEXT_RULES,
    PRECAUTION_RULES,
    RULES,
    RULES_2026_11_CHANGED,
    RULES_BY_ID,
    RULESET_VERSION,
    SINGLE_REVIEW_RULES,
    Flag,
    Level,
    Screening,
    Tier,
    age_on,
    emergency_screen,
    pregnancy_weeks,
    rule_for,
    screen,
)

E, R, P, N = Level.EMERGENCY, Level.REVIEW, Level.PRECAUTION, Level.NOTE
TODAY = date(2026, 11, 21)
# Birthdays relative to TODAY: "today" means the birthday falls on TODAY.
AGE_20_BIRTHDAY_TODAY = "2006-11-21"
AGE_19_BIRTHDAY_TOMORROW = "2006-11-22"
AGE_50_BIRTHDAY_TODAY = "1976-11-21"
AGE_49_BIRTHDAY_TOMORROW = "1976-11-22"
ADULT_DOB = "1990-03-15"  # 36 on TODAY: no age rule applies

# Values of a yes/no question that count as yes, and those that count as no (failing safe).
MALFORMED_YES = ["Y", "unsure", 1, ["yes"], " YES ", "Not_Sure", True, "", 0, ["no"], "maybe"]
READ_AS_NO = ["no", " No ", "NO", False, None]


def adult(**answers) -> dict:
    """Answers of a 36-year-old: no age rule fires unless the test asks for one."""
    return {"date_of_birth": ADULT_DOB, **answers}


def flags_of(result: Screening) -> list[tuple[str, Level]]:
    return [(flag.rule_id, flag.level) for flag in result.flags]


def rule_ids(result: Screening) -> list[str]:
    return [flag.rule_id for flag in result.flags]


def flag_for(result: Screening, rule_id: str) -> Flag:
    (flag,) = [flag for flag in result.flags if flag.rule_id == rule_id]
    return flag


def test_version():
    assert RULESET_VERSION == "2026-12.1"


# --- Emergency: cauda equina and progressive neurology -------------------------------------


@pytest.mark.parametrize("qid", CAUDA_EQUINA_RULES)
@pytest.mark.parametrize("answer", ["yes", "not_sure"])
@pytest.mark.parametrize(
    ("onset", "level", "tier", "urgent"),
    [
        ("new", E, Tier.EMERGENCY, True),
        ("worse", E, Tier.EMERGENCY, True),
        (None, E, Tier.EMERGENCY, True),  # missing onset counts as new
        ("stable", R, Tier.MEDICAL_REVIEW, False),
    ],
)
def test_cauda_equina_question_level_follows_onset(qid, answer, onset, level, tier, urgent):
    answers = adult(**{qid: answer})
    if onset is not None:
        answers[f"{qid}_onset"] = onset

    result = screen(answers, TODAY)

    assert result.tier is tier
    assert flags_of(result) == [(CAUDA_EQUINA_RULES[qid], level)]
    flag = result.flags[0]
    assert flag.urgent is urgent
    assert flag.no_needling is False
    assert flag.question_ids == ((qid,) if onset is None else (qid, f"{qid}_onset"))


@pytest.mark.parametrize("qid", CAUDA_EQUINA_RULES)
@pytest.mark.parametrize("answer", READ_AS_NO)
def test_cauda_equina_question_answered_no_or_missing_raises_nothing(qid, answer):
    answers = adult(**{f"{qid}_onset": "new"})  # a stray onset without the symptom means nothing
    answers[qid] = answer

    result = screen(answers, TODAY)

    assert result.tier is Tier.CLEAR
    assert result.flags == ()


@pytest.mark.parametrize("qid", CAUDA_EQUINA_RULES)
@pytest.mark.parametrize("value", MALFORMED_YES)
def test_a_malformed_emergency_answer_counts_as_yes(qid, value):
    result = screen(adult(**{qid: value}), TODAY)

    assert result.tier is Tier.EMERGENCY
    assert flags_of(result) == [(CAUDA_EQUINA_RULES[qid], E)]


@pytest.mark.parametrize(
    ("onset", "level", "note"),
    [
        ("new", E, "new in the last 2 weeks"),
        (" NEW ", E, "new in the last 2 weeks"),
        ("Worse", E, "getting worse"),
        (" Stable\n", R, "stable for over 2 weeks"),
        (None, E, "onset not given"),
        ("last year?", E, "onset unclear, counted as new"),
        ("", E, "onset unclear, counted as new"),
        (3, E, "onset unclear, counted as new"),
        (["stable"], E, "onset unclear, counted as new"),
        (True, E, "onset unclear, counted as new"),
    ],
)
def test_onset_is_trimmed_and_an_unreadable_one_counts_as_new(onset, level, note):
    result = screen(adult(bowel_control="yes", bowel_control_onset=onset), TODAY)

    assert flags_of(result) == [("cauda_equina_bowel_control", level)]
    assert result.flags[0].summary == (
        f"Bowel: leaking stool, unable to hold, or not feeling it coming ({note})"
    )


def test_question_ids_include_the_onset_only_when_answered():
    with_onset = screen(adult(both_legs="yes", both_legs_onset="worse"), TODAY)
    without = screen(adult(both_legs="yes"), TODAY)
    null_onset = screen(adult(both_legs="yes", both_legs_onset=None), TODAY)

    assert with_onset.flags[0].question_ids == ("both_legs", "both_legs_onset")
    assert without.flags[0].question_ids == ("both_legs",)
    assert null_onset.flags[0].question_ids == ("both_legs",)


def test_each_cauda_equina_answer_gets_its_own_flag():
    answers = adult(
        bladder_leak="yes",
        bladder_leak_onset="new",
        legs_weakening="yes",
        legs_weakening_onset="stable",
    )

    result = screen(answers, TODAY)

    assert result.tier is Tier.EMERGENCY
    assert flags_of(result) == [
        ("cauda_equina_bladder_leak", E),
        ("progressive_weakness_both_legs", R),
    ]


@pytest.mark.parametrize("onset", ["new", "worse", "stable", None])
@pytest.mark.parametrize("answer", ["yes", "not_sure", "Y"])
def test_sexual_function_alone_is_review(onset, answer):
    answers = adult(sexual_function=answer)
    if onset is not None:
        answers["sexual_function_onset"] = onset

    result = screen(answers, TODAY)

    assert result.tier is Tier.MEDICAL_REVIEW
    assert flags_of(result) == [("cauda_equina_sexual_function", R)]
    assert result.flags[0].urgent is False
    assert result.urgent is False


@pytest.mark.parametrize("own_onset", ["new", "stable", None])
@pytest.mark.parametrize("other", list(CAUDA_EQUINA_RULES))
def test_sexual_function_with_an_emergency_answer_is_part_of_the_emergency(own_onset, other):
    answers = adult(sexual_function="yes", **{other: "yes", f"{other}_onset": "worse"})
    if own_onset is not None:
        answers["sexual_function_onset"] = own_onset

    result = screen(answers, TODAY)

    assert result.tier is Tier.EMERGENCY
    assert flags_of(result) == [
        (CAUDA_EQUINA_RULES[other], E),
        ("cauda_equina_sexual_function", E),
    ]


def test_sexual_function_with_only_a_stable_cauda_equina_answer_stays_review():
    answers = adult(
        sexual_function="yes",
        sexual_function_onset="new",
        bladder_start="yes",
        bladder_start_onset="stable",
    )

    result = screen(answers, TODAY)

    assert result.tier is Tier.MEDICAL_REVIEW
    assert flags_of(result) == [
        ("cauda_equina_bladder_start", R),
        ("cauda_equina_sexual_function", R),
    ]


# --- Medical review --------------------------------------------------------------------------


@pytest.mark.parametrize(("qid", "rule_id"), SINGLE_REVIEW_RULES.items())
@pytest.mark.parametrize("answer", ["yes", "not_sure", "Y", 1, ["yes"], " Yes "])
def test_single_review_question_raises_review(qid, rule_id, answer):
    result = screen(adult(**{qid: answer}), TODAY)

    assert result.tier is Tier.MEDICAL_REVIEW
    flag = flag_for(result, rule_id)
    assert flag.level is R
    assert flag.question_ids == (qid,)
    assert flag.urgent is False
    expected = [(rule_id, R)]
    if qid == "immune_suppressed":
        expected.append(("immune_suppressed_needling", P))
    assert flags_of(result) == expected


@pytest.mark.parametrize("qid", SINGLE_REVIEW_RULES)
@pytest.mark.parametrize("answer", READ_AS_NO)
def test_single_review_question_answered_no_is_clear(qid, answer):
    result = screen(adult(**{qid: answer}), TODAY)

    assert result.tier is Tier.CLEAR
    assert result.flags == ()


def test_single_review_rules_are_the_pages_list():
    assert SINGLE_REVIEW_RULES == {
        "fever_now": "fever",
        "immune_suppressed": "immune_suppressed",
        "cancer_history": "cancer_history",
        "weight_loss": "unexplained_weight_loss",
        "major_trauma": "major_trauma",
        "new_injury": "new_injury",
    }


def test_a_new_injury_since_the_last_visit_is_reviewed_like_major_trauma():
    injury = screen(adult(new_injury="yes"), TODAY)
    trauma = screen(adult(major_trauma="yes"), TODAY)

    assert (injury.tier, flags_of(injury)) == (Tier.MEDICAL_REVIEW, [("new_injury", R)])
    assert (trauma.tier, flags_of(trauma)) == (Tier.MEDICAL_REVIEW, [("major_trauma", R)])
    assert injury.flags[0].summary == "Fall, accident or hard hit since the last visit"


def test_immune_suppression_is_also_a_needling_precaution():
    result = screen(adult(immune_suppressed="yes"), TODAY)

    assert result.tier is Tier.MEDICAL_REVIEW
    assert flags_of(result) == [("immune_suppressed", R), ("immune_suppressed_needling", P)]
    assert result.no_needling is False


@pytest.mark.parametrize(
    ("fall_or_lift", "weak_bones", "tier"),
    [
        ("yes", "yes", Tier.MEDICAL_REVIEW),
        ("not_sure", "yes", Tier.MEDICAL_REVIEW),
        ("yes", "not_sure", Tier.MEDICAL_REVIEW),
        ("Y", 1, Tier.MEDICAL_REVIEW),
        ("yes", "no", Tier.CLEAR),
        ("no", "yes", Tier.CLEAR),
        ("yes", None, Tier.CLEAR),
        (None, "yes", Tier.CLEAR),
    ],
)
def test_fragility_fracture_needs_both_answers(fall_or_lift, weak_bones, tier):
    answers = adult(fall_or_lift_onset=fall_or_lift, osteoporosis_or_steroids=weak_bones)

    result = screen(answers, TODAY)

    assert result.tier is tier
    if tier is Tier.MEDICAL_REVIEW:
        assert flags_of(result) == [("fragility_fracture", R)]
        assert result.flags[0].question_ids == ("fall_or_lift_onset", "osteoporosis_or_steroids")
    else:
        assert result.flags == ()


@pytest.mark.parametrize("answer", ["yes", "not_sure", "Y"])
@pytest.mark.parametrize(
    ("onset", "level", "tier", "urgent"),
    [
        ("new", R, Tier.MEDICAL_REVIEW, True),
        ("worse", R, Tier.MEDICAL_REVIEW, True),
        (None, R, Tier.MEDICAL_REVIEW, True),  # missing onset counts as new
        ("whenever", R, Tier.MEDICAL_REVIEW, True),  # unreadable onset counts as new
        ("stable", N, Tier.CLEAR, False),
    ],
)
def test_one_leg_weakening_follows_onset(answer, onset, level, tier, urgent):
    answers = adult(one_leg_weakening=answer)
    if onset is not None:
        answers["one_leg_weakening_onset"] = onset

    result = screen(answers, TODAY)

    assert result.tier is tier
    assert flags_of(result) == [("progressive_weakness_one_leg", level)]
    assert result.flags[0].urgent is urgent
    assert result.urgent is urgent


def test_screening_is_urgent_only_for_an_urgent_review():
    emergency = screen(adult(bladder_start="yes"), TODAY)
    review = screen(adult(cancer_history="yes", night_pain="yes", worsening_month="yes"), TODAY)
    both = screen(adult(cancer_history="yes", one_leg_weakening="yes"), TODAY)

    assert emergency.flags[0].urgent is True  # as stored since 2026-11
    assert emergency.urgent is False  # an emergency is not a review: it never reaches the queue
    assert review.urgent is False
    assert both.urgent is True


@pytest.mark.parametrize("answer", ["yes", "not_sure", "Y"])
def test_long_morning_stiffness_is_a_note_that_never_holds_a_booking(answer):
    result = screen(adult(morning_stiffness_long=answer), TODAY)

    assert result.tier is Tier.CLEAR
    assert flags_of(result) == [("inflammatory_morning_stiffness", N)]
    assert result.no_needling is False


def test_long_morning_stiffness_is_no_context_flag():
    result = screen(adult(morning_stiffness_long="yes", night_pain="yes"), TODAY)

    assert result.tier is Tier.CLEAR
    assert flags_of(result) == [("inflammatory_morning_stiffness", N), ("night_pain", N)]


# --- Context flags ---------------------------------------------------------------------------

SIMPLE_CONTEXT = ["recent_infection", "injected_drugs", "night_pain", "worsening_month"]


def test_context_rules_are_the_pages_five():
    assert CONTEXT_RULES == {
        "recent_infection": "recent_infection",
        "injected_drugs": "injected_drugs",
        "first_episode": "first_episode_age",
        "night_pain": "night_pain",
        "worsening_month": "worsening_month",
    }


@pytest.mark.parametrize("qid", SIMPLE_CONTEXT)
@pytest.mark.parametrize("answer", ["yes", "not_sure", "Y", ["yes"]])
def test_one_context_flag_alone_is_a_note(qid, answer):
    result = screen(adult(**{qid: answer}), TODAY)

    assert result.tier is Tier.CLEAR
    assert flags_of(result) == [(qid, N)]
    assert result.flags[0].question_ids == (qid,)


@pytest.mark.parametrize("qid", SIMPLE_CONTEXT)
@pytest.mark.parametrize("answer", READ_AS_NO)
def test_a_context_flag_answered_no_raises_nothing(qid, answer):
    assert screen(adult(**{qid: answer}), TODAY).flags == ()


@pytest.mark.parametrize(
    ("first", "second"),
    [(a, b) for i, a in enumerate(SIMPLE_CONTEXT) for b in SIMPLE_CONTEXT[i + 1 :]],
)
def test_two_context_flags_raise_a_cluster_review(first, second):
    result = screen(adult(**{first: "yes", second: "not_sure"}), TODAY)

    assert result.tier is Tier.MEDICAL_REVIEW
    assert flags_of(result) == [("context_cluster", R), (first, N), (second, N)]
    cluster = result.flags[0]
    assert cluster.question_ids == (first, second)
    assert cluster.urgent is False
    assert cluster.no_needling is False
    assert cluster.summary == (
        f"Two or more context flags together: {RULES_BY_ID[first].summary}; "
        f"{RULES_BY_ID[second].summary} (patient not sure)"
    )


def test_every_context_flag_at_once_makes_one_cluster_behind_all_their_questions():
    answers = {
        "date_of_birth": AGE_50_BIRTHDAY_TODAY,
        "first_episode": "yes",
        **{qid: "yes" for qid in SIMPLE_CONTEXT},
    }

    result = screen(answers, TODAY)

    assert result.tier is Tier.MEDICAL_REVIEW
    assert flags_of(result) == [
        ("context_cluster", R),
        ("recent_infection", N),
        ("injected_drugs", N),
        ("first_episode_age", N),
        ("night_pain", N),
        ("worsening_month", N),
    ]
    assert result.flags[0].question_ids == (
        "recent_infection",
        "injected_drugs",
        "first_episode",
        "date_of_birth",
        "night_pain",
        "worsening_month",
    )


def test_first_episode_by_age_counts_towards_the_cluster():
    answers = {"date_of_birth": AGE_19_BIRTHDAY_TOMORROW, "first_episode": "yes"}

    alone = screen(answers, TODAY)
    with_night_pain = screen({**answers, "night_pain": "yes"}, TODAY)

    assert (alone.tier, flags_of(alone)) == (Tier.CLEAR, [("first_episode_age", N)])
    assert with_night_pain.tier is Tier.MEDICAL_REVIEW
    assert flags_of(with_night_pain) == [
        ("context_cluster", R),
        ("first_episode_age", N),
        ("night_pain", N),
    ]
    assert with_night_pain.flags[0].question_ids == ("first_episode", "date_of_birth", "night_pain")


def test_first_episode_between_20_and_49_is_no_context_flag():
    answers = adult(first_episode="yes", night_pain="yes")

    result = screen(answers, TODAY)

    assert result.tier is Tier.CLEAR
    assert flags_of(result) == [("night_pain", N)]


def test_a_review_single_flag_does_not_count_towards_the_cluster():
    result = screen(adult(night_pain="yes", fever_now="yes", morning_stiffness_long="yes"), TODAY)

    assert flags_of(result) == [
        ("fever", R),
        ("inflammatory_morning_stiffness", N),
        ("night_pain", N),
    ]


# --- Age -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dob", "age"),
    [
        (AGE_20_BIRTHDAY_TODAY, 20),
        (AGE_19_BIRTHDAY_TOMORROW, 19),
        (AGE_50_BIRTHDAY_TODAY, 50),
        (AGE_49_BIRTHDAY_TOMORROW, 49),
        ("2026-11-21", 0),
        ("1931-01-01", 95),
        (" 1976-11-21 ", 50),
        ("1976-11-21T23:30:00", 50),
    ],
)
def test_age_is_taken_on_the_day_screened(dob, age):
    assert age_on(dob, TODAY) == age
    day = date.fromisoformat(dob.strip()[:10])
    assert age_on(day, TODAY) == age
    assert age_on(datetime.combine(day, datetime.min.time()), TODAY) == age


@pytest.mark.parametrize(
    "today",
    [
        datetime(2026, 11, 21, 0, 0),
        datetime(2026, 11, 21, 23, 59, tzinfo=UTC),
        datetime(2026, 11, 21, 23, 59, tzinfo=timezone(timedelta(hours=-5))),
    ],
)
def test_today_may_be_a_datetime_whose_date_is_used(today):
    assert age_on(AGE_50_BIRTHDAY_TODAY, today) == 50
    assert age_on(AGE_49_BIRTHDAY_TOMORROW, today) == 49
    assert age_on(datetime(1976, 11, 21, 23, 59), today) == 50
    assert age_on("2026-11-21", today) == 0


def test_screen_takes_datetimes_for_today_and_date_of_birth():
    answers = {"date_of_birth": datetime(1976, 11, 21, 18, 0), "first_episode": "yes"}

    for today in (datetime(2026, 11, 21, 8, 0, tzinfo=UTC), TODAY):
        result = screen(answers, today)
        assert flags_of(result) == [("first_episode_age", N)]
        assert result.flags[0].summary == "First episode of back pain under 20 or from 50 (age 50)"
    younger = screen({**answers, "date_of_birth": datetime(1976, 11, 22, 0, 1)}, TODAY)
    assert younger.flags == ()


@pytest.mark.parametrize(
    ("today", "age"),
    [
        (date(2027, 2, 28), 18),
        (date(2027, 3, 1), 19),
        (date(2028, 2, 28), 19),
        (date(2028, 2, 29), 20),
        (datetime(2027, 2, 28, 23, 59), 18),
    ],
)
def test_leap_day_birthday_counts_from_the_first_of_march_in_other_years(today, age):
    assert age_on("2008-02-29", today) == age
    assert age_on(date(2008, 2, 29), today) == age


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 2, 28), []),  # still 49 on the last day of February
        (date(2026, 3, 1), [("first_episode_age", N)]),  # 50 from 1 March
        (date(2024, 2, 29), []),  # 48 on the day itself in a leap year
    ],
)
def test_leap_day_birthday_decides_the_age_rule(today, expected):
    result = screen({"date_of_birth": "1976-02-29", "first_episode": "yes"}, today)

    assert flags_of(result) == expected


@pytest.mark.parametrize(
    "dob",
    [None, "", "not a date", "2026-11-22", "21/11/1970", "1970-02-30", 1970, ["1970-01-01"]],
)
def test_missing_future_or_unreadable_date_of_birth_gives_no_age(dob):
    assert age_on(dob, TODAY) is None


FIRST = "First episode of back pain under 20 or from 50"
REPEAT = "Repeat episode of back pain, age 50 or over"


@pytest.mark.parametrize(
    ("dob", "first_episode", "expected", "summary"),
    [
        (AGE_19_BIRTHDAY_TOMORROW, "yes", "first_episode_age", f"{FIRST} (age 19)"),
        (AGE_20_BIRTHDAY_TODAY, "yes", None, None),
        (AGE_49_BIRTHDAY_TOMORROW, "yes", None, None),
        (AGE_50_BIRTHDAY_TODAY, "yes", "first_episode_age", f"{FIRST} (age 50)"),
        (
            AGE_50_BIRTHDAY_TODAY,
            "not_sure",
            "first_episode_age",
            f"{FIRST} (age 50; patient not sure)",
        ),
        (
            AGE_19_BIRTHDAY_TOMORROW,
            "not_sure",
            "first_episode_age",
            f"{FIRST} (age 19; patient not sure)",
        ),
        (
            AGE_50_BIRTHDAY_TODAY,
            "Y",
            "first_episode_age",
            f"{FIRST} (age 50; answer unclear, counted as yes)",
        ),
        (AGE_50_BIRTHDAY_TODAY, "no", "repeat_episode_over_50", f"{REPEAT} (age 50)"),
        (AGE_50_BIRTHDAY_TODAY, None, "repeat_episode_over_50", f"{REPEAT} (age 50)"),
        (AGE_49_BIRTHDAY_TOMORROW, "no", None, None),
        (AGE_19_BIRTHDAY_TOMORROW, "no", None, None),
        (AGE_20_BIRTHDAY_TODAY, "no", None, None),
    ],
)
def test_first_episode_and_age(dob, first_episode, expected, summary):
    answers = {"date_of_birth": dob, "first_episode": first_episode}

    result = screen(answers, TODAY)

    assert result.tier is Tier.CLEAR  # alone, each is a note
    assert flags_of(result) == ([(expected, N)] if expected else [])
    if expected:
        flag = result.flags[0]
        assert flag.question_ids == ("first_episode", "date_of_birth")
        assert flag.summary == summary


@pytest.mark.parametrize("dob", [None, "unknown", "2030-01-01", "2026-11-22", 19760101])
def test_unknown_age_counts_as_qualifying(dob):
    first = screen({"date_of_birth": dob, "first_episode": "yes"}, TODAY)
    repeat = screen({"date_of_birth": dob, "first_episode": "no"}, TODAY)
    cluster = screen({"date_of_birth": dob, "first_episode": "yes", "night_pain": "yes"}, TODAY)

    assert (first.tier, flags_of(first)) == (Tier.CLEAR, [("first_episode_age", N)])
    assert first.flags[0].summary == "First episode of back pain under 20 or from 50 (age unknown)"
    assert first.flags[0].question_ids == ("first_episode", "date_of_birth")
    assert (repeat.tier, flags_of(repeat)) == (Tier.CLEAR, [("repeat_episode_over_50", N)])
    assert repeat.flags[0].summary == "Repeat episode of back pain, age 50 or over (age unknown)"
    assert cluster.tier is Tier.MEDICAL_REVIEW
    assert flags_of(cluster) == [
        ("context_cluster", R),
        ("first_episode_age", N),
        ("night_pain", N),
    ]


def test_no_date_of_birth_key_at_all_is_an_unknown_age():
    result = screen({"first_episode": "yes"}, TODAY)

    assert flags_of(result) == [("first_episode_age", N)]


# --- A recent emergency ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (adult(), [("recent_emergency", R)]),
        (adult(night_pain="yes"), [("recent_emergency", R), ("night_pain", N)]),
        (adult(needle_fear="yes"), [("recent_emergency", R), ("needle_fear", P)]),
        (
            adult(bladder_start="yes", bladder_start_onset="new"),
            [("cauda_equina_bladder_start", E), ("recent_emergency", R)],
        ),
    ],
)
def test_a_recent_emergency_is_reviewed_whatever_the_answers(answers, expected):
    result = screen(answers, TODAY, recent_emergency=True)

    assert flags_of(result) == expected
    assert result.tier is max((level.tier for _, level in expected), key=lambda t: t.rank)
    flag = flag_for(result, "recent_emergency")
    assert flag.question_ids == ()
    assert flag.urgent is False
    assert flag.summary == (
        "Emergency screening in the last 14 days, or an emergency call-back not yet made"
    )


def test_recent_emergency_defaults_to_none_and_is_keyword_only():
    assert screen(adult(), TODAY).flags == ()
    assert screen(adult(), TODAY, recent_emergency=False).flags == ()
    with pytest.raises(TypeError):
        screen(adult(), TODAY, True)  # type: ignore[misc]


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
@pytest.mark.parametrize("answer", ["yes", "not_sure", " YES", "Y", 1, ["yes"], True])
def test_each_precaution_raises_precaution_with_its_needling_effect(qid, rule, answer):
    rule_id, _ = rule
    answers = adult(**{qid: answer, "pregnancy_weeks": 20})

    result = screen(answers, TODAY)

    assert result.tier is Tier.PRECAUTION
    assert flags_of(result) == [(rule_id, P)]
    assert result.flags[0].no_needling is (rule_id in NO_NEEDLING_RULES)
    assert result.no_needling is (rule_id in NO_NEEDLING_RULES)


@pytest.mark.parametrize("qid", PRECAUTION_ONLY)
@pytest.mark.parametrize("answer", READ_AS_NO)
def test_precaution_answered_no_is_clear(qid, answer):
    result = screen(adult(**{qid: answer}), TODAY)

    assert result.tier is Tier.CLEAR
    assert result.no_needling is False


def test_not_sure_and_unclear_answers_are_noted_in_the_summary():
    not_sure = screen(adult(needle_fear="not_sure"), TODAY)
    unclear = screen(adult(needle_fear="Y"), TODAY)

    assert not_sure.no_needling is True and unclear.no_needling is True
    assert not_sure.flags[0].summary == (
        "Very afraid of needles: offer care without needles (patient not sure)"
    )
    assert unclear.flags[0].summary == (
        "Very afraid of needles: offer care without needles (answer unclear, counted as yes)"
    )


@pytest.mark.parametrize(
    ("disorder", "severe", "expected", "no_needling"),
    [
        ("yes", "yes", [("bleeding_disorder", P), ("bleeding_disorder_severe", P)], True),
        ("yes", "no", [("bleeding_disorder", P)], False),
        ("yes", None, [("bleeding_disorder", P)], False),
        ("no", "yes", [("bleeding_disorder_severe", P)], True),
        (None, "yes", [("bleeding_disorder_severe", P)], True),
        (None, " Yes ", [("bleeding_disorder_severe", P)], True),
    ],
)
def test_severe_bleeding_disorder_counts_on_its_own(disorder, severe, expected, no_needling):
    answers = adult(bleeding_disorder=disorder, bleeding_disorder_severe=severe)

    result = screen(answers, TODAY)

    assert result.tier is Tier.PRECAUTION
    assert flags_of(result) == expected
    assert result.no_needling is no_needling


@pytest.mark.parametrize(
    ("weeks", "known"),
    [
        (0, 0),
        (9, 9),
        (12, 12),
        (13, 13),
        (30, 30),
        (45, 45),
        (46, None),
        (9.5, None),
        (12.0, 12),
        (-1, None),
        ("ten", None),
        ("12", 12),
        (" 13 ", 13),
        ("13.0", None),
        ("-1", None),
        ("", None),
        (None, None),
        (True, None),
        ([13], None),
    ],
)
def test_pregnancy_weeks_are_a_whole_number_from_0_to_45(weeks, known):
    assert pregnancy_weeks(weeks) == known


@pytest.mark.parametrize(
    ("weeks", "first_trimester", "words"),
    [
        (0, True, "0 weeks"),
        (9, True, "9 weeks"),
        (12, True, "12 weeks"),
        (13, False, None),
        (45, False, None),
        (46, True, "weeks unknown"),
        (9.5, True, "weeks unknown"),
        (-1, True, "weeks unknown"),
        ("ten", True, "weeks unknown"),
        ("12", True, "12 weeks"),
        ("13", False, None),
        (None, True, "weeks unknown"),
    ],
)
def test_pregnancy_first_trimester_flag(weeks, first_trimester, words):
    answers = adult(pregnant="yes", pregnancy_weeks=weeks)

    result = screen(answers, TODAY)

    assert result.tier is Tier.PRECAUTION
    assert result.no_needling is False
    expected = [("pregnancy", P)]
    if first_trimester:
        expected.append(("pregnancy_first_trimester", P))
        flag = result.flags[1]
        assert flag.summary == f"Pregnancy in the first trimester (or weeks unknown) ({words})"
        given = () if weeks is None else ("pregnancy_weeks",)
        assert flag.question_ids == ("pregnant", *given)
    assert flags_of(result) == expected


def test_pregnancy_weeks_without_pregnancy_raise_nothing():
    assert screen(adult(pregnant="no", pregnancy_weeks=8), TODAY).flags == ()


def test_needling_and_precautions_are_worked_out_in_an_emergency_too():
    answers = adult(
        needle_fear="yes",
        diabetes="yes",
        pregnant="yes",
        fever_now="yes",
        saddle_numbness="yes",
        saddle_numbness_onset="worse",
    )

    result = screen(answers, TODAY)

    assert result.tier is Tier.EMERGENCY
    assert result.no_needling is True
    assert flags_of(result) == [
        ("cauda_equina_saddle_numbness", E),
        ("fever", R),
        ("pregnancy", P),
        ("pregnancy_first_trimester", P),
        ("needle_fear", P),
        ("diabetes", P),
    ]


# --- Combinations, tiers and defaults --------------------------------------------------------


def test_no_needling_is_kept_alongside_review():
    result = screen(adult(cancer_history="yes", lymphedema="yes"), TODAY)

    assert result.tier is Tier.MEDICAL_REVIEW
    assert result.no_needling is True
    assert flags_of(result) == [("cancer_history", R), ("lymphedema", P)]


def test_precaution_outranks_a_note():
    result = screen(adult(morning_stiffness_long="yes", metal_allergy="yes"), TODAY)

    assert result.tier is Tier.PRECAUTION
    assert flags_of(result) == [("metal_allergy", P), ("inflammatory_morning_stiffness", N)]


def test_empty_answers_of_a_known_adult_are_clear():
    assert screen(adult(), TODAY) == Screening(Tier.CLEAR, (), False, RULESET_VERSION)


def test_empty_answers_without_an_age_note_the_unknown_age_only():
    result = screen({}, TODAY)

    assert result.tier is Tier.CLEAR
    assert flags_of(result) == [("repeat_episode_over_50", N)]


def test_unknown_question_ids_are_ignored_and_ids_are_not_normalised():
    result = screen(adult(favourite_colour="yes", tumour_elsewhere="yes", Fever_Now="yes"), TODAY)

    assert result.tier is Tier.CLEAR
    assert result.flags == ()


def test_onset_is_described_in_the_summary():
    result = screen(adult(bladder_start="yes", bladder_start_onset="new"), TODAY)

    assert result.flags[0].summary == (
        "Bladder: difficulty starting or controlling urine stream (new in the last 2 weeks)"
    )


def test_tier_ranks_put_emergency_highest_and_clear_lowest():
    ordered = sorted(Tier, key=lambda tier: tier.rank)

    assert ordered == [Tier.CLEAR, Tier.PRECAUTION, Tier.MEDICAL_REVIEW, Tier.EMERGENCY]


@pytest.mark.parametrize(
    ("level", "tier"),
    [(E, Tier.EMERGENCY), (R, Tier.MEDICAL_REVIEW), (P, Tier.PRECAUTION), (N, Tier.CLEAR)],
)
def test_each_level_raises_its_tier(level, tier):
    assert level.tier is tier


def test_tier_values_are_the_stored_strings():
    assert [tier.value for tier in Tier] == ["emergency", "medical_review", "precaution", "clear"]
    assert Tier("medical_review") is Tier.MEDICAL_REVIEW


# --- The emergency rules alone ---------------------------------------------------------------


def test_emergency_screen_returns_the_emergency():
    answers = adult(
        bladder_start="yes",
        bladder_start_onset="new",
        sexual_function="yes",
        both_legs="yes",
        both_legs_onset="stable",
        needle_fear="yes",  # not an emergency rule: not run
        fever_now="yes",
    )

    result = emergency_screen(answers, TODAY)

    assert result is not None
    assert result.tier is Tier.EMERGENCY
    assert flags_of(result) == [
        ("cauda_equina_bladder_start", E),
        ("cauda_equina_sexual_function", E),
        ("cauda_equina_both_legs", R),
    ]
    assert result.no_needling is False
    assert result.ruleset_version == RULESET_VERSION
    emergency_rules = {*CAUDA_EQUINA_RULES.values(), "cauda_equina_sexual_function"}
    full = screen(answers, TODAY)
    assert list(result.flags) == [f for f in full.flags if f.rule_id in emergency_rules]


@pytest.mark.parametrize(
    "answers",
    [
        {},
        adult(),
        adult(bladder_start="yes", bladder_start_onset="stable"),
        adult(sexual_function="yes", sexual_function_onset="new"),
        adult(one_leg_weakening="yes", one_leg_weakening_onset="new"),
        adult(fever_now="yes", night_pain="yes", worsening_month="yes", needle_fear="yes"),
    ],
)
def test_emergency_screen_is_none_without_an_emergency(answers):
    assert emergency_screen(answers, TODAY) is None


@pytest.mark.parametrize("value", ["Y", "unsure", 1, ["yes"]])
def test_emergency_screen_fails_safe_too(value):
    result = emergency_screen({"bowel_control": value}, datetime(2026, 11, 21, 9, 0))

    assert result is not None
    assert flags_of(result) == [("cauda_equina_bowel_control", E)]


# --- Worked examples A-I ---------------------------------------------------------------------


def dob_for_age(age: int) -> str:
    return date(TODAY.year - age, 6, 1).isoformat()  # June 1st: birthday already passed


@pytest.mark.parametrize(
    ("answers", "tier", "no_needling", "expected"),
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
            [("cauda_equina_bladder_start", E), ("cauda_equina_saddle_numbness", E)],
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
            [("progressive_weakness_one_leg", R)],
            id="C-one-leg-weakening",
        ),
        pytest.param(
            {"date_of_birth": dob_for_age(29), "pregnant": "yes", "pregnancy_weeks": 9},
            Tier.PRECAUTION,
            False,
            [("pregnancy", P), ("pregnancy_first_trimester", P)],
            id="D-first-trimester",
        ),
        pytest.param(
            {"date_of_birth": dob_for_age(33), "needle_fear": "yes", "fainted_needles": "yes"},
            Tier.PRECAUTION,
            True,
            [("needle_fear", P), ("fainted_needles", P)],
            id="E-needle-fear",
        ),
        pytest.param(
            {"date_of_birth": dob_for_age(58), "first_episode": "yes"},
            Tier.CLEAR,
            False,
            [("first_episode_age", N)],
            id="F-first-episode-at-58",
        ),
        pytest.param(
            {"date_of_birth": dob_for_age(58), "first_episode": "yes", "night_pain": "yes"},
            Tier.MEDICAL_REVIEW,
            False,
            [("context_cluster", R), ("first_episode_age", N), ("night_pain", N)],
            id="G-context-cluster",
        ),
        pytest.param(
            {"date_of_birth": dob_for_age(40), "bowel_control": "Y"},
            Tier.EMERGENCY,
            False,
            [("cauda_equina_bowel_control", E)],
            id="H-malformed-yes",
        ),
        pytest.param(
            {"first_episode": "yes", "worsening_month": "yes"},
            Tier.MEDICAL_REVIEW,
            False,
            [("context_cluster", R), ("first_episode_age", N), ("worsening_month", N)],
            id="I-no-date-of-birth",
        ),
    ],
)
def test_worked_examples(answers, tier, no_needling, expected):
    result = screen(answers, TODAY)

    assert result.tier is tier
    assert result.no_needling is no_needling
    assert flags_of(result) == expected


def test_worked_example_c_is_urgent():
    answers = {
        "date_of_birth": dob_for_age(38),
        "one_leg_weakening": "yes",
        "one_leg_weakening_onset": "worse",
    }

    result = screen(answers, TODAY)

    assert result.flags[0].urgent is True
    assert result.urgent is True


def test_worked_example_i_cluster_is_behind_the_missing_date_of_birth():
    result = screen({"first_episode": "yes", "worsening_month": "yes"}, TODAY)

    assert result.flags[0].question_ids == ("first_episode", "date_of_birth", "worsening_month")
    assert result.flags[0].summary == (
        "Two or more context flags together: First episode of back pain under 20 or from 50 "
        "(age unknown); Pain worsening for over a month despite treatment"
    )


# --- Storage ---------------------------------------------------------------------------------


def test_to_dict_from_dict_round_trip_through_json():
    answers = adult(
        bladder_start="not_sure",
        fever_now="yes",
        lymphedema="yes",
        morning_stiffness_long="yes",
        one_leg_weakening="yes",
    )
    result = screen(answers, TODAY)

    stored = json.loads(json.dumps(result.to_dict()))

    assert Screening.from_dict(stored) == result
    assert Screening.from_dict(stored).urgent is True
    assert stored["tier"] == "emergency"
    assert stored["ruleset_version"] == "2026-12.1"
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
    assert {"rule_id": "progressive_weakness_one_leg", "urgent": True}.items() <= (
        stored["flags"][2].items()
    )
    assert "urgent" not in stored  # derived from the flags, never stored twice


# A result as rule set 2026-11.1 stored it: night pain alone and a first episode at 58 held the
# booking for review then; 2026-12.1 would read the same answers as notes plus a cluster.
STORED_2026_11 = {
    "tier": "medical_review",
    "flags": [
        {
            "rule_id": "recent_infection",
            "level": "review",
            "question_ids": ["recent_infection"],
            "no_needling": False,
            "urgent": False,
            "summary": "Recent infection treated with antibiotics, or deep wound",
        },
        {
            "rule_id": "first_episode_age",
            "level": "review",
            "question_ids": ["first_episode", "date_of_birth"],
            "no_needling": False,
            "urgent": False,
            "summary": "First episode of back pain under 20 or from 50 (age 58)",
        },
        {
            "rule_id": "night_pain",
            "level": "review",
            "question_ids": ["night_pain"],
            "no_needling": False,
            "urgent": False,
            "summary": "Night pain not eased by position or lying down (patient not sure)",
        },
        {
            "rule_id": "progressive_weakness_one_leg",
            "level": "review",
            "question_ids": ["one_leg_weakening", "one_leg_weakening_onset"],
            "no_needling": False,
            "urgent": True,
            "summary": "One leg or foot getting weaker (getting worse)",
        },
        {
            "rule_id": "needle_fear",
            "level": "precaution",
            "question_ids": ["needle_fear"],
            "no_needling": True,
            "urgent": False,
            "summary": "Very afraid of needles: offer care without needles",
        },
    ],
    "no_needling": True,
    "ruleset_version": "2026-11.1",
}


def test_a_result_stored_under_2026_11_loads_exactly_as_it_was():
    stored = json.loads(json.dumps(STORED_2026_11))

    loaded = Screening.from_dict(stored)

    assert loaded.to_dict() == STORED_2026_11
    assert loaded.ruleset_version == "2026-11.1"
    assert loaded.tier is Tier.MEDICAL_REVIEW
    assert loaded.no_needling is True
    assert loaded.urgent is True
    assert flags_of(loaded) == [
        ("recent_infection", R),
        ("first_episode_age", R),
        ("night_pain", R),
        ("progressive_weakness_one_leg", R),
        ("needle_fear", P),
    ]


def test_old_rule_ids_are_explained_as_their_rule_set_read_them():
    for flag in STORED_2026_11["flags"]:
        then = rule_for(flag["rule_id"], "2026-11.1")
        assert then is not None
        assert Level(flag["level"]) in then.levels
    assert rule_for("night_pain", "2026-11.1").fires_when == "night_pain yes: REVIEW"
    assert rule_for("night_pain").fires_when == "night_pain yes: NOTE (context flag)"
    assert rule_for("night_pain", "2026-12.1") is RULES_BY_ID["night_pain"]
    assert rule_for("needle_fear", "2026-11.1") is RULES_BY_ID["needle_fear"]
    assert rule_for("no_such_rule", "2026-11.1") is None
    assert {rule.rule_id for rule in RULES_2026_11_CHANGED} <= set(RULES_BY_ID)


def test_an_older_stored_flag_without_urgent_or_summary_still_loads():
    stored = {
        "tier": "clear",
        "flags": [{"rule_id": "night_pain", "level": "note", "question_ids": ["night_pain"]}],
        "no_needling": False,
        "ruleset_version": "2025-01.0",
    }

    loaded = Screening.from_dict(stored)

    assert loaded.ruleset_version == "2025-01.0"
    assert loaded.flags == (Flag("night_pain", N, ("night_pain",)),)


# --- The rule set as a whole -----------------------------------------------------------------


def test_rule_ids_are_unique_snake_case_with_levels_and_questions():
    ids = [rule.rule_id for rule in RULES]

    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", rule_id) for rule_id in ids)
    assert all(rule.summary and rule.fires_when and rule.levels for rule in RULES)
    # Only recent_emergency stands on no answer: the service passes it in.
    assert [rule.rule_id for rule in RULES if not rule.question_ids] == ["recent_emergency"]
    for rule in RULES:
        ranks = [level.tier.rank for level in rule.levels]
        assert ranks == sorted(ranks, reverse=True), rule.rule_id


def test_the_rule_table_as_the_page_fixes_it():
    table = {rule.rule_id: rule.levels for rule in RULES}

    assert table == {
        **{rule_id: (E, R) for rule_id in CAUDA_EQUINA_RULES.values()},
        "cauda_equina_sexual_function": (E, R),
        "recent_emergency": (R,),
        "fever": (R,),
        "immune_suppressed": (R,),
        "cancer_history": (R,),
        "unexplained_weight_loss": (R,),
        "major_trauma": (R,),
        "new_injury": (R,),
        "fragility_fracture": (R,),
        "progressive_weakness_one_leg": (R, N),
        "inflammatory_morning_stiffness": (N,),
        "recent_infection": (N,),
        "injected_drugs": (N,),
        "first_episode_age": (N,),
        "night_pain": (N,),
        "worsening_month": (N,),
        "context_cluster": (R,),
        "repeat_episode_over_50": (N,),
        "pregnancy_first_trimester": (P,),
        **{rule_id: (P,) for rule_id, _ in PRECAUTION_RULES.values()},
    }


def everything_answered_yes() -> dict:
    steps = (*questionnaire.FIRST_VISIT_STEPS, *questionnaire.CHECK_IN_STEPS)
    answers = {question.id: "yes" for question in questionnaire.all_questions(steps)}
    return answers | {"date_of_birth": AGE_50_BIRTHDAY_TODAY, "pregnancy_weeks": 8}


def test_every_documented_rule_can_fire_and_every_flag_is_documented():
    repeat_episode = {"date_of_birth": AGE_50_BIRTHDAY_TODAY, "first_episode": "no"}

    fired = set(rule_ids(screen(everything_answered_yes(), TODAY, recent_emergency=True)))
    fired |= set(rule_ids(screen(repeat_episode, TODAY)))

    assert fired == set(RULES_BY_ID)


@pytest.mark.parametrize(
    "answers",
    [
        everything_answered_yes(),
        {**everything_answered_yes(), **{f"{qid}_onset": "stable" for qid in CAUDA_EQUINA_RULES}},
        {"one_leg_weakening": "yes", "one_leg_weakening_onset": "stable", "first_episode": "no"},
        {"first_episode": "yes", "night_pain": "Y", "pregnant": 1, "pregnancy_weeks": "x"},
    ],
)
def test_every_flag_raised_is_one_its_rule_documents(answers):
    for flag in screen(answers, TODAY, recent_emergency=True).flags:
        rule = RULES_BY_ID[flag.rule_id]
        assert flag.level in rule.levels, flag.rule_id
        assert set(flag.question_ids) <= set(rule.question_ids), flag.rule_id


def test_screened_questions_exist_in_the_questionnaire_at_the_same_level():
    def level_of(qid: str) -> str | None:
        return questionnaire.question_by_id(qid).level

    assert {level_of(qid) for qid in CAUDA_EQUINA_RULES} == {"emergency"}
    assert level_of("sexual_function") == "emergency"
    assert {level_of(qid) for qid in SINGLE_REVIEW_RULES} == {"review"}
    assert {level_of(qid) for qid in CONTEXT_RULES} == {"review"}
    review_extras = (
        "fall_or_lift_onset",
        "osteoporosis_or_steroids",
        "one_leg_weakening",
        "morning_stiffness_long",
    )
    assert {level_of(qid) for qid in review_extras} == {"review"}
    assert {level_of(qid) for qid in PRECAUTION_ONLY} == {"precaution"}
    assert level_of("pregnancy_weeks") == "precaution"
    every_question_id = {qid for rule in RULES for qid in rule.question_ids} - {"date_of_birth"}
    for qid in every_question_id:
        questionnaire.question_by_id(qid)  # KeyError if a rule names a question nobody asks

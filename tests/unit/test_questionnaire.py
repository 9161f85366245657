"""The questionnaire as data: steps, questions, visibility rules and form cleaning."""

from __future__ import annotations

from datetime import date

import pytest

from booking.intake.questionnaire import (
    CHECK_IN_STEPS,
    EMERGENCY_STEP_IDS,
    FIRST_VISIT_STEPS,
    QUESTIONNAIRE_VERSION,
    Choice,
    Question,
    Step,
    all_questions,
    clean_answers,
    is_shown,
    question_by_id,
)
from booking.intake.screening import Tier, emergency_screen, screen

EMERGENCY_IDS = [
    "bladder_start",
    "bladder_leak",
    "bowel_control",
    "saddle_numbness",
    "both_legs",
    "legs_weakening",
    "sexual_function",
]
REVIEW_IDS = [
    "fever_now",
    "recent_infection",
    "injected_drugs",
    "immune_suppressed",
    "cancer_history",
    "weight_loss",
    "major_trauma",
    "fall_or_lift_onset",
    "osteoporosis_or_steroids",
    "first_episode",
    "night_pain",
    "worsening_month",
    "one_leg_weakening",
    "morning_stiffness_long",
]
PRECAUTION_IDS = [
    "blood_thinners",
    "bleeding_disorder",
    "pregnant",
    "needle_fear",
    "fainted_needles",
    "lymphedema",
    "metal_allergy",
    "implanted_device",
    "diabetes",
    "epilepsy",
    "skin_problem_at_site",
    "proxy_consent",
    "heart_valve",
    "recent_surgery",
]
RED_FLAG_IDS = EMERGENCY_IDS + REVIEW_IDS
ONSET_PARENTS = [*EMERGENCY_IDS, "one_leg_weakening"]
# Asked at the first visit only: history does not change between visits.
HISTORY_IDS = [
    "recent_infection",
    "injected_drugs",
    "immune_suppressed",
    "cancer_history",
    "major_trauma",
    "fall_or_lift_onset",
    "osteoporosis_or_steroids",
    "first_episode",
    "night_pain",
    "worsening_month",
    "morning_stiffness_long",
]


def step(steps, step_id):
    (found,) = [s for s in steps if s.id == step_id]
    return found


def ids(questions) -> list[str]:
    return [question.id for question in questions]


def complete_form(**overrides: str | list[str]) -> dict[str, str | list[str]]:
    """A first-visit form as a browser posts it, every required question answered "no"."""
    form: dict[str, str | list[str]] = {
        "pain_areas": ["low_back_left"],
        "duration": "under_6_weeks",
        "pain_now": "5",
        "pain_worst_week": "7",
        "pain_average_week": "4",
        "bad_days_week": "3",
    }
    form |= {qid: "no" for qid in RED_FLAG_IDS + PRECAUTION_IDS}
    form |= overrides
    return form


# --- Structure -------------------------------------------------------------------------------


def test_version():
    assert QUESTIONNAIRE_VERSION == "2026-12.1"


def test_first_visit_steps_in_order():
    assert [s.id for s in FIRST_VISIT_STEPS] == ["pain", "safety", "health", "needling", "function"]
    assert all(s.title and s.intro and s.questions for s in FIRST_VISIT_STEPS)


def test_question_ids_are_unique_across_the_first_visit():
    questions = [q for s in FIRST_VISIT_STEPS for q in s.questions]

    assert len(ids(questions)) == len(set(ids(questions)))


def test_pain_step():
    pain = step(FIRST_VISIT_STEPS, "pain")

    assert ids(pain.questions) == [
        "pain_areas",
        "duration",
        "pattern",
        "pain_now",
        "pain_worst_week",
        "pain_average_week",
        "bad_days_week",
        "relief_days_week",
        "flare_recovery_days",
    ]


def test_pain_area_duration_and_pattern_choices():
    assert question_by_id("pain_areas").choice_values == (
        "low_back_left",
        "low_back_right",
        "low_back_center",
        "buttock_left",
        "buttock_right",
        "thigh_left",
        "thigh_right",
        "below_knee_left",
        "below_knee_right",
        "groin",
        "upper_back",
        "neck",
    )
    assert question_by_id("duration").choice_values == (
        "under_6_weeks",
        "6_to_12_weeks",
        "over_3_months",
        "over_1_year",
    )
    assert question_by_id("pattern").choice_values == (
        "morning_stiffness_eases",
        "end_of_day_tightness",
        "worse_sitting",
        "worse_standing",
        "worse_bending",
        "buttock_after_sitting",
        "side_bending",
    )
    assert question_by_id("pain_areas").kind == "multi_choice"
    assert question_by_id("pattern").kind == "multi_choice"
    assert question_by_id("duration").kind == "single_choice"
    # Labels are plain words, never the stored value.
    for qid in ("pain_areas", "duration", "pattern"):
        for choice in question_by_id(qid).choices:
            assert choice.label and "_" not in choice.label


@pytest.mark.parametrize(
    ("qid", "low", "high"),
    [
        ("pain_now", 0, 10),
        ("pain_worst_week", 0, 10),
        ("pain_average_week", 0, 10),
        ("bad_days_week", 0, 7),
        ("relief_days_week", 0, 7),
        ("flare_recovery_days", 0, 60),
        ("activity_1_score", 0, 10),
        ("activity_2_score", 0, 10),
        ("activity_3_score", 0, 10),
    ],
)
def test_number_ranges(qid, low, high):
    question = question_by_id(qid)

    assert question.kind == "integer"
    assert (question.min, question.max) == (low, high)


def with_onsets(qids: list[str]) -> list[str]:
    return [q for qid in qids for q in ([qid, f"{qid}_onset"] if qid in ONSET_PARENTS else [qid])]


def test_safety_step_holds_the_emergency_questions_alone_first_among_health_steps():
    safety = step(FIRST_VISIT_STEPS, "safety")

    assert ids(safety.questions) == with_onsets(EMERGENCY_IDS)
    assert safety.safety is True
    assert FIRST_VISIT_STEPS.index(safety) == 1  # right after "About your pain"
    assert safety.title == "Checking your safety"


def test_health_step_has_every_review_question_with_the_one_leg_onset():
    health = step(FIRST_VISIT_STEPS, "health")

    assert ids(health.questions) == with_onsets(REVIEW_IDS)
    assert health.safety is False
    assert {q.level for q in health.questions} == {"review"}


@pytest.mark.parametrize("steps", [FIRST_VISIT_STEPS, CHECK_IN_STEPS], ids=["first", "check_in"])
def test_each_flow_has_one_emergency_step_holding_every_emergency_question(steps):
    (marked,) = [s for s in steps if s.safety]
    holding = [s for s in steps if {q.level for q in s.questions} & {"emergency"}]

    assert holding == [marked]
    assert {q.level for q in marked.questions} == {"emergency"}
    assert ids(marked.questions) == with_onsets(EMERGENCY_IDS)
    assert marked.id in EMERGENCY_STEP_IDS


def test_emergency_step_ids():
    assert {"safety"} == EMERGENCY_STEP_IDS
    for steps in (FIRST_VISIT_STEPS, CHECK_IN_STEPS):
        assert [s.id for s in steps if s.id in EMERGENCY_STEP_IDS] == [
            s.id for s in steps if s.safety
        ]


def test_the_emergency_step_alone_is_enough_for_the_emergency_rules():
    form = {qid: "no" for qid in EMERGENCY_IDS} | {
        "bladder_start": "yes",
        "bladder_start_onset": "new",
    }
    answers, errors = clean_answers([step(FIRST_VISIT_STEPS, "safety")], form)

    result = emergency_screen(answers, date(2026, 11, 21))

    assert errors == {}
    assert result is not None and result.tier is Tier.EMERGENCY
    calm, _ = clean_answers([step(FIRST_VISIT_STEPS, "safety")], {q: "no" for q in EMERGENCY_IDS})
    assert emergency_screen(calm, date(2026, 11, 21)) is None


@pytest.mark.parametrize("qid", RED_FLAG_IDS)
def test_red_flags_are_required_yes_no_unsure(qid):
    question = question_by_id(qid)

    assert question.kind == "yes_no_unsure"
    assert question.required is True
    assert question.choices == (
        Choice("yes", "Yes"),
        Choice("no", "No"),
        Choice("not_sure", "Not sure"),
    )
    assert question.level == ("emergency" if qid in EMERGENCY_IDS else "review")


@pytest.mark.parametrize("parent", ONSET_PARENTS)
def test_onset_follow_up(parent):
    onset = question_by_id(f"{parent}_onset")

    assert onset.kind == "onset"
    assert onset.follow_up_of == parent
    assert set(onset.shown_when) == {"yes", "not_sure"}
    assert onset.required is True
    assert onset.level == question_by_id(parent).level
    assert onset.choices == (
        Choice("new", "New in the last 2 weeks"),
        Choice("worse", "Getting worse"),
        Choice("stable", "Longer than 2 weeks and not changing"),
    )


def test_red_flag_wording_follows_the_spec():
    assert question_by_id("bladder_start").text == (
        "Is it newly hard to start peeing, or is your stream weak or hard to control?"
    )
    assert question_by_id("cancer_history").text == "Have you ever had cancer?"
    assert question_by_id("needle_fear").text == "Are you very afraid of needles?"
    assert question_by_id("recent_infection").text == (
        "In the last 3 months, have you had an infection treated with antibiotics, or a deep wound?"
    )


def test_new_injury_is_a_check_in_red_flag():
    question = question_by_id("new_injury")

    assert question.text == "Have you had a fall, accident or hard hit since your last visit?"
    assert (question.kind, question.required, question.level) == ("yes_no_unsure", True, "review")
    assert "new_injury" in ids(all_questions(CHECK_IN_STEPS))
    assert "new_injury" not in ids(all_questions(FIRST_VISIT_STEPS))


def test_needling_step():
    needling = step(FIRST_VISIT_STEPS, "needling")
    expected = list(PRECAUTION_IDS)
    expected.insert(expected.index("bleeding_disorder") + 1, "bleeding_disorder_severe")
    expected.insert(expected.index("pregnant") + 1, "pregnancy_weeks")

    assert ids(needling.questions) == expected
    assert {q.level for q in needling.questions} == {"precaution"}


def test_needling_follow_ups():
    severe = question_by_id("bleeding_disorder_severe")
    weeks = question_by_id("pregnancy_weeks")

    assert (severe.follow_up_of, severe.shown_when) == ("bleeding_disorder", ("yes",))
    assert (weeks.follow_up_of, weeks.shown_when) == ("pregnant", ("yes",))
    assert weeks.kind == "integer"
    assert weeks.required is False  # unknown weeks is a valid answer


def test_function_step():
    function = step(FIRST_VISIT_STEPS, "function")

    assert ids(function.questions) == [
        "activity_1",
        "activity_1_score",
        "activity_2",
        "activity_2_score",
        "activity_3",
        "activity_3_score",
        "goals",
    ]
    assert not any(q.required for q in function.questions)


def test_date_of_birth_is_collected_with_contact_details_not_here():
    assert "date_of_birth" not in ids(all_questions(FIRST_VISIT_STEPS))


def test_check_in_steps():
    assert [(s.id, s.safety) for s in CHECK_IN_STEPS] == [
        ("progress", False),
        ("safety", True),
        ("changes", False),
    ]
    progress, safety, changes = CHECK_IN_STEPS
    assert ids(progress.questions) == [
        "pain_now",
        "bad_days_week",
        "relief_days_week",
        "activity_1_score",
        "activity_2_score",
        "activity_3_score",
    ]
    assert ids(safety.questions) == with_onsets(EMERGENCY_IDS)
    assert ids(changes.questions) == [
        "fever_now",
        "weight_loss",
        "one_leg_weakening",
        "one_leg_weakening_onset",
        "new_injury",
        "pregnant",
        "pregnancy_weeks",
        "blood_thinners",
        "recent_surgery",
        "skin_problem_at_site",
    ]


def test_check_in_says_since_your_last_visit():
    for check_in_step in CHECK_IN_STEPS:
        words = f"{check_in_step.title} {check_in_step.intro}".lower()
        assert "since your last visit" in words, check_in_step.id


def test_check_in_asks_no_history_question():
    check_in = set(ids(all_questions(CHECK_IN_STEPS)))

    assert not check_in & set(HISTORY_IDS)
    assert not check_in & {"pain_areas", "duration", "pattern", "goals", "activity_1"}
    changeable = {"pregnant", "pregnancy_weeks", "blood_thinners", "recent_surgery"}
    assert check_in & set(PRECAUTION_IDS + ["pregnancy_weeks"]) == changeable | {
        "skin_problem_at_site"
    }


def test_check_in_reuses_the_same_question_objects():
    check_in = all_questions(CHECK_IN_STEPS)

    for question in check_in:
        assert question is question_by_id(question.id)
    first_visit = {q.id: q for q in all_questions(FIRST_VISIT_STEPS)}
    assert all(first_visit[q.id] is q for q in check_in if q.id != "new_injury")
    assert len({q.id for q in check_in}) == len(check_in)


def test_all_questions_lists_each_id_once_in_order():
    doubled = all_questions((*FIRST_VISIT_STEPS, *FIRST_VISIT_STEPS))

    assert doubled == all_questions(FIRST_VISIT_STEPS)
    assert doubled[0].id == "pain_areas"


def test_question_by_id_unknown_raises():
    with pytest.raises(KeyError):
        question_by_id("favourite_colour")


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "checkbox"},
        {"kind": "single_choice"},  # no choices
        {"kind": "yes_no", "follow_up_of": "pregnant"},  # no shown_when
        {"kind": "yes_no", "level": "urgent"},
    ],
)
def test_question_definitions_are_checked(bad):
    with pytest.raises(ValueError):
        Question("q", "A question?", **bad)


# --- Visibility ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parent_answer", "shown"),
    [("yes", True), ("not_sure", True), ("no", False), (None, False)],
)
def test_onset_shown_only_after_yes_or_not_sure(parent_answer, shown):
    answers = {} if parent_answer is None else {"bowel_control": parent_answer}

    assert is_shown(question_by_id("bowel_control_onset"), answers) is shown


@pytest.mark.parametrize(
    ("follow_up", "parent"),
    [("pregnancy_weeks", "pregnant"), ("bleeding_disorder_severe", "bleeding_disorder")],
)
@pytest.mark.parametrize(("parent_answer", "shown"), [("yes", True), ("no", False)])
def test_needling_follow_ups_shown_only_after_yes(follow_up, parent, parent_answer, shown):
    assert is_shown(question_by_id(follow_up), {parent: parent_answer}) is shown


def test_top_level_questions_are_always_shown():
    assert is_shown(question_by_id("pain_now"), {})
    assert is_shown(question_by_id("bladder_start"), {"bladder_start": "no"})


# --- Cleaning form values --------------------------------------------------------------------


def test_complete_form_is_cleaned_into_typed_answers():
    form = complete_form(
        pain_areas=["neck", "low_back_left", "neck"],
        pattern=["worse_sitting"],
        relief_days_week=" 2 ",
        activity_1="gardening",
        activity_1_score="4",
        goals="  Walk the dog again ",
        pregnant="yes",
        pregnancy_weeks="9",
    )

    answers, errors = clean_answers(FIRST_VISIT_STEPS, form)

    assert errors == {}
    assert answers["pain_now"] == 5
    assert answers["relief_days_week"] == 2
    assert answers["activity_1_score"] == 4
    assert answers["pregnancy_weeks"] == 9
    assert answers["pain_areas"] == ["low_back_left", "neck"]  # choice order, no repeats
    assert answers["pattern"] == ["worse_sitting"]
    assert answers["goals"] == "Walk the dog again"
    assert answers["bladder_start"] == "no"
    assert "flare_recovery_days" not in answers  # optional and blank: left out
    assert "activity_2" not in answers


@pytest.mark.parametrize("value", ["0", "10"])
def test_pain_range_edges_are_accepted(value):
    answers, errors = clean_answers(FIRST_VISIT_STEPS, complete_form(pain_now=value))

    assert errors == {}
    assert answers["pain_now"] == int(value)


@pytest.mark.parametrize("value", ["-1", "11", "5.5", "five", "1e1", "", "  "])
def test_pain_outside_range_or_not_a_whole_number_is_an_error(value):
    answers, errors = clean_answers(FIRST_VISIT_STEPS, complete_form(pain_now=value))

    assert errors == {"pain_now": "Choose a number from 0 to 10."}
    assert "pain_now" not in answers


@pytest.mark.parametrize(("value", "ok"), [("7", True), ("8", False), ("0", True)])
def test_bad_days_range(value, ok):
    _, errors = clean_answers(FIRST_VISIT_STEPS, complete_form(bad_days_week=value))

    assert (errors == {}) is ok
    if not ok:
        assert errors == {"bad_days_week": "Choose a number from 0 to 7."}


@pytest.mark.parametrize("qid", RED_FLAG_IDS + PRECAUTION_IDS)
def test_every_screening_question_must_be_answered(qid):
    form = complete_form()
    del form[qid]

    answers, errors = clean_answers(FIRST_VISIT_STEPS, form)

    assert errors == {qid: "Please choose an answer."}
    assert qid not in answers


def test_an_answer_outside_the_choices_is_an_error():
    _, errors = clean_answers(FIRST_VISIT_STEPS, complete_form(fever_now="maybe"))

    assert errors == {"fever_now": "Choose one of the answers shown."}


@pytest.mark.parametrize("answer", ["yes", "not_sure"])
def test_onset_is_required_once_shown(answer):
    answers, errors = clean_answers(FIRST_VISIT_STEPS, complete_form(saddle_numbness=answer))

    assert errors == {"saddle_numbness_onset": "Please choose an answer."}
    assert answers["saddle_numbness"] == answer


def test_hidden_follow_ups_are_dropped_without_error():
    form = complete_form(
        bladder_start="no",
        bladder_start_onset="new",
        pregnant="no",
        pregnancy_weeks="abc",
        bleeding_disorder="no",
        bleeding_disorder_severe="yes",
    )

    answers, errors = clean_answers(FIRST_VISIT_STEPS, form)

    assert errors == {}
    for hidden in ("bladder_start_onset", "pregnancy_weeks", "bleeding_disorder_severe"):
        assert hidden not in answers


def test_shown_follow_ups_are_kept():
    form = complete_form(
        one_leg_weakening="yes",
        one_leg_weakening_onset="stable",
        bleeding_disorder="yes",
        bleeding_disorder_severe="no",
    )

    answers, errors = clean_answers(FIRST_VISIT_STEPS, form)

    assert errors == {}
    assert answers["one_leg_weakening_onset"] == "stable"
    assert answers["bleeding_disorder_severe"] == "no"


def test_severity_must_be_answered_after_a_bleeding_disorder():
    _, errors = clean_answers(FIRST_VISIT_STEPS, complete_form(bleeding_disorder="yes"))

    assert errors == {"bleeding_disorder_severe": "Please choose an answer."}


def test_pregnancy_weeks_may_be_left_blank_but_not_out_of_range():
    blank, blank_errors = clean_answers(FIRST_VISIT_STEPS, complete_form(pregnant="yes"))
    wrong, wrong_errors = clean_answers(
        FIRST_VISIT_STEPS, complete_form(pregnant="yes", pregnancy_weeks="60")
    )

    assert blank_errors == {}
    assert "pregnancy_weeks" not in blank
    assert wrong_errors == {"pregnancy_weeks": "Choose a number from 0 to 45."}


def test_unknown_keys_are_ignored():
    form = complete_form(csrf_token="abc", favourite_colour="blue", date_of_birth="1970-01-01")

    answers, errors = clean_answers(FIRST_VISIT_STEPS, form)

    assert errors == {}
    assert not {"csrf_token", "favourite_colour", "date_of_birth"} & set(answers)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ([], "Choose at least one."),
        (["", " "], "Choose at least one."),
        (["low_back_left", "kneecap"], "Choose from the options shown."),
    ],
)
def test_pain_areas_errors(value, error):
    _, errors = clean_answers(FIRST_VISIT_STEPS, complete_form(pain_areas=value))

    assert errors == {"pain_areas": error}


def test_a_single_string_is_accepted_for_multi_choice():
    answers, errors = clean_answers(FIRST_VISIT_STEPS, complete_form(pain_areas="groin"))

    assert errors == {}
    assert answers["pain_areas"] == ["groin"]


def test_list_values_from_a_flat_false_form_are_unwrapped():
    form = {
        key: value if isinstance(value, list) else [value] for key, value in complete_form().items()
    }

    answers, errors = clean_answers(FIRST_VISIT_STEPS, form)

    assert errors == {}
    assert answers["pain_now"] == 5
    assert answers["fever_now"] == "no"


def test_two_values_for_a_single_answer_is_an_error():
    _, errors = clean_answers(FIRST_VISIT_STEPS, complete_form(fever_now=["yes", "no"]))

    assert errors == {"fever_now": "Choose only one answer."}


def test_long_text_is_an_error():
    _, errors = clean_answers(FIRST_VISIT_STEPS, complete_form(activity_1="x" * 201))

    assert errors == {"activity_1": "Please keep this under 200 characters."}


def test_empty_form_lists_every_required_question():
    _, errors = clean_answers(FIRST_VISIT_STEPS, {})

    questions = all_questions(FIRST_VISIT_STEPS)
    required = {q.id for q in questions if q.required and q.follow_up_of is None}
    assert set(errors) == required
    assert errors["pain_now"] == "Choose a number from 0 to 10."
    assert errors["pain_areas"] == "Choose at least one."


def test_date_questions_are_normalised_to_iso():
    birth = Question("date_of_birth", "Date of birth", "date", required=True)
    steps = (Step("contact", "Contact", "", (birth,)),)

    good, good_errors = clean_answers(steps, {"date_of_birth": " 1970-04-25 "})
    _, bad_errors = clean_answers(steps, {"date_of_birth": "25/04/1970"})

    assert good_errors == {}
    assert good == {"date_of_birth": date(1970, 4, 25).isoformat()}
    assert bad_errors == {"date_of_birth": "Enter a date like 1980-04-25 (year, month, day)."}


CHECK_IN_YES_NO = [
    *EMERGENCY_IDS,
    "fever_now",
    "weight_loss",
    "one_leg_weakening",
    "new_injury",
    "pregnant",
    "blood_thinners",
    "recent_surgery",
    "skin_problem_at_site",
]


def test_check_in_form_is_cleaned_with_only_its_questions():
    form = {"pain_now": "3", "bad_days_week": "1", "activity_2_score": "6"}
    form |= {qid: "no" for qid in RED_FLAG_IDS + PRECAUTION_IDS + CHECK_IN_YES_NO}
    form |= {"pregnant": "yes", "pregnancy_weeks": "20"}

    answers, errors = clean_answers(CHECK_IN_STEPS, form)

    assert errors == {}
    assert answers["pain_now"] == 3
    assert answers["activity_2_score"] == 6
    assert (answers["pregnant"], answers["pregnancy_weeks"]) == ("yes", 20)
    assert set(answers) == {
        "pain_now",
        "bad_days_week",
        "activity_2_score",
        "pregnancy_weeks",
        *CHECK_IN_YES_NO,
    }


def test_empty_check_in_lists_its_required_questions():
    _, errors = clean_answers(CHECK_IN_STEPS, {})

    assert set(errors) == {"pain_now", "bad_days_week", *CHECK_IN_YES_NO}


def test_a_check_in_with_a_new_injury_is_reviewed():
    form = {"pain_now": "3", "bad_days_week": "1"} | {qid: "no" for qid in CHECK_IN_YES_NO}
    answers, errors = clean_answers(CHECK_IN_STEPS, form | {"new_injury": "not_sure"})

    result = screen({**answers, "date_of_birth": "1980-01-01"}, date(2026, 11, 21))

    assert errors == {}
    assert result.tier is Tier.MEDICAL_REVIEW
    assert [(f.rule_id, f.level.value) for f in result.flags] == [("new_injury", "review")]


def test_cleaned_answers_feed_screening():
    form = complete_form(
        bladder_start="not_sure",
        bladder_start_onset="worse",
        needle_fear="yes",
    )
    answers, errors = clean_answers(FIRST_VISIT_STEPS, form)

    result = screen({**answers, "date_of_birth": "1980-01-01"}, date(2026, 11, 21))

    assert errors == {}
    assert result.tier is Tier.EMERGENCY
    assert result.no_needling is True

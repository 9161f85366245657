"""Approved flags do not hold the visit again unless new or worse: `apply_approvals`, pure."""

from __future__ import annotations

from datetime import date

import pytest

from booking.intake.approvals import (
    LASTING_RULES,
    NEVER_LOWERED,
    ONSET_QUESTIONS,
    Approval,
    apply_approvals,
)
from booking.intake.screening import RULES_BY_ID, Level, Screening, Tier, screen

TODAY = date(2026, 11, 21)
APPROVED_ON = date(2026, 10, 2)
ADULT = {"date_of_birth": "1980-05-17"}  # 46: no age rule applies


def screened(answers, **kwargs) -> Screening:
    return screen({**ADULT, **answers}, TODAY, **kwargs)


def approved(rule_id: str, answers=None, on: date = APPROVED_ON) -> Approval:
    return Approval(rule_id, on, {**ADULT, **(answers or {})})


def levels(screening: Screening) -> dict[str, Level]:
    return {flag.rule_id: flag.level for flag in screening.flags}


def flag(screening: Screening, rule_id: str):
    (found,) = [f for f in screening.flags if f.rule_id == rule_id]
    return found


BOTH_LEGS_STABLE = {"both_legs": "yes", "both_legs_onset": "stable"}


def test_approved_and_stable_is_a_note_and_the_visit_is_not_held():
    answers = {**ADULT, **BOTH_LEGS_STABLE}
    before = screen(answers, TODAY)
    assert before.tier is Tier.MEDICAL_REVIEW

    after = apply_approvals(before, answers, [approved("cauda_equina_both_legs")])

    assert after.tier is Tier.CLEAR
    lowered = flag(after, "cauda_equina_both_legs")
    assert lowered.level is Level.NOTE
    assert lowered.summary == (
        "Bilateral leg pain, numbness or weakness (stable for over 2 weeks); "
        "approved before (October 2, 2026), unchanged"
    )
    assert lowered.question_ids == ("both_legs", "both_legs_onset")  # still shown, with why
    assert after.ruleset_version == before.ruleset_version
    assert after.urgent is False


@pytest.mark.parametrize("onset", ["new", "worse"])
def test_approved_but_new_or_worse_is_not_lowered(onset):
    # Sexual function alone is a review whatever its onset: new or worse stays a review.
    answers = {**ADULT, "sexual_function": "yes", "sexual_function_onset": onset}
    before = screen(answers, TODAY)

    after = apply_approvals(before, answers, [approved("cauda_equina_sexual_function")])

    assert after == before
    assert after.tier is Tier.MEDICAL_REVIEW


@pytest.mark.parametrize("onset", [None, "", "sometimes"])
def test_a_missing_or_unreadable_onset_counts_as_new(onset):
    answers = {**ADULT, "sexual_function": "yes"}
    if onset is not None:
        answers["sexual_function_onset"] = onset
    before = screen(answers, TODAY)

    after = apply_approvals(before, answers, [approved("cauda_equina_sexual_function")])

    assert levels(after)["cauda_equina_sexual_function"] is Level.REVIEW


def test_an_onset_read_like_screening_reads_it():
    answers = {**ADULT, "sexual_function": "yes", "sexual_function_onset": " Stable "}
    after = apply_approvals(
        screen(answers, TODAY), answers, [approved("cauda_equina_sexual_function")]
    )
    assert after.tier is Tier.CLEAR


def test_not_approved_stays_a_review():
    answers = {**ADULT, **BOTH_LEGS_STABLE}
    before = screen(answers, TODAY)

    after = apply_approvals(before, answers, [approved("cauda_equina_bladder_start")])

    assert after == before
    assert apply_approvals(before, answers, []) == before


def test_an_emergency_is_never_lowered():
    answers = {**ADULT, "both_legs": "yes", "both_legs_onset": "worse"}
    before = screen(answers, TODAY)
    assert before.tier is Tier.EMERGENCY

    after = apply_approvals(before, answers, [approved("cauda_equina_both_legs")])

    assert after.tier is Tier.EMERGENCY
    assert levels(after)["cauda_equina_both_legs"] is Level.EMERGENCY


def test_an_urgent_review_is_never_lowered():
    answers = {**ADULT, "one_leg_weakening": "yes", "one_leg_weakening_onset": "worse"}
    before = screen(answers, TODAY)
    assert before.urgent

    after = apply_approvals(before, answers, [approved("progressive_weakness_one_leg")])

    assert after == before
    assert after.urgent and after.tier is Tier.MEDICAL_REVIEW


def test_a_recent_emergency_is_never_lowered():
    before = screened({}, recent_emergency=True)

    after = apply_approvals(before, ADULT, [approved("recent_emergency")])

    assert after == before


@pytest.mark.parametrize(
    ("rule_id", "qid"),
    [
        ("new_injury", "new_injury"),
        ("fever", "fever_now"),
        ("unexplained_weight_loss", "weight_loss"),
    ],
)
def test_what_is_new_since_the_last_visit_is_never_lowered(rule_id, qid):
    # Asked at check-in as "since your last visit", with no onset: a yes is new by its wording.
    answers = {**ADULT, qid: "yes"}
    before = screen(answers, TODAY)

    after = apply_approvals(before, answers, [approved(rule_id, {qid: "yes"})])

    assert after == before


def test_cancer_history_approved_then_yes_again_is_a_note():
    answers = {**ADULT, "cancer_history": "yes"}
    before = screen(answers, TODAY)

    approval = approved("cancer_history", {"cancer_history": "yes"})

    after = apply_approvals(before, answers, [approval])

    assert after.tier is Tier.CLEAR
    assert flag(after, "cancer_history").level is Level.NOTE
    assert flag(after, "cancer_history").summary.endswith(
        "; approved before (October 2, 2026), unchanged"
    )


def test_a_history_answer_that_changed_is_new():
    # Approved when the patient was not sure; now they say yes: a clinician looks again.
    answers = {**ADULT, "cancer_history": "yes"}
    before = screen(answers, TODAY)

    after = apply_approvals(
        before, answers, [approved("cancer_history", {"cancer_history": "not_sure"})]
    )

    assert after == before


def test_a_context_flag_joining_an_approved_cluster_is_new():
    was = {"night_pain": "yes", "worsening_month": "yes", "injected_drugs": "no"}
    same = {**ADULT, **was}
    grown = {**same, "injected_drugs": "yes"}
    approval = approved("context_cluster", was)

    assert apply_approvals(screen(same, TODAY), same, [approval]).tier is Tier.CLEAR
    assert apply_approvals(screen(grown, TODAY), grown, [approval]).tier is Tier.MEDICAL_REVIEW


def test_the_tier_is_worked_out_from_the_rest():
    answers = {
        **ADULT,
        **BOTH_LEGS_STABLE,
        "cancer_history": "yes",
        "blood_thinners": "yes",
        "needle_fear": "yes",
    }
    before = screen(answers, TODAY)
    both = [
        approved("cauda_equina_both_legs"),
        approved("cancer_history", {"cancer_history": "yes"}),
    ]

    only_legs = apply_approvals(before, answers, both[:1])
    after = apply_approvals(before, answers, both)

    assert only_legs.tier is Tier.MEDICAL_REVIEW  # cancer history was not approved
    assert after.tier is Tier.PRECAUTION
    assert after.no_needling is True  # needle fear still rules needling out
    # Most serious first: the precautions now come before the lowered flags.
    assert [f.level for f in after.flags] == sorted(
        (f.level for f in after.flags), key=lambda level: -level.tier.rank
    )
    assert levels(after)["cauda_equina_both_legs"] is Level.NOTE
    assert levels(after)["cancer_history"] is Level.NOTE


def test_the_newest_approval_of_a_rule_counts():
    answers = {**ADULT, "cancer_history": "yes"}
    older = approved("cancer_history", {"cancer_history": "yes"}, on=date(2026, 1, 5))
    newer = approved("cancer_history", {"cancer_history": "not_sure"}, on=date(2026, 9, 1))

    after = apply_approvals(screen(answers, TODAY), answers, [newer, older])

    assert after.tier is Tier.MEDICAL_REVIEW  # the newest saw "not sure": "yes" is new


def test_the_lowered_screening_is_stored_and_read_back_alike():
    answers = {**ADULT, **BOTH_LEGS_STABLE}
    after = apply_approvals(screen(answers, TODAY), answers, [approved("cauda_equina_both_legs")])
    assert Screening.from_dict(after.to_dict()) == after


def test_every_rule_named_is_a_review_rule():
    named = set(ONSET_QUESTIONS) | LASTING_RULES | NEVER_LOWERED
    assert named <= set(RULES_BY_ID)
    for rule_id in LASTING_RULES | NEVER_LOWERED:
        assert Level.REVIEW in RULES_BY_ID[rule_id].levels
    assert LASTING_RULES.isdisjoint(NEVER_LOWERED)

"""Flags a practitioner already approved for this patient: kept, but they do not hold the visit
again unless the answer is new or worse (clinical-screening.md, "Check-in before each
follow-up"). PURE: no Flask, no database; it imports only `screening` beside it and
`formatting`.

`screen()` stays as it is and raises every flag; `apply_approvals(screening, answers, approved)`
then reads the result against what was approved before:

- Who approved what is the service's business: `booking.intake.service._submission` asks the
  approval lookup that `create_app` registers (`booking.clinical.approvals.approved_flags`: a
  review decision "approved" on a booking, and the review-level flags of the intake behind that
  booking) and passes the `Approval`s in. This module never looks anything up.
- A flag is lowered to level `note` ("... approved before (<date>), unchanged") when its rule id
  was approved and its answer is not new or worse:
  - a rule with an onset question (the cauda equina questions at onset "stable", which are
    review rather than emergency, and `cauda_equina_sexual_function`): the onset now is
    "stable" (a missing or unreadable onset counts as new, as in screening);
  - a rule about the patient's history (`LASTING_RULES`: cancer, immunosuppression, how this
    episode started, the context cluster): every answer behind the flag now is the same as in
    the approved intake (after trimming and lower-casing), so a new context flag joining the
    cluster, or "not sure" becoming "yes", is new.
- Never lowered: an emergency flag; an urgent review (one leg getting weaker, new or worse);
  `recent_emergency` (a new emergency is not something an earlier approval saw); and the
  questions asked at check-in as "what is new since your last visit" with no onset to say
  otherwise (`new_injury`, `fever`, `unexplained_weight_loss`): a yes there is new by its
  wording. Any rule id not named here is never lowered either (failing safe).

The tier is then worked out again from the flags as they now stand; `no_needling`, the rule set
version and the flags' order (most serious first) follow the same rules as `screen()`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from booking.formatting import date_of_year
from booking.intake.screening import RULES, Flag, Level, Screening, Tier

# Rule id -> the onset question that says whether its answer is new, worse or stable.
ONSET_QUESTIONS: dict[str, str] = {
    rule.rule_id: qid
    for rule in RULES
    for qid in rule.question_ids
    if qid.endswith("_onset")
}
# Review rules about the patient's history: unchanged when every answer behind the flag is the
# same as in the approved intake.
LASTING_RULES: frozenset[str] = frozenset(
    {
        "cancer_history",
        "immune_suppressed",
        "major_trauma",
        "fragility_fracture",
        "context_cluster",
    }
)
# Never lowered, whatever was approved (named here so that a reader sees the choice).
NEVER_LOWERED: frozenset[str] = frozenset(
    {"recent_emergency", "new_injury", "fever", "unexplained_weight_loss"}
)
STABLE = "stable"


@dataclass(frozen=True)
class Approval:
    """A review-level flag a practitioner approved: on which (clinic) day, and the answers of
    the intake they approved it on (for rules whose answers must be the same now)."""

    rule_id: str
    approved_on: date
    answers: Mapping[str, Any] = field(default_factory=dict)


def apply_approvals(
    screening: Screening, answers: Mapping[str, Any], approved: Iterable[Approval]
) -> Screening:
    """`screening` with each review flag that was approved before and is unchanged now lowered
    to a note saying so, and the tier worked out again; unchanged when nothing applies.

    `answers` are the answers `screening` was made from. Of several approvals of one rule the
    newest counts.
    """
    newest: dict[str, Approval] = {}
    for approval in approved:
        known = newest.get(approval.rule_id)
        if known is None or approval.approved_on >= known.approved_on:
            newest[approval.rule_id] = approval
    if not newest:
        return screening
    flags = [_lowered(flag, answers, newest.get(flag.rule_id)) for flag in screening.flags]
    flags.sort(key=lambda flag: -flag.level.tier.rank)  # stable: the rule order stays
    tier = max((flag.level.tier for flag in flags), key=lambda t: t.rank, default=Tier.CLEAR)
    return replace(
        screening,
        tier=tier,
        flags=tuple(flags),
        no_needling=any(flag.no_needling for flag in flags),
    )


def is_unchanged(flag: Flag, answers: Mapping[str, Any], approval: Approval) -> bool:
    """Whether `flag`, raised now from `answers`, may rest on `approval`: a review that is not
    urgent, of a rule that may be carried, whose answer is not new or worse."""
    if flag.level is not Level.REVIEW or flag.urgent or flag.rule_id != approval.rule_id:
        return False
    if flag.rule_id in NEVER_LOWERED:
        return False
    onset_id = ONSET_QUESTIONS.get(flag.rule_id)
    if onset_id is not None:
        return _normal(answers.get(onset_id)) == STABLE
    if flag.rule_id in LASTING_RULES:
        return all(
            _normal(answers.get(qid)) == _normal(approval.answers.get(qid))
            for qid in flag.question_ids
        )
    return False


def approved_summary(flag: Flag, approval: Approval) -> str:
    """'History of cancer; approved before (November 23, 2026), unchanged'."""
    return f"{flag.summary}; approved before ({date_of_year(approval.approved_on)}), unchanged"


def _lowered(flag: Flag, answers: Mapping[str, Any], approval: Approval | None) -> Flag:
    if approval is None or not is_unchanged(flag, answers, approval):
        return flag
    return replace(flag, level=Level.NOTE, summary=approved_summary(flag, approval))


def _normal(value: Any) -> Any:
    """Answers compared as screening reads them: text trimmed and lower-cased; a missing answer
    and null alike."""
    return value.strip().lower() if isinstance(value, str) else value

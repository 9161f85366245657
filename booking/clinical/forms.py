"""Practitioners' forms: review decisions, needling clearance, visit outcomes, and the reason
for opening another practitioner's patient."""

from __future__ import annotations

from collections.abc import Sequence

from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from booking.clinical.access import REASON_MAX
from booking.clinical.models import MUSCLES, ReviewOutcome, VisitOutcome
from booking.clinical.outcomes import OutcomeEntry
from booking.clinical.summary import Activity
from booking.intake.questionnaire import ACTIVITY_COUNT
from booking.scheduling.series import EVERY_WEEKS, VISITS

NOTE_MAX = 2000
DECISIONS = [
    SelectChoice(ReviewOutcome.APPROVED.value, "Approve: confirm the booking"),
    SelectChoice(
        ReviewOutcome.DECLINED.value, "Decline: cancel and advise the patient to see their doctor"
    ),
    SelectChoice(ReviewOutcome.CALLED.value, "Called the patient: keep it in the queue"),
]
CLEARANCE_CHOICES = [
    SelectChoice("yes", "Cleared for needling"),
    SelectChoice("no", "Not cleared: no needling"),
]
MUSCLE_CHOICES = [SelectChoice(code, label) for code, label in MUSCLES]


def _whole(label: str, low: int, high: int, required: bool = True) -> IntegerField:
    message = f"Enter a whole number from {low} to {high}."
    return IntegerField(
        label,
        validators=[
            InputRequired(message) if required else Optional(),
            NumberRange(low, high, message),
        ],
        render_kw={"inputmode": "numeric", "min": low, "max": high},
    )


def _typed(field: IntegerField) -> bool:
    return any((value or "").strip() for value in field.raw_data or ())


class ReviewDecisionForm(FlaskForm):
    decision = RadioField(
        "Decision",
        choices=DECISIONS,
        validators=[InputRequired("Choose approve, decline or called the patient.")],
    )
    note = TextAreaField(
        "Note",
        validators=[
            DataRequired("Write a note: it explains the decision to your colleagues."),
            Length(max=NOTE_MAX),
        ],
        render_kw={"rows": 3},
    )

    @property
    def outcome(self) -> ReviewOutcome:
        return ReviewOutcome(self.decision.data)


class ClearanceForm(FlaskForm):
    cleared = RadioField(
        "Needling decision",
        choices=CLEARANCE_CHOICES,
        validators=[InputRequired("Choose cleared or not cleared.")],
    )
    note = TextAreaField(
        "Note",
        validators=[DataRequired("Write a note saying why."), Length(max=NOTE_MAX)],
        render_kw={"rows": 3},
    )


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class OutcomeForm(FlaskForm):
    pain_now = _whole("Pain now (0 to 10)", 0, 10)
    bad_days_week = _whole("Bad days in the last week (0 to 7)", 0, 7)
    relief_days_week = _whole(
        "Days needing short-term relief in the last week (0 to 7)", 0, 7, required=False
    )
    activity_1_score = _whole("Activity 1", 0, 10, required=False)
    activity_2_score = _whole("Activity 2", 0, 10, required=False)
    activity_3_score = _whole("Activity 3", 0, 10, required=False)
    muscles_treated = MultiCheckboxField("Muscles treated", choices=MUSCLE_CHOICES)
    muscles_other = StringField("Other muscles", validators=[Length(max=200)])
    response = TextAreaField(
        "Response to treatment", validators=[Length(max=NOTE_MAX)], render_kw={"rows": 3}
    )
    soreness = TextAreaField(
        "Soreness after treatment", validators=[Length(max=NOTE_MAX)], render_kw={"rows": 2}
    )
    plan = TextAreaField("Plan", validators=[Length(max=NOTE_MAX)], render_kw={"rows": 3})
    series_every_weeks = _whole("Every (weeks)", EVERY_WEEKS.start, EVERY_WEEKS[-1],
                                required=False)
    series_visits = _whole("Visits", VISITS.start, VISITS[-1], required=False)

    activities: Sequence[Activity] = ()  # set by use_activities: the patient's own activities

    def use_activities(self, activities: Sequence[Activity]) -> None:
        """Label the activity fields with the patient's own activities."""
        self.activities = tuple(activities)
        for activity in activities:
            self[activity.key].label.text = f"{activity.name} (0 unable to 10 as before)"

    def activity_fields(self):
        return [self[activity.key] for activity in self.activities]

    def validate_muscles_other(self, field: StringField) -> None:
        if "other" in (self.muscles_treated.data or []) and not (field.data or "").strip():
            raise ValidationError("Say which other muscles you treated.")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        return self._series_plan_whole() and valid

    def _series_plan_whole(self) -> bool:
        """How often and how many visits go together: the empty one of the two says so."""
        weeks, visits = self.series_every_weeks, self.series_visits
        if _typed(weeks) and not _typed(visits):
            visits.errors.append("Say how many visits, or leave how often empty too.")
            return False
        if _typed(visits) and not _typed(weeks):
            weeks.errors.append("Say how often, or leave the number of visits empty too.")
            return False
        return True

    def fill_from(self, outcome: VisitOutcome) -> None:
        """Show a stored outcome for correcting (on GET only)."""
        for name in ("pain_now", "bad_days_week", "relief_days_week", "muscles_other",
                     "response", "soreness", "plan", "series_every_weeks", "series_visits"):
            self[name].data = getattr(outcome, name)
        self.muscles_treated.data = list(outcome.muscles_treated or [])
        for n in range(1, ACTIVITY_COUNT + 1):
            key = f"activity_{n}_score"
            self[key].data = (outcome.activity_ratings or {}).get(key)

    def entry(self) -> OutcomeEntry:
        return OutcomeEntry(
            pain_now=self.pain_now.data,
            bad_days_week=self.bad_days_week.data,
            relief_days_week=self.relief_days_week.data,
            activity_ratings={
                activity.key: self[activity.key].data
                for activity in self.activities
                if self[activity.key].data is not None
            },
            muscles_treated=list(self.muscles_treated.data or []),
            muscles_other=(self.muscles_other.data or "").strip()
            if "other" in (self.muscles_treated.data or [])
            else "",
            response=(self.response.data or "").strip(),
            soreness=(self.soreness.data or "").strip(),
            plan=(self.plan.data or "").strip(),
            series_every_weeks=self.series_every_weeks.data,
            series_visits=self.series_visits.data,
        )


class PatientAccessForm(FlaskForm):
    """Why a practitioner opens another practitioner's patient (kept in the audit log)."""

    reason = StringField(
        "Why do you need this patient's answers?",
        description=f"For example, covering for a colleague. At most {REASON_MAX} characters.",
        render_kw={"maxlength": REASON_MAX},
        filters=[lambda value: value.strip() if value else value],
        validators=[
            DataRequired("Say why you need this patient's answers, e.g. covering for a colleague."),
            Length(max=REASON_MAX, message=f"Keep the reason under {REASON_MAX} characters."),
        ],
    )

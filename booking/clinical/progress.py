"""A patient's progress since their latest first-visit intake: the measures at the intake and at
each visit with an outcome, the change against the meaningful-change thresholds, the practical
trial's prompt to reassess, and the charts of it all. Viewing is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from booking.audit.service import record_view
from booking.clinical.charts import ChartView, SeriesData, chart_view
from booking.clinical.models import VisitOutcome
from booking.clinical.summary import Activity, activities_of
from booking.clinical.visits import (
    SERIES_STATUSES,
    as_series_visit,
    intakes_of,
    series_visits,
    visit_number,
)
from booking.extensions import db
from booking.intake.models import Intake
from booking.intake.scoring import (
    MEANINGFUL_FUNCTION_CHANGE,
    MEANINGFUL_PAIN_CHANGE,
    Change,
    function_change,
    function_score,
    function_score_from_answers,
    pain_change,
    trial_needs_reassessment,
)
from booking.patients.models import Patient
from booking.scheduling.models import Appointment


@dataclass(frozen=True)
class ProgressPoint:
    label: str  # "Intake" or "Visit 3"
    visit_number: int | None
    when: datetime
    pain: int | None
    bad_days: int | None
    relief_days: int | None
    activity_scores: tuple[int | None, ...]  # in the order of Progress.activities
    function: float | None
    appointment_id: int | None = None


@dataclass(frozen=True)
class Progress:
    patient: Patient
    baseline: Intake | None
    activities: tuple[Activity, ...]
    points: tuple[ProgressPoint, ...]  # the intake first, then visits with an outcome
    pain_change: Change | None
    function_change: Change | None
    bad_days_change: int | None  # positive: fewer bad days than at the intake
    latest_visit: int | None
    reassess: bool
    charts: tuple[ChartView, ...]
    meaningful_pain: int = MEANINGFUL_PAIN_CHANGE
    meaningful_function: int = MEANINGFUL_FUNCTION_CHANGE


def patient_progress(patient: Patient, now: datetime) -> Progress:
    """The series since the latest first-visit intake: points, change, trial prompt; audited."""
    record = intakes_of([patient.id])[patient.id]
    baseline = record.baseline()
    activities = activities_of(baseline.answers or {}) if baseline else ()
    points = _progress_points(patient, baseline, activities)
    record_view("progress_viewed", "patient", patient.id)
    first, latest = points[0] if points else None, points[-1] if points else None
    has_visit = latest is not None and latest.visit_number is not None
    return Progress(
        patient=patient,
        baseline=baseline,
        activities=activities,
        points=tuple(points),
        pain_change=pain_change(first.pain, latest.pain) if has_visit else None,
        function_change=_function_change(first, latest) if has_visit else None,
        bad_days_change=(
            first.bad_days - latest.bad_days
            if has_visit and first.bad_days is not None and latest.bad_days is not None
            else None
        ),
        latest_visit=latest.visit_number if has_visit else None,
        reassess=has_visit and baseline is not None and _needs_reassessment(first, latest),
        charts=_charts(points, activities),
    )


def _function_change(baseline: ProgressPoint, latest: ProgressPoint) -> Change | None:
    """Function change over the activities rated both at the intake and at the latest visit:
    a mean over different activities would show a change that is only a change of activities.
    """
    pairs = [
        (before, after)
        for before, after in zip(baseline.activity_scores, latest.activity_scores, strict=True)
        if before is not None and after is not None
    ]
    if not pairs:
        return None
    return function_change(
        function_score(before for before, _ in pairs), function_score(after for _, after in pairs)
    )


def _needs_reassessment(baseline: ProgressPoint, latest: ProgressPoint) -> bool:
    if None in (baseline.pain, latest.pain, baseline.bad_days, latest.bad_days):
        return False
    return trial_needs_reassessment(
        latest.visit_number, baseline.pain, latest.pain, baseline.bad_days, latest.bad_days
    )


# --- The points: the intake, then each visit with an outcome ----------------------------------


def _progress_points(
    patient: Patient, baseline: Intake | None, activities: Sequence[Activity]
) -> list[ProgressPoint]:
    points = [_intake_point(baseline, activities)] if baseline is not None else []
    series = series_visits([patient.id]).get(patient.id, [])
    outcomes = db.session.execute(
        select(VisitOutcome, Appointment)
        .join(Appointment, VisitOutcome.appointment_id == Appointment.id)
        .where(Appointment.patient_id == patient.id, Appointment.status.in_(SERIES_STATUSES))
        .order_by(Appointment.starts_at, Appointment.id)
    ).all()
    since = baseline.submitted_at if baseline is not None else None
    for outcome, appointment in outcomes:
        if since is not None and appointment.starts_at < since:
            continue  # an earlier series, before this intake
        number = visit_number(as_series_visit(appointment), series)
        points.append(_visit_point(outcome, appointment, number, activities))
    return points


def _intake_point(baseline: Intake, activities: Sequence[Activity]) -> ProgressPoint:
    answers = baseline.answers or {}
    return ProgressPoint(
        label="Intake",
        visit_number=None,
        when=baseline.submitted_at,
        pain=answers.get("pain_now"),
        bad_days=answers.get("bad_days_week"),
        relief_days=answers.get("relief_days_week"),
        activity_scores=tuple(a.score for a in activities),
        function=function_score_from_answers(answers),
    )


def _visit_point(
    outcome: VisitOutcome, appointment: Appointment, number: int, activities: Sequence[Activity]
) -> ProgressPoint:
    scores = tuple(outcome.activity_ratings.get(a.key) for a in activities)
    return ProgressPoint(
        label=f"Visit {number}",
        visit_number=number,
        when=appointment.starts_at,
        pain=outcome.pain_now,
        bad_days=outcome.bad_days_week,
        relief_days=outcome.relief_days_week,
        activity_scores=scores,
        function=function_score(scores),
        appointment_id=appointment.id,
    )


# --- The charts -------------------------------------------------------------------------------


def _charts(
    points: Sequence[ProgressPoint], activities: Sequence[Activity]
) -> tuple[ChartView, ...]:
    if not points:
        return ()
    labels = [point.label for point in points]
    views = [
        chart_view(
            "Pain",
            "Pain now, 0 (none) to 10 (worst imaginable)",
            labels,
            [SeriesData("Pain now", tuple(p.pain for p in points))],
            10,
            _pain_guide(points),
        ),
        chart_view(
            "Bad days and short-term relief",
            "Days in the last week, 0 to 7",
            labels,
            [
                SeriesData("Bad days", tuple(p.bad_days for p in points)),
                SeriesData("Days needing relief", tuple(p.relief_days for p in points)),
            ],
            7,
        ),
    ]
    if activities:
        views.append(
            chart_view(
                "Activities",
                "Each activity, 0 (unable) to 10 (as before the pain)",
                labels,
                [
                    SeriesData(activity.name, tuple(p.activity_scores[i] for p in points))
                    for i, activity in enumerate(activities)
                ],
                10,
            )
        )
    return tuple(views)


def _pain_guide(points: Sequence[ProgressPoint]) -> tuple[float, str] | None:
    """The meaningful fall from the intake's pain, when the series starts at an intake."""
    baseline_pain = points[0].pain if points[0].visit_number is None else None
    if baseline_pain is None:
        return None
    target = baseline_pain - MEANINGFUL_PAIN_CHANGE
    return (target, f"Meaningful fall from the intake: {target} or less")

"""A practitioner's work: visit lists with intake badges, the intake chart, decisions on held
bookings, needling clearance, visit outcomes and progress. Services flush; the request commits.

Every read of clinical detail and every decision is written to the audit log here, so that no
view can show a chart without leaving a trace. Audit details hold identifiers only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from booking.accounts.models import User
from booking.audit.service import record_audit
from booking.clinical import progress as charts
from booking.clinical.models import (
    NeedlingClearance,
    ReviewDecision,
    ReviewOutcome,
    VisitOutcome,
)
from booking.clinical.summary import (
    Activity,
    Badges,
    IntakeSummary,
    activities_of,
    badges_for,
    flag_lines,
    summarise,
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
from booking.intake.screening import Level, Screening
from booking.patients.models import Patient
from booking.scheduling.changes import cancel_appointment
from booking.scheduling.models import (
    Appointment,
    AppointmentStatus,
    Practitioner,
    Service,
    VisitKind,
)
from booking.scheduling.service import local_day_bounds
from booking.scheduling.signals import review_decided

# What a practitioner's day shows: everything booked, not holds in progress or cancellations.
LISTED_STATUSES = (
    AppointmentStatus.AWAITING_REVIEW,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.CHECKED_IN,
    AppointmentStatus.COMPLETED,
    AppointmentStatus.NO_SHOW,
)
# The visits that count in a patient's series (a visit number is a place among these).
SERIES_STATUSES = (
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.CHECKED_IN,
    AppointmentStatus.COMPLETED,
)
# Outcomes are recorded for visits that took place or are taking place.
OUTCOME_STATUSES = SERIES_STATUSES
REVIEW_DEADLINE = timedelta(hours=24)
DECLINE_REASON = "Declined after clinical review"
WEEK_DAYS = 7


class ClinicalError(Exception):
    """The action cannot be done as asked; the message is for the practitioner."""


class ReviewNotPending(ClinicalError):
    """The booking is no longer awaiting review (someone decided first, or it was cancelled)."""


# --- Whose visits -----------------------------------------------------------------------------


def practitioner_of(user: User) -> Practitioner | None:
    """The practitioner record of a signed-in user, if they have one."""
    return db.session.scalar(select(Practitioner).where(Practitioner.user_id == user.id))


@dataclass(frozen=True)
class PractitionerFilter:
    """The practitioner filter: everyone to choose from, and who is chosen (None: everyone)."""

    choices: tuple[Practitioner, ...]
    chosen: Practitioner | None
    own: Practitioner | None

    @property
    def ids(self) -> list[int] | None:
        """The chosen practitioner ids, or None for all."""
        return None if self.chosen is None else [self.chosen.id]

    @property
    def value(self) -> str:
        return "all" if self.chosen is None else str(self.chosen.id)


def practitioner_filter(user: User, requested: str | None) -> PractitionerFilter:
    """Own visits by default; "all" or another practitioner's id when asked (covering a colleague).

    Staff without a practitioner record (admins) see everyone by default.
    """
    choices = tuple(
        db.session.scalars(
            select(Practitioner).where(Practitioner.active).order_by(Practitioner.name)
        )
    )
    own = practitioner_of(user)
    if requested == "all":
        return PractitionerFilter(choices, None, own)
    if requested and requested.isdigit():
        chosen = db.session.get(Practitioner, int(requested))
        if chosen is not None:
            return PractitionerFilter(choices, chosen, own)
    return PractitionerFilter(choices, own, own)


# --- Visit numbers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesVisit:
    """What numbering needs of an appointment: its id, start, and whether it opens a series."""

    id: int
    starts_at: datetime
    opens_series: bool


def visit_number(target: SeriesVisit, visits: Iterable[SeriesVisit]) -> int:
    """The target's place in its series: 1 + the counted visits before it since the latest first
    visit at or before it. `visits` are the patient's counted visits (the target need not be
    one: an appointment awaiting review gets the number it will have).
    """
    earlier = sorted(
        (v for v in visits if (v.starts_at, v.id) < (target.starts_at, target.id)),
        key=lambda v: (v.starts_at, v.id),
    )
    if target.opens_series:
        return 1
    count = 0
    for visit in reversed(earlier):
        count += 1
        if visit.opens_series:
            break
    return count + 1


def _series_visits(patient_ids: Iterable[int]) -> dict[int, list[SeriesVisit]]:
    ids = set(patient_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Appointment.id, Appointment.patient_id, Appointment.starts_at, Service.kind)
        .join(Service, Appointment.service_id == Service.id)
        .where(Appointment.patient_id.in_(ids), Appointment.status.in_(SERIES_STATUSES))
        .order_by(Appointment.starts_at, Appointment.id)
    )
    found: dict[int, list[SeriesVisit]] = defaultdict(list)
    for appointment_id, patient_id, starts_at, kind in rows:
        found[patient_id].append(
            SeriesVisit(appointment_id, starts_at, kind == VisitKind.FIRST_VISIT)
        )
    return found


def _as_series_visit(appointment: Appointment) -> SeriesVisit:
    return SeriesVisit(
        appointment.id, appointment.starts_at, appointment.service.kind == VisitKind.FIRST_VISIT
    )


# --- Intakes around a visit -------------------------------------------------------------------


@dataclass
class PatientIntakes:
    """A patient's intakes (oldest first) and the clearances recorded on them."""

    intakes: list[Intake] = field(default_factory=list)
    clearances: list[NeedlingClearance] = field(default_factory=list)

    def own(self, appointment: Appointment) -> Intake | None:
        """The newest intake answered for this appointment."""
        mine = [i for i in self.intakes if i.appointment_id == appointment.id]
        return mine[-1] if mine else None

    def baseline(self, before: datetime | None = None) -> Intake | None:
        """The newest first-visit intake answered by `before` (else the newest of all)."""
        firsts = [i for i in self.intakes if i.kind == "first_visit"]
        if before is not None:
            earlier = [i for i in firsts if i.submitted_at <= before]
            if earlier:
                return earlier[-1]
        return firsts[-1] if firsts else None

    def badges(self, appointment: Appointment) -> Badges:
        return badges_for(
            self.own(appointment), self.baseline(appointment.starts_at), self.clearances
        )


def _intakes_of(patient_ids: Iterable[int]) -> dict[int, PatientIntakes]:
    ids = set(patient_ids)
    found: dict[int, PatientIntakes] = defaultdict(PatientIntakes)
    if not ids:
        return found
    intakes = db.session.scalars(
        select(Intake)
        .where(Intake.patient_id.in_(ids))
        .order_by(Intake.submitted_at, Intake.id)
    ).all()
    by_id = {intake.id: intake for intake in intakes}
    for intake in intakes:
        found[intake.patient_id].intakes.append(intake)
    if by_id:
        for clearance in db.session.scalars(
            select(NeedlingClearance).where(NeedlingClearance.intake_id.in_(by_id))
        ):
            found[by_id[clearance.intake_id].patient_id].clearances.append(clearance)
    return found


# --- Day and week lists -----------------------------------------------------------------------


@dataclass(frozen=True)
class VisitRow:
    appointment: Appointment
    visit_number: int | None
    is_first_visit: bool
    badges: Badges
    has_outcome: bool


@dataclass(frozen=True)
class DayOfVisits:
    day: date
    visits: tuple[VisitRow, ...]


def _load_appointments(conditions: Sequence, practitioner_ids: list[int] | None):
    query = (
        select(Appointment)
        .where(*conditions)
        .options(
            selectinload(Appointment.patient),
            selectinload(Appointment.service),
            selectinload(Appointment.practitioner),
        )
        .order_by(Appointment.starts_at, Appointment.id)
    )
    if practitioner_ids is not None:
        query = query.where(Appointment.practitioner_id.in_(practitioner_ids))
    return list(db.session.scalars(query))


def visit_rows(appointments: Sequence[Appointment]) -> list[VisitRow]:
    """Each appointment with its number in the series, visit kind and intake badges."""
    patient_ids = {a.patient_id for a in appointments if a.patient_id is not None}
    series = _series_visits(patient_ids)
    intakes = _intakes_of(patient_ids)
    with_outcome = set(
        db.session.scalars(
            select(VisitOutcome.appointment_id).where(
                VisitOutcome.appointment_id.in_([a.id for a in appointments])
            )
        )
    )
    rows = []
    for appointment in appointments:
        patient_id = appointment.patient_id
        rows.append(
            VisitRow(
                appointment=appointment,
                visit_number=(
                    visit_number(_as_series_visit(appointment), series.get(patient_id, []))
                    if patient_id is not None
                    else None
                ),
                is_first_visit=appointment.service.kind == VisitKind.FIRST_VISIT,
                badges=intakes[patient_id].badges(appointment)
                if patient_id is not None
                else Badges(None, "No patient", "", (), None),
                has_outcome=appointment.id in with_outcome,
            )
        )
    return rows


def visits_on_days(
    first_day: date, days: int, zone: ZoneInfo, practitioner_ids: list[int] | None
) -> list[DayOfVisits]:
    """The listed visits of `days` local days from `first_day`, grouped by day; audited."""
    window = local_day_bounds(first_day, first_day + timedelta(days=days - 1), zone)
    appointments = _load_appointments(
        (
            Appointment.status.in_(LISTED_STATUSES),
            Appointment.starts_at >= window.start,
            Appointment.starts_at < window.end,
        ),
        practitioner_ids,
    )
    rows = visit_rows(appointments)
    by_day: dict[date, list[VisitRow]] = defaultdict(list)
    for row in rows:
        by_day[row.appointment.starts_at.astimezone(zone).date()].append(row)
    shown = sorted({row.badges.intake_id for row in rows if row.badges.intake_id})
    if shown:
        record_audit("visit_list_viewed", "intake", None, intake_ids=shown)
    return [
        DayOfVisits(first_day + timedelta(days=n), tuple(by_day[first_day + timedelta(days=n)]))
        for n in range(days)
    ]


def week_start(day: date) -> date:
    """The Monday of the week holding `day`."""
    return day - timedelta(days=day.weekday())


# --- The intake chart -------------------------------------------------------------------------


@dataclass(frozen=True)
class IntakeChart:
    summary: IntakeSummary
    patient: Patient
    appointment: Appointment | None
    earlier: tuple[Intake, ...]
    later: tuple[Intake, ...]


def intake_chart(intake: Intake) -> IntakeChart:
    """Everything the intake page shows; the viewing is written to the audit log."""
    record = _intakes_of([intake.patient_id])[intake.patient_id]
    others = [i for i in record.intakes if i.id != intake.id]
    key = (intake.submitted_at, intake.id)
    appointment = (
        db.session.get(Appointment, intake.appointment_id) if intake.appointment_id else None
    )
    record_audit("intake_viewed", "intake", intake.id, patient_id=intake.patient_id)
    return IntakeChart(
        summary=summarise(intake, record.clearances),
        patient=intake.patient,
        appointment=appointment,
        earlier=tuple(reversed([i for i in others if (i.submitted_at, i.id) < key])),
        later=tuple(i for i in others if (i.submitted_at, i.id) > key),
    )


# --- Needling clearance -----------------------------------------------------------------------


def record_clearance(intake: Intake, cleared: bool, note: str, by: User) -> NeedlingClearance:
    """Record that needling is cleared (or still not) for a no-needling intake; audited."""
    note = note.strip()
    if not intake.no_needling:
        raise ClinicalError("Screening did not rule out needling for this intake.")
    if not note:
        raise ClinicalError("Write a note saying why.")
    clearance = NeedlingClearance(intake_id=intake.id, cleared=cleared, note=note, by_id=by.id)
    db.session.add(clearance)
    db.session.flush()
    record_audit(
        "needling_clearance_recorded", "intake", intake.id, clearance_id=clearance.id,
        cleared=cleared,
    )
    return clearance


# --- The review queue -------------------------------------------------------------------------


@dataclass(frozen=True)
class HeldBooking:
    row: VisitRow
    reasons: tuple[str, ...]  # the review-level flags that held it, in the screening's words
    calls: tuple[ReviewDecision, ...]  # "called the patient" notes so far, oldest first
    due: bool  # undecided with less than REVIEW_DEADLINE to go

    @property
    def appointment(self) -> Appointment:
        return self.row.appointment


def review_queue(practitioner_ids: list[int] | None, now: datetime) -> list[HeldBooking]:
    """Bookings awaiting review, soonest first, with why each is held; audited."""
    appointments = _load_appointments(
        (Appointment.status == AppointmentStatus.AWAITING_REVIEW,), practitioner_ids
    )
    rows = visit_rows(appointments)
    intakes = _intakes_of(a.patient_id for a in appointments if a.patient_id is not None)
    calls: dict[int, list[ReviewDecision]] = defaultdict(list)
    if appointments:
        for decision in db.session.scalars(
            select(ReviewDecision)
            .where(ReviewDecision.appointment_id.in_([a.id for a in appointments]))
            .options(selectinload(ReviewDecision.decided_by))
            .order_by(ReviewDecision.decided_at, ReviewDecision.id)
        ):
            calls[decision.appointment_id].append(decision)
    held = [
        HeldBooking(
            row=row,
            reasons=_review_reasons(intakes, row.appointment),
            calls=tuple(calls[row.appointment.id]),
            due=row.appointment.starts_at - REVIEW_DEADLINE <= now,
        )
        for row in rows
    ]
    if held:
        record_audit(
            "review_queue_viewed", "appointment", None,
            appointment_ids=[h.appointment.id for h in held],
        )
    return held


def _review_reasons(intakes: dict[int, PatientIntakes], appointment: Appointment):
    if appointment.patient_id is None:
        return ()
    record = intakes[appointment.patient_id]
    intake = record.own(appointment) or record.baseline(appointment.starts_at)
    if intake is None:
        return ()
    lines = flag_lines(Screening.from_dict(intake.screening), intake.answers or {})
    return tuple(
        line.summary for line in lines if line.level in (Level.EMERGENCY, Level.REVIEW)
    )


def undecided_reviews_due(now: datetime) -> list[Appointment]:
    """Bookings still awaiting review with less than 24 hours to go (or already past), soonest
    first: the front desk's "needs attention" list. No clinical detail is loaded.
    """
    return _load_appointments(
        (
            Appointment.status == AppointmentStatus.AWAITING_REVIEW,
            Appointment.starts_at <= now + REVIEW_DEADLINE,
        ),
        None,
    )


def decide_review(
    appointment: Appointment, outcome: ReviewOutcome, note: str, by: User
) -> ReviewDecision:
    """Approve (confirm), decline (cancel) or note a call; audited. Approve and decline send
    `review_decided`, on which the patient's review-outcome email is queued.
    """
    note = note.strip()
    if not note:
        raise ClinicalError("Write a note: it explains the decision to your colleagues.")
    if appointment.status != AppointmentStatus.AWAITING_REVIEW:
        raise ReviewNotPending("This booking is no longer awaiting review.")
    decision = ReviewDecision(
        appointment_id=appointment.id, outcome=outcome, note=note, decided_by_id=by.id
    )
    db.session.add(decision)
    db.session.flush()
    record_audit(
        "review_decided", "appointment", appointment.id,
        outcome=outcome.value, decision_id=decision.id,
    )
    if outcome is ReviewOutcome.APPROVED:
        # Same practitioner, same time, an active status before and after: nothing to re-check.
        appointment.status = AppointmentStatus.CONFIRMED
        db.session.flush()
        review_decided.send(appointment, outcome=outcome.value)
    elif outcome is ReviewOutcome.DECLINED:
        # Through the change service, so the patient's notice and calendar entry follow.
        cancel_appointment(appointment, DECLINE_REASON, "clinic")
        review_decided.send(appointment, outcome=outcome.value)
    return decision


# --- Visit outcomes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeEntry:
    pain_now: int
    bad_days_week: int
    relief_days_week: int | None
    activity_ratings: dict[str, int]
    muscles_treated: list[str]
    muscles_other: str
    response: str
    soreness: str
    plan: str


@dataclass(frozen=True)
class OutcomeContext:
    """What the outcome page shows around its form."""

    row: VisitRow
    outcome: VisitOutcome | None
    activities: tuple[Activity, ...]
    baseline: Intake | None
    can_record: bool


def outcome_context(appointment: Appointment, now: datetime) -> OutcomeContext:
    """The visit, its outcome so far and the activities to re-rate; audited."""
    row = visit_rows([appointment])[0]
    baseline = None
    if appointment.patient_id is not None:
        baseline = _intakes_of([appointment.patient_id])[appointment.patient_id].baseline(
            appointment.starts_at
        )
    outcome = db.session.scalar(
        select(VisitOutcome).where(VisitOutcome.appointment_id == appointment.id)
    )
    record_audit("visit_outcome_viewed", "appointment", appointment.id)
    return OutcomeContext(
        row=row,
        outcome=outcome,
        activities=activities_of(baseline.answers or {}) if baseline else (),
        baseline=baseline,
        can_record=can_record_outcome(appointment, now),
    )


def can_record_outcome(appointment: Appointment, now: datetime) -> bool:
    """A visit that has started and was not cancelled, missed or left waiting for review."""
    return (
        appointment.patient_id is not None
        and appointment.status in OUTCOME_STATUSES
        and appointment.starts_at <= now
    )


def record_outcome(
    appointment: Appointment, entry: OutcomeEntry, by: User, now: datetime
) -> VisitOutcome:
    """Store (or correct) the visit's outcome; audited with the changed field names only."""
    if not can_record_outcome(appointment, now):
        raise ClinicalError("An outcome can be recorded once the visit has started.")
    outcome = db.session.scalar(
        select(VisitOutcome).where(VisitOutcome.appointment_id == appointment.id)
    )
    created = outcome is None
    if outcome is None:
        outcome = VisitOutcome(appointment_id=appointment.id)
        db.session.add(outcome)
    changed = []
    for name, value in vars(entry).items():
        if getattr(outcome, name, None) != value:
            setattr(outcome, name, value)
            changed.append(name)
    outcome.recorded_by_id = by.id
    outcome.recorded_at = now
    db.session.flush()
    record_audit(
        "visit_outcome_recorded" if created else "visit_outcome_changed",
        "appointment", appointment.id, outcome_id=outcome.id, fields=sorted(changed),
    )
    return outcome


# --- Progress ---------------------------------------------------------------------------------


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
class ChartView:
    """One chart, its caption and the table of its values (the chart's text alternative)."""

    title: str
    unit: str
    chart: charts.Chart
    rows: tuple[tuple[str, tuple[float | None, ...]], ...]


def chart_view(
    title: str,
    unit: str,
    labels: Sequence[str],
    series: Sequence[charts.SeriesData],
    y_max: int,
    guide: tuple[float, str] | None = None,
) -> ChartView:
    rows = tuple(
        (label, tuple(data.values[index] for data in series))
        for index, label in enumerate(labels)
    )
    return ChartView(title, unit, charts.build_chart(labels, series, y_max, guide=guide), rows)


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
    record = _intakes_of([patient.id])[patient.id]
    baseline = record.baseline()
    activities = activities_of(baseline.answers or {}) if baseline else ()
    points = _progress_points(patient, baseline, activities)
    record_audit("progress_viewed", "patient", patient.id)
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


def _progress_points(
    patient: Patient, baseline: Intake | None, activities: Sequence[Activity]
) -> list[ProgressPoint]:
    points: list[ProgressPoint] = []
    if baseline is not None:
        answers = baseline.answers or {}
        points.append(
            ProgressPoint(
                label="Intake",
                visit_number=None,
                when=baseline.submitted_at,
                pain=answers.get("pain_now"),
                bad_days=answers.get("bad_days_week"),
                relief_days=answers.get("relief_days_week"),
                activity_scores=tuple(a.score for a in activities),
                function=function_score_from_answers(answers),
            )
        )
    series = _series_visits([patient.id]).get(patient.id, [])
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
        number = visit_number(_as_series_visit(appointment), series)
        scores = tuple(outcome.activity_ratings.get(a.key) for a in activities)
        points.append(
            ProgressPoint(
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
        )
    return points


def _charts(
    points: Sequence[ProgressPoint], activities: Sequence[Activity]
) -> tuple[ChartView, ...]:
    if not points:
        return ()
    labels = [point.label for point in points]
    baseline_pain = points[0].pain if points[0].visit_number is None else None
    pain_guide = None
    if baseline_pain is not None:
        target = baseline_pain - MEANINGFUL_PAIN_CHANGE
        pain_guide = (target, f"Meaningful fall from the intake: {target} or less")
    views = [
        chart_view(
            "Pain",
            "Pain now, 0 (none) to 10 (worst imaginable)",
            labels,
            [charts.SeriesData("Pain now", tuple(p.pain for p in points))],
            10,
            pain_guide,
        ),
        chart_view(
            "Bad days and short-term relief",
            "Days in the last week, 0 to 7",
            labels,
            [
                charts.SeriesData("Bad days", tuple(p.bad_days for p in points)),
                charts.SeriesData("Days needing relief", tuple(p.relief_days for p in points)),
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
                    charts.SeriesData(activity.name, tuple(p.activity_scores[i] for p in points))
                    for i, activity in enumerate(activities)
                ],
                10,
            )
        )
    return tuple(views)

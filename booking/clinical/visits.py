"""A practitioner's visits: whose they are, their number in a series, the intakes around them,
the day and week lists with intake badges, and the intake chart (with the review decisions and
call-backs that followed the intake). Lists and charts are audited.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from booking.accounts.models import User
from booking.audit.service import record_view
from booking.clinical.models import NeedlingClearance, ReviewDecision, VisitOutcome
from booking.clinical.summary import Badges, IntakeSummary, badges_for, summarise
from booking.db import now_utc
from booking.extensions import db
from booking.intake.models import CallBack, CallBackAttempt, Intake
from booking.intake.screening import Screening, Tier
from booking.intake.service import check_in_missing, counts_as_check_in
from booking.patients.models import Patient
from booking.scheduling.models import (
    HOLD_STATUSES,
    Appointment,
    AppointmentStatus,
    Practitioner,
    Service,
    VisitKind,
)
from booking.scheduling.service import local_day_bounds

RECENT_EMERGENCY = "recent_emergency"  # the rule id: held for an earlier emergency

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
WEEK_DAYS = 7


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


def series_visits(patient_ids: Iterable[int]) -> dict[int, list[SeriesVisit]]:
    """Each patient's counted visits, oldest first."""
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


def as_series_visit(appointment: Appointment) -> SeriesVisit:
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

    def badges(self, appointment: Appointment, now: datetime | None = None) -> Badges:
        own = self.own(appointment)
        if own is None and appointment.service.kind == VisitKind.FIRST_VISIT:
            # The same rule as the desk's: a first visit is screened by its own questionnaire.
            return Badges(None, "No questionnaire", "", (), None, missing=True)
        follow_up = appointment.service.kind == VisitKind.FOLLOW_UP
        if follow_up and own is not None and not counts_as_check_in(own, appointment):
            own = None  # a check-in counts for the window of the visit's current start only
        found = badges_for(own, self.baseline(appointment.starts_at), self.clearances)
        if follow_up and check_in_missing(
            appointment, now or now_utc(), own is not None
        ):
            # Needling and precautions still come from the first visit; the tier is missing.
            return replace(found, tier=None, tier_label="No check-in", missing=True)
        return found


def intakes_of(patient_ids: Iterable[int]) -> dict[int, PatientIntakes]:
    """Each patient's intakes and clearances; a patient with none gets an empty record."""
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


def load_appointments(conditions: Sequence, practitioner_ids: list[int] | None):
    """The appointments matching `conditions`, soonest first, with what a visit row shows."""
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
    series = series_visits(patient_ids)
    intakes = intakes_of(patient_ids)
    with_outcome = set(
        db.session.scalars(
            select(VisitOutcome.appointment_id).where(
                VisitOutcome.appointment_id.in_([a.id for a in appointments])
            )
        )
    )
    return [
        _visit_row(appointment, series, intakes, appointment.id in with_outcome)
        for appointment in appointments
    ]


def _visit_row(
    appointment: Appointment,
    series: dict[int, list[SeriesVisit]],
    intakes: dict[int, PatientIntakes],
    has_outcome: bool,
) -> VisitRow:
    patient_id = appointment.patient_id
    if patient_id is None:
        number, badges = None, Badges(None, "No patient", "", (), None)
    else:
        number = visit_number(as_series_visit(appointment), series.get(patient_id, []))
        badges = intakes[patient_id].badges(appointment)
    return VisitRow(
        appointment=appointment,
        visit_number=number,
        is_first_visit=appointment.service.kind == VisitKind.FIRST_VISIT,
        badges=badges,
        has_outcome=has_outcome,
    )


def visits_on_days(
    first_day: date, days: int, zone: ZoneInfo, practitioner_ids: list[int] | None
) -> list[DayOfVisits]:
    """The listed visits of `days` local days from `first_day`, grouped by day; audited."""
    window = local_day_bounds(first_day, first_day + timedelta(days=days - 1), zone)
    appointments = load_appointments(
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
        record_view("visit_list_viewed", "intake", None, intake_ids=shown)
    return [
        DayOfVisits(first_day + timedelta(days=n), tuple(by_day[first_day + timedelta(days=n)]))
        for n in range(days)
    ]


def week_start(day: date) -> date:
    """The Monday of the week holding `day`."""
    return day - timedelta(days=day.weekday())


# --- The intake chart -------------------------------------------------------------------------

# An emergency intake books nothing: its hold was given back (or there was none).
NO_VISIT_EMERGENCY = "No visit was booked: the answers called for emergency care."
NO_VISIT = "No visit was booked with these answers."
RELEASED_STATUSES = (*HOLD_STATUSES, AppointmentStatus.CANCELLED)


@dataclass(frozen=True)
class ReviewedVisit:
    """A visit this intake was read for, and the review decisions on it, oldest first."""

    appointment: Appointment
    decisions: tuple[ReviewDecision, ...]


@dataclass(frozen=True)
class IntakeChart:
    summary: IntakeSummary
    patient: Patient
    appointment: Appointment | None  # the visit the intake was answered for, if one was booked
    no_visit: str | None  # said instead when none was: e.g. NO_VISIT_EMERGENCY
    earlier: tuple[Intake, ...]
    later: tuple[Intake, ...]
    reviews: tuple[ReviewedVisit, ...]
    call_backs: tuple[CallBack, ...]
    # Held for a recent emergency: that screening, shown beside this one.
    earlier_emergency: IntakeSummary | None = None


def intake_chart(intake: Intake) -> IntakeChart:
    """Everything the intake page shows; the viewing is written to the audit log."""
    record = intakes_of([intake.patient_id])[intake.patient_id]
    others = [i for i in record.intakes if i.id != intake.id]
    key = (intake.submitted_at, intake.id)
    appointment, no_visit = visit_of(intake)
    record_view("intake_viewed", "intake", intake.id, patient_id=intake.patient_id)
    earlier_emergency = _emergency_behind(intake, others)
    if earlier_emergency is not None:
        record_view(
            "intake_viewed", "intake", earlier_emergency.id, patient_id=intake.patient_id
        )
    return IntakeChart(
        summary=summarise(intake, record.clearances),
        patient=intake.patient,
        appointment=appointment,
        no_visit=no_visit,
        earlier=tuple(reversed([i for i in others if (i.submitted_at, i.id) < key])),
        later=tuple(i for i in others if (i.submitted_at, i.id) > key),
        reviews=reviewed_visits(intake, record),
        call_backs=call_backs_of_intake(intake),
        earlier_emergency=(
            summarise(earlier_emergency, record.clearances) if earlier_emergency else None
        ),
    )


def _emergency_behind(intake: Intake, others: list[Intake]) -> Intake | None:
    """The latest emergency screening before an intake held for a recent emergency."""
    # `others` comes in the order answered (intakes_of sorts by time).
    flags = Screening.from_dict(intake.screening).flags
    if not any(flag.rule_id == RECENT_EMERGENCY for flag in flags):
        return None
    before = [
        i for i in others
        if i.tier == Tier.EMERGENCY.value
        and (i.submitted_at, i.id) < (intake.submitted_at, intake.id)
    ]
    return before[-1] if before else None


def visit_of(intake: Intake) -> tuple[Appointment | None, str | None]:
    """The visit an intake was answered for, or why there is none.

    An emergency intake keeps the id of the hold it was answered on, but that hold was given
    back: it claims no visit. Nor does any intake whose time was only ever held.
    """
    appointment = (
        db.session.get(Appointment, intake.appointment_id) if intake.appointment_id else None
    )
    if intake.tier == Tier.EMERGENCY.value and (
        appointment is None or appointment.status in RELEASED_STATUSES
    ):
        return None, NO_VISIT_EMERGENCY
    if appointment is not None and appointment.status in HOLD_STATUSES:
        return None, NO_VISIT
    return appointment, None


def reviewed_visits(intake: Intake, record: PatientIntakes) -> tuple[ReviewedVisit, ...]:
    """The review decisions on the visits this intake was read for, soonest visit first: the
    visit it was answered for, and visits without an intake of their own that it stands in for
    (the review queue shows them this intake, so the decision was made on it)."""
    decisions = db.session.scalars(
        select(ReviewDecision)
        .join(Appointment, ReviewDecision.appointment_id == Appointment.id)
        .where(Appointment.patient_id == intake.patient_id)
        .options(
            selectinload(ReviewDecision.decided_by),
            selectinload(ReviewDecision.appointment).selectinload(Appointment.service),
            selectinload(ReviewDecision.appointment).selectinload(Appointment.practitioner),
        )
        .order_by(ReviewDecision.decided_at, ReviewDecision.id)
    )
    by_visit: dict[int, list[ReviewDecision]] = defaultdict(list)
    for decision in decisions:
        visit = decision.appointment
        shown = record.own(visit) or record.baseline(visit.starts_at)
        if visit.id == intake.appointment_id or (shown is not None and shown.id == intake.id):
            by_visit[visit.id].append(decision)
    visits = sorted(
        (found[0].appointment for found in by_visit.values()),
        key=lambda visit: (visit.starts_at, visit.id),
    )
    return tuple(ReviewedVisit(visit, tuple(by_visit[visit.id])) for visit in visits)


def call_backs_of_intake(intake: Intake) -> tuple[CallBack, ...]:
    """The call-backs an (emergency) intake raised, with every try at reaching the patient."""
    return tuple(db.session.scalars(
        select(CallBack)
        .where(CallBack.intake_id == intake.id)
        .options(
            selectinload(CallBack.called_by),
            selectinload(CallBack.attempts).selectinload(CallBackAttempt.by),
        )
        .order_by(CallBack.raised_at, CallBack.id)
    ))

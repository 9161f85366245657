"""What "My visits" shows a signed-in returning patient: their visits, what each waits for, and
the follow-ups they can book in one tap. Prepared here; the page only shows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import url_for
from sqlalchemy import select

from booking.extensions import db
from booking.intake.completion import awaits_questionnaire
from booking.intake.service import check_in_opens_at
from booking.notify.links import manage_token
from booking.scheduling.models import (
    BOOKED_STATUSES,
    HOLD_STATUSES,
    Appointment,
    AppointmentStatus,
    Practitioner,
    Service,
    VisitKind,
)
from booking.scheduling.service import bookable_practitioners
from booking.web.series_plan import PlannedSeries, planned_series


@dataclass(frozen=True)
class VisitRow:
    """One visit as the patient sees it; the links only while the visit's own link stands."""

    appointment: Appointment
    page_url: str | None = None
    questions_url: str | None = None
    check_in_opens: datetime | None = None

    @property
    def cancelled(self) -> bool:
        return self.appointment.status == AppointmentStatus.CANCELLED


@dataclass(frozen=True)
class FollowUpOffer:
    label: str
    url: str


def patient_visits(patient_id: int) -> list[Appointment]:
    """The patient's visits, holds left out, earliest first."""
    return list(db.session.scalars(
        select(Appointment)
        .where(Appointment.patient_id == patient_id, Appointment.status.not_in(HOLD_STATUSES))
        .order_by(Appointment.starts_at)
    ))


def is_upcoming(appointment: Appointment, now: datetime) -> bool:
    return appointment.status in BOOKED_STATUSES and appointment.starts_at > now


def upcoming_row(appointment: Appointment, now: datetime) -> VisitRow:
    token = manage_token(appointment)
    waiting = awaits_questionnaire(appointment, now)
    return VisitRow(
        appointment,
        page_url=url_for("manage.visit", token=token),
        questions_url=url_for("manage.questions", token=token) if waiting else None,
        check_in_opens=check_in_opens_at(appointment) if check_in_later(appointment, now)
        else None,
    )


def check_in_later(appointment: Appointment, now: datetime) -> bool:
    """A booked follow-up whose check-in window has not opened yet."""
    return (
        appointment.service.kind == VisitKind.FOLLOW_UP
        and appointment.status in BOOKED_STATUSES
        and now < check_in_opens_at(appointment)
    )


def visits_of(patient_id: int, now: datetime) -> tuple[list[VisitRow], list[VisitRow]]:
    """(upcoming, earliest first; past and cancelled, newest first)."""
    visits = patient_visits(patient_id)
    upcoming = [upcoming_row(a, now) for a in visits if is_upcoming(a, now)]
    past = [VisitRow(a) for a in reversed(visits) if not is_upcoming(a, now)]
    return upcoming, past


def follow_up_offers(patient_id: int) -> list[FollowUpOffer]:
    """One tap to the times of each follow-up the patient's last practitioner gives (nothing
    retyped: the booking flow shows the details the clinic holds)."""
    last = last_practitioner(patient_id)
    if last is None:
        return []
    services = db.session.scalars(
        select(Service)
        .where(Service.kind == VisitKind.FOLLOW_UP, Service.active.is_(True))
        .order_by(Service.id)
    )
    offers = []
    for service in services:
        if bookable_practitioners(service, last.id):
            offers.append(FollowUpOffer(
                f"{service.name} with {last.name}",
                url_for("booking.times", slug=service.slug, practitioner=last.id),
            ))
    return offers


def last_practitioner(patient_id: int) -> Practitioner | None:
    """Who the patient saw (or will see) most recently, not counting cancelled visits."""
    return db.session.scalar(
        select(Practitioner)
        .join(Appointment, Appointment.practitioner_id == Practitioner.id)
        .where(
            Appointment.patient_id == patient_id,
            Appointment.status.not_in((*HOLD_STATUSES, AppointmentStatus.CANCELLED)),
        )
        .order_by(Appointment.starts_at.desc())
        .limit(1)
    )


def series_to_book(patient_id: int) -> PlannedSeries | None:
    """The series the patient's practitioner planned, while nothing is booked after it."""
    planned = planned_series(patient_id, "series.start")
    return planned if planned and not planned.suggestion.booked_after else None

"""Booking a series for a patient, by the desk or by the signed-in patient: the same rule as
every follow-up (a completed first-visit questionnaire), all visits or none."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from booking.frontdesk.phone_booking import FIRST_VISIT_NEEDED
from booking.frontdesk.visits import when_said
from booking.intake.service import may_book
from booking.patients.models import Patient
from booking.scheduling.models import Service, VisitSeries
from booking.scheduling.series import (
    Occurrence,
    SeriesNotFree,
    SeriesOverlaps,
    book_series,
)

OVERLAP = "Two of the chosen visits overlap. Nothing was booked: choose the times again."
NOT_FREE = (
    "Nothing was booked: {times} can no longer be had (taken meanwhile, or not offered). "
    "Choose again below."
)


@dataclass(frozen=True)
class SeriesOutcome:
    """The series booked (and what to say), or None with why nothing was."""

    series: VisitSeries | None
    message: str
    not_free: list[Occurrence] = field(default_factory=list)
    invalid: bool = False  # the request itself was wrong, not the times


def book_patient_series(
    patient: Patient,
    service: Service,
    practitioner_id: int,
    starts: list[datetime],
    every_weeks: int,
    now: datetime,
    source: str,
) -> SeriesOutcome:
    if not may_book(service, patient.id):
        return SeriesOutcome(None, FIRST_VISIT_NEEDED, invalid=True)
    try:
        series = book_series(patient.id, service, practitioner_id, starts, every_weeks, now, source)
    except SeriesOverlaps:
        return SeriesOutcome(None, OVERLAP, invalid=True)
    except SeriesNotFree as refusal:
        times = ", ".join(when_said(o.start) for o in refusal.taken)
        return SeriesOutcome(None, NOT_FREE.format(times=times), refusal.taken)
    first = series.visits[0]
    return SeriesOutcome(
        series,
        f"Booked {len(series.visits)} visits for {patient.full_name} with "
        f"{series.practitioner.name}, from {when_said(first.starts_at)}.",
    )

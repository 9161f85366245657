"""The patient's booking in progress, so nothing typed is ever lost.

It is kept in the database (`BookingDraft`, booking/intake/drafts.py); the session cookie holds
only the draft's random token, never a detail or an answer.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import session

from booking.db import now_utc
from booking.extensions import db
from booking.intake.drafts import (
    BookingDraft,
    discard_booking_draft,
    end_booking_draft,
    find_booking_draft,
    keep_until,
    start_booking_draft,
)
from booking.scheduling.models import Appointment, Service
from booking.scheduling.service import find_own_hold
from booking.web.parsing import as_id
from booking.web.transaction import keep_after_rollback

DRAFT_KEY = "booking_draft"  # the token of the session's BookingDraft
CONFIRMED_KEY = "confirmed_appointment"
EMERGENCY_KEY = "emergency_intake"  # the intake whose emergency advice the patient is shown


@dataclass
class BookingFlow:
    service_id: int
    practitioner: str = "any"
    hold_id: int | None = None
    hold_key: str | None = None
    details: dict[str, str] = field(default_factory=dict)
    # Steps after the contact details (the intake) keep their answers here.
    extra: dict[str, Any] = field(default_factory=dict)
    # A follow-up's signed-in returning patient (booking/web/returning.py); None for a first visit.
    patient_id: int | None = None
    _row: BookingDraft | None = field(default=None, repr=False, compare=False)

    @classmethod
    def load(cls) -> BookingFlow | None:
        """The session's booking in progress (None when there is none, or it has ended)."""
        row = find_booking_draft(session.get(DRAFT_KEY), now_utc())
        if row is None:
            session.pop(DRAFT_KEY, None)
            return None
        if row.booked_appointment_id is not None or row.emergency_intake_id is not None:
            return None
        return cls(
            service_id=row.service_id,
            practitioner=row.practitioner,
            hold_id=row.hold_id,
            hold_key=row.hold_key,
            details=dict(row.details or {}),
            extra=copy.deepcopy(row.questionnaire or {}),
            patient_id=row.patient_id,
            _row=row,
        )

    def save(self) -> None:
        """Keep the flow as it is now, even if this request's answer is a refusal (4xx)."""
        self._write()
        keep_after_rollback(("booking_flow", id(self)), self._write_again)

    def _write_again(self) -> None:
        if self._row is not None:  # not discarded since
            self._write()

    def _write(self) -> None:
        now = now_utc()
        if self._row is None:
            self._row, session[DRAFT_KEY] = start_booking_draft(self.service_id, now)
        row = self._row
        db.session.add(row)  # again after a rollback, which forgets a row made in it
        row.service_id = self.service_id
        row.practitioner = self.practitioner
        row.hold_id, row.hold_key = self.hold_id, self.hold_key
        row.patient_id = self.patient_id
        row.details = dict(self.details)
        row.questionnaire = copy.deepcopy(self.extra)
        hold = self.hold()
        keep_until(row, hold.hold_expires_at if hold is not None else None, now)

    def end(self, *, appointment_id: int | None = None, intake_id: int | None = None) -> None:
        """The booking ended (booked, held for review, or stopped for emergency care): what was
        typed goes; the draft keeps where it ended for a second tap on the last button."""
        if self._row is not None:
            end_booking_draft(self._row, appointment_id=appointment_id, intake_id=intake_id)
            self._row = None

    def discard(self) -> None:
        """The booking was given up: its draft goes, with everything typed in it."""
        if self._row is not None:
            discard_booking_draft(self._row)
            self._row = None
        session.pop(DRAFT_KEY, None)

    @property
    def service(self) -> Service | None:
        return db.session.get(Service, self.service_id)

    @property
    def practitioner_id(self) -> int | None:
        return as_id(self.practitioner)

    def hold(self) -> Appointment | None:
        """The flow's hold, live or run out, if it is still this patient's."""
        if self.hold_id is None or self.hold_key is None:
            return None
        return find_own_hold(self.hold_id, self.hold_key)

    def take_hold(self, hold: Appointment) -> None:
        self.hold_id, self.hold_key = hold.id, hold.hold_key

    def contact(self) -> dict[str, Any]:
        """The typed contact details as find_or_create_patient's arguments."""
        values: dict[str, Any] = dict(self.details)
        values["date_of_birth"] = date.fromisoformat(values["date_of_birth"])
        return values


def ended_booking() -> BookingDraft | None:
    """The session's draft if its booking has ended (where it ended is all it holds)."""
    row = find_booking_draft(session.get(DRAFT_KEY), now_utc())
    if row is None or (row.booked_appointment_id is None and row.emergency_intake_id is None):
        return None
    return row

"""The patient's booking in progress, kept in their session so nothing typed is ever lost."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from flask import session

from booking.extensions import db
from booking.scheduling.models import Appointment, Service
from booking.scheduling.service import find_own_hold

FLOW_KEY = "booking_flow"
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

    @classmethod
    def load(cls) -> BookingFlow | None:
        data = session.get(FLOW_KEY)
        return cls(**data) if data else None

    def save(self) -> None:
        session[FLOW_KEY] = asdict(self)

    @staticmethod
    def clear() -> None:
        session.pop(FLOW_KEY, None)

    @property
    def service(self) -> Service | None:
        return db.session.get(Service, self.service_id)

    @property
    def practitioner_id(self) -> int | None:
        return int(self.practitioner) if self.practitioner.isdigit() else None

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

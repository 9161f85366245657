"""What a desk action came to, for the page to show: done, or refused with the reason."""

from __future__ import annotations

from dataclasses import dataclass, field

from booking.scheduling.availability import Slot
from booking.scheduling.models import Appointment
from booking.scheduling.service import SchedulingError

TAKEN = "That time is taken. Choose one of the nearest free times below."
NOT_OFFERED = "That time is not one the clinic offers (outside hours, too soon or too far ahead)."


class DeskActionRefused(SchedulingError):
    """The action is not allowed for this appointment now; the message says why, plainly."""


@dataclass(frozen=True)
class Outcome:
    """`done` with what to tell the desk, or refused with why and the nearest free times."""

    done: bool
    message: str
    appointment: Appointment | None = None
    alternatives: list[Slot] = field(default_factory=list)


def done(appointment: Appointment, message: str) -> Outcome:
    return Outcome(True, message, appointment)


def refused(message: str, alternatives: list[Slot] | None = None) -> Outcome:
    return Outcome(False, message, None, one_per_start(alternatives or []))


def one_per_start(slots: list[Slot]) -> list[Slot]:
    """The nearest free times once each (the lowest practitioner id when several are free)."""
    by_start: dict = {}
    for slot in sorted(slots):
        by_start.setdefault(slot.start, slot)
    return list(by_start.values())

"""What the desk does to one visit: check in, complete, no-show, undo, move, cancel.

Status changes that happen at the clinic (check-in, completed, no-show) leave the patient's
calendar entry alone, so they do not raise the iCalendar SEQUENCE; moves and cancellations go
through `scheduling.changes`, which does, and whose signals bring the emails, the .ics updates
and the waitlist offers that follow. Services flush; the request commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from booking import formatting
from booking.audit.service import record_audit
from booking.clinic.service import get_clinic
from booking.extensions import db
from booking.frontdesk.outcome import (
    NOT_OFFERED,
    TAKEN,
    DeskActionRefused,
    Outcome,
    done,
    refused,
)
from booking.scheduling.changes import NotChangeable, cancel_appointment, move_appointment
from booking.scheduling.models import BOOKED_STATUSES, Appointment, AppointmentStatus
from booking.scheduling.service import SlotNotOffered, SlotTaken

Status = AppointmentStatus


# --- Status changes at the clinic ------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """A status change the desk may make: from which statuses, and when."""

    action: str
    label: str
    to: AppointmentStatus
    allowed_from: tuple[AppointmentStatus, ...]
    # Returns why the change is refused now, or None when it may go ahead.
    when: Callable[[Appointment, datetime, ZoneInfo], str | None]
    done_message: str


def _on_visit_day(appointment: Appointment, now: datetime, zone: ZoneInfo) -> str | None:
    if now.astimezone(zone).date() != appointment.starts_at.astimezone(zone).date():
        return "Patients can be checked in on the day of their visit only."
    return None


def _started(appointment: Appointment, now: datetime, zone: ZoneInfo) -> str | None:
    if now < appointment.starts_at:
        return "This visit has not started yet."
    return None


def _any_time(appointment: Appointment, now: datetime, zone: ZoneInfo) -> str | None:
    return None


TRANSITIONS = {
    t.action: t
    for t in (
        # Only a confirmed visit: one awaiting review needs a practitioner's approval first.
        Transition(
            "check_in", "Check in", Status.CHECKED_IN, (Status.CONFIRMED,), _on_visit_day,
            "Checked in.",
        ),
        # Once the visit has started, checked in or not (the desk forgot to check them in);
        # never before its start, even for a patient checked in early.
        Transition(
            "complete", "Mark completed", Status.COMPLETED,
            (Status.CHECKED_IN, Status.CONFIRMED), _started, "Marked completed.",
        ),
        Transition(
            "no_show", "Mark no-show", Status.NO_SHOW, (Status.CONFIRMED,), _started,
            "Marked as a no-show.",
        ),
        # Undo a mistaken click; completed visits stay completed (outcomes may hang off them).
        Transition(
            "undo", "Undo: back to confirmed", Status.CONFIRMED,
            (Status.CHECKED_IN, Status.NO_SHOW), _any_time, "Back to confirmed.",
        ),
    )
}


def refusal(appointment: Appointment, action: str, now: datetime) -> str | None:
    """Why `action` is not allowed for the appointment now, or None when it is."""
    if action in ("move", "cancel"):
        if appointment.status not in BOOKED_STATUSES:
            done_to = "moved" if action == "move" else "cancelled"
            return f"A visit that is {_said(appointment.status)} cannot be {done_to}."
        return None
    transition = TRANSITIONS[action]
    if appointment.status not in transition.allowed_from:
        state = _said(appointment.status)
        return f"{transition.label} is not possible for a visit that is {state}."
    return transition.when(appointment, now, get_clinic().zone)


def _said(status: AppointmentStatus) -> str:
    return status.value.replace("_", " ").replace("no show", "a no-show")


def allowed_actions(appointment: Appointment, now: datetime) -> list[str]:
    """The actions to offer on the appointment's page, in the order they are shown."""
    actions = [*TRANSITIONS, "move", "cancel"]
    return [action for action in actions if refusal(appointment, action, now) is None]


def change_status(appointment: Appointment, action: str, now: datetime) -> Outcome:
    """Check in, complete, mark no-show or undo, audited; refused with the reason."""
    if action not in TRANSITIONS:
        return refused("Unknown action.")
    reason = refusal(appointment, action, now)
    if reason:
        return refused(reason)
    before = appointment.status
    appointment.status = TRANSITIONS[action].to
    db.session.flush()
    record_audit(
        f"appointment.{action}", "appointment", appointment.id,
        status_from=before.value, status_to=appointment.status.value,
    )
    return done(appointment, TRANSITIONS[action].done_message)


# --- Moving and cancelling -------------------------------------------------------------------


def local_start(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The instant of a wall-clock time in the clinic's zone on a day, kept as the desk chose it.

    Refuses a time skipped by a daylight-saving change (it does not exist that day).
    """
    moment = datetime.combine(day, wall, zone)
    if moment.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != datetime.combine(day, wall):
        raise DeskActionRefused("That time does not exist on that day: the clocks change.")
    return moment


def move_visit(
    appointment: Appointment,
    day: date,
    wall: time,
    now: datetime,
    practitioner_id: int | None = None,
) -> Outcome:
    """Move to a wall-clock time on a day (another practitioner when named), audited."""
    before = (appointment.starts_at, appointment.practitioner_id)
    try:
        reason = refusal(appointment, "move", now)
        if reason:
            raise DeskActionRefused(reason)
        new_start = local_start(day, wall, get_clinic().zone)
        if new_start == before[0] and practitioner_id in (None, before[1]):
            raise DeskActionRefused("The visit is already at that time.")
        move_appointment(appointment, new_start, now, practitioner_id=practitioner_id)
    except SlotTaken as taken:
        return refused(TAKEN, taken.alternatives)
    except SlotNotOffered:
        return refused(NOT_OFFERED)
    except (DeskActionRefused, NotChangeable) as error:
        return refused(str(error))
    if appointment.practitioner_id != before[1]:
        db.session.expire(appointment, ["practitioner"])  # follow the changed id
    record_audit(
        "appointment.moved", "appointment", appointment.id,
        starts_at_from=before[0].isoformat(), starts_at_to=appointment.starts_at.isoformat(),
        practitioner_from=before[1], practitioner_to=appointment.practitioner_id,
        source="desk",
    )
    return done(
        appointment,
        f"Moved to {when_said(appointment.starts_at)} with {appointment.practitioner.name}.",
    )


def cancel_visit(appointment: Appointment, reason: str, now: datetime) -> Outcome:
    """Cancel on the clinic's behalf with the reason the patient gave, audited."""
    refused_because = refusal(appointment, "cancel", now)
    if refused_because:
        return refused(refused_because)
    before = appointment.status
    try:
        cancel_appointment(appointment, reason.strip(), by="clinic")
    except NotChangeable as error:
        return refused(str(error))
    record_audit(
        "appointment.cancelled", "appointment", appointment.id,
        status_from=before.value, source="desk",
    )
    return done(appointment, "The visit is cancelled. The patient is told by email.")


def when_said(moment: datetime) -> str:
    """'Monday, November 23 at 9:30 AM' in the clinic's zone."""
    return formatting.moment_short(moment.astimezone(get_clinic().zone))

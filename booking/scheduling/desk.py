"""What the front desk does to the calendar: book callers, move, cancel, check in, no-shows.

Every change is written to the audit log. Status changes that happen at the clinic (check-in,
completed, no-show) leave the patient's calendar entry alone, so they do not raise the
iCalendar SEQUENCE; moves and cancellations go through booking.scheduling.changes, which does,
and which sends the emails and .ics updates that follow. Services flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import render_template
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from booking.audit.service import record_audit
from booking.clinic.service import get_clinic
from booking.extensions import db
from booking.intake.models import CallBack
from booking.notify.models import OutboxMessage, OutboxStatus
from booking.notify.outbox import NO_LONGER_APPLIES, enqueue
from booking.patients.models import Patient
from booking.scheduling.changes import (
    cancel_appointment,
    move_appointment,
)
from booking.scheduling.models import (
    ACTIVE_STATUSES,
    BOOKED_STATUSES,
    Appointment,
    AppointmentStatus,
    Practitioner,
    Service,
    TimeOff,
    VisitKind,
)
from booking.scheduling.service import (
    SchedulingError,
    confirm_hold,
    find_free_slots,
    hold_slot,
)
from booking.scheduling.waitlist import offer_freed_time

Status = AppointmentStatus
FAILED_MESSAGES_SHOWN = 50
FAILED_MESSAGES_FOR = timedelta(days=14)


class DeskActionRefused(SchedulingError):
    """The action is not allowed for this appointment now; the message says why, plainly."""


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


def _on_visit_day(appointment: Appointment, now: datetime, zone: ZoneInfo) -> str | None:
    if now.astimezone(zone).date() != appointment.starts_at.astimezone(zone).date():
        return "Patients can be checked in on the day of their visit only."
    return None


def _started(appointment: Appointment, now: datetime, zone: ZoneInfo) -> str | None:
    if now < appointment.starts_at:
        return "This visit has not started yet."
    return None


def _checked_in_or_started(appointment: Appointment, now: datetime, zone: ZoneInfo) -> str | None:
    if appointment.status == Status.CHECKED_IN:
        return None
    return _started(appointment, now, zone)


def _any_time(appointment: Appointment, now: datetime, zone: ZoneInfo) -> str | None:
    return None


TRANSITIONS = {
    t.action: t
    for t in (
        # Only a confirmed visit: one awaiting review needs a practitioner's approval first.
        Transition("check_in", "Check in", Status.CHECKED_IN, (Status.CONFIRMED,), _on_visit_day),
        # A confirmed visit counts too once it has started: the desk forgot to check them in.
        Transition(
            "complete", "Mark completed", Status.COMPLETED,
            (Status.CHECKED_IN, Status.CONFIRMED), _checked_in_or_started,
        ),
        Transition("no_show", "Mark no-show", Status.NO_SHOW, (Status.CONFIRMED,), _started),
        # Undo a mistaken click; completed visits stay completed (outcomes may hang off them).
        Transition(
            "undo", "Undo: back to confirmed", Status.CONFIRMED,
            (Status.CHECKED_IN, Status.NO_SHOW), _any_time,
        ),
    )
}


def refusal(appointment: Appointment, action: str, now: datetime) -> str | None:
    """Why `action` is not allowed for the appointment now, or None when it is."""
    if action in ("move", "cancel"):
        if appointment.status not in BOOKED_STATUSES:
            done = "moved" if action == "move" else "cancelled"
            return f"A visit that is {_said(appointment.status)} cannot be {done}."
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


def change_status(appointment: Appointment, action: str, now: datetime) -> Appointment:
    """Check in, complete, mark no-show or undo; raises DeskActionRefused with the reason."""
    if action not in TRANSITIONS:
        raise DeskActionRefused("Unknown action.")
    reason = refusal(appointment, action, now)
    if reason:
        raise DeskActionRefused(reason)
    before = appointment.status
    appointment.status = TRANSITIONS[action].to
    db.session.flush()
    record_audit(
        f"appointment.{action}", "appointment", appointment.id,
        status_from=before.value, status_to=appointment.status.value,
    )
    return appointment


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
) -> Appointment:
    """Move to a wall-clock time on a day; raises DeskActionRefused, SlotTaken or SlotNotOffered."""
    reason = refusal(appointment, "move", now)
    if reason:
        raise DeskActionRefused(reason)
    new_start = local_start(day, wall, get_clinic().zone)
    before = (appointment.starts_at, appointment.practitioner_id)
    if new_start == before[0] and practitioner_id in (None, before[1]):
        raise DeskActionRefused("The visit is already at that time.")
    move_appointment(appointment, new_start, now, practitioner_id=practitioner_id)
    if appointment.practitioner_id != before[1]:
        db.session.expire(appointment, ["practitioner"])  # follow the changed id
        # The moved signal names the previous start only: offer the previous practitioner's
        # freed time to the waitlist here.
        offer_freed_time(
            before[1], before[0], before[0] + (appointment.ends_at - appointment.starts_at),
            now, skip_patient_id=appointment.patient_id,
        )
    record_audit(
        "appointment.moved", "appointment", appointment.id,
        starts_at_from=before[0].isoformat(), starts_at_to=appointment.starts_at.isoformat(),
        practitioner_from=before[1], practitioner_to=appointment.practitioner_id,
        source="desk",
    )
    return appointment


def cancel_visit(appointment: Appointment, reason: str, now: datetime) -> Appointment:
    """Cancel on the clinic's behalf with the reason the patient gave."""
    refused = refusal(appointment, "cancel", now)
    if refused:
        raise DeskActionRefused(refused)
    before = appointment.status
    cancel_appointment(appointment, reason.strip(), by="clinic")
    record_audit(
        "appointment.cancelled", "appointment", appointment.id,
        status_from=before.value, source="desk",
    )
    return appointment


# --- Booking a phone caller ------------------------------------------------------------------


def free_starts(
    service: Service,
    day: date,
    now: datetime,
    practitioner_id: int | None = None,
    ignore_id: int | None = None,
) -> list[datetime]:
    """The free start times of a local day, once each (for "any", whoever is free then)."""
    slots = find_free_slots(service, day, day, now, practitioner_id, ignore_id=ignore_id)
    return sorted({slot.start for slot in slots})



def book_for_caller(
    patient: Patient,
    service: Service,
    start: datetime,
    now: datetime,
    practitioner_id: int | None = None,
) -> Appointment:
    """Book a free time for a caller, confirmed at once; raises SlotTaken or SlotNotOffered.

    The same hold as online bookings takes the time, so two desks and the website can never
    give it twice; it is confirmed in the same transaction.
    """
    hold = hold_slot(service, start, now, practitioner_id, source="desk")
    hold.patient_id = patient.id
    confirm_hold(hold, now)
    record_audit(
        "appointment.booked", "appointment", hold.id,
        patient_id=patient.id, practitioner_id=hold.practitioner_id, source="desk",
    )
    return hold


def queue_intake_request(appointment: Appointment) -> OutboxMessage | None:
    """Email a desk-booked first-visit patient how to give their health questionnaire.

    Minimal for now: the questionnaire is part of the online booking flow, and there is no
    per-appointment questionnaire link yet, so the email asks the patient to come 15 minutes
    early to answer it at the clinic (or to call). When such a link exists, it goes here.
    """
    clinic = get_clinic()
    patient = appointment.patient
    body = render_template(
        "desk/emails/intake_request.txt",
        clinic=clinic,
        patient=patient,
        start=appointment.starts_at.astimezone(clinic.zone),
    )
    message = enqueue(
        dedupe_key=f"intake-request:{appointment.id}",
        kind="intake_request",
        recipient=patient.email,
        subject=f"Before your first visit at {clinic.name}",
        text_body=body,
        appointment_id=appointment.id,
    )
    if message is not None:
        record_audit("appointment.intake_requested", "appointment", appointment.id)
    return message


def wants_intake(service: Service) -> bool:
    return service.kind == VisitKind.FIRST_VISIT


# --- Time off and blocks ---------------------------------------------------------------------


def add_time_off(
    practitioner: Practitioner, starts_at: datetime, ends_at: datetime, reason: str
) -> tuple[TimeOff, int]:
    """Block a practitioner's time; returns it and how many booked visits fall inside it.

    Visits already booked there are not touched: the desk moves or cancels them, with the
    patient told, instead of their disappearing silently.
    """
    if ends_at <= starts_at:
        raise DeskActionRefused("The end must be after the start.")
    time_off = TimeOff(
        practitioner_id=practitioner.id, starts_at=starts_at, ends_at=ends_at,
        reason=reason.strip(),
    )
    db.session.add(time_off)
    db.session.flush()
    record_audit(
        "time_off.added", "time_off", time_off.id, practitioner_id=practitioner.id,
        starts_at=starts_at.isoformat(), ends_at=ends_at.isoformat(),
    )
    clashes = db.session.scalar(
        select(func.count(Appointment.id)).where(
            Appointment.practitioner_id == practitioner.id,
            Appointment.status.in_(ACTIVE_STATUSES),
            Appointment.status != Status.HELD,
            Appointment.starts_at < ends_at,
            Appointment.ends_at > starts_at,
        )
    )
    return time_off, clashes or 0


def remove_time_off(time_off: TimeOff) -> None:
    record_audit(
        "time_off.removed", "time_off", time_off.id, practitioner_id=time_off.practitioner_id,
        starts_at=time_off.starts_at.isoformat(), ends_at=time_off.ends_at.isoformat(),
    )
    db.session.delete(time_off)
    db.session.flush()


# --- Needs attention -------------------------------------------------------------------------


@dataclass
class Attention:
    call_backs: list[CallBack]
    awaiting_review: list[Appointment]
    failed_messages: list[OutboxMessage]

    @property
    def count(self) -> int:
        return len(self.call_backs) + len(self.awaiting_review) + len(self.failed_messages)


def needs_attention(now: datetime) -> Attention:
    """Emergency call-backs not yet made, bookings awaiting review, recent emails that failed."""
    call_backs = db.session.scalars(
        _open_call_backs().options(selectinload(CallBack.patient))
        .order_by(CallBack.raised_at, CallBack.id)
    )
    awaiting = db.session.scalars(
        _awaiting_review(now)
        .options(
            selectinload(Appointment.patient),
            selectinload(Appointment.practitioner),
            selectinload(Appointment.service),
        )
        .order_by(Appointment.starts_at)
    )
    failed = db.session.scalars(
        _failed_messages(now)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(FAILED_MESSAGES_SHOWN)
    )
    return Attention(list(call_backs), list(awaiting), list(failed))


def attention_count(now: datetime) -> int:
    """How many things need the desk, for the menu; the same rules as needs_attention."""
    queries = (
        _open_call_backs().with_only_columns(func.count(CallBack.id)),
        _awaiting_review(now).with_only_columns(func.count(Appointment.id)),
        _failed_messages(now).with_only_columns(func.count(OutboxMessage.id)),
    )
    return sum(db.session.scalar(query) or 0 for query in queries)


def _open_call_backs():
    return select(CallBack).where(CallBack.called_at.is_(None))


def _awaiting_review(now: datetime):
    return select(Appointment).where(
        Appointment.status == Status.AWAITING_REVIEW, Appointment.ends_at > now
    )


def _failed_messages(now: datetime):
    # Older failures have been dealt with or no longer matter; the email log keeps them all.
    return select(OutboxMessage).where(
        OutboxMessage.status == OutboxStatus.DEAD,
        # A reminder for a cancelled visit is dropped on purpose, not a failure.
        OutboxMessage.last_error.is_distinct_from(NO_LONGER_APPLIES),
        OutboxMessage.created_at > now - FAILED_MESSAGES_FOR,
    )


def mark_called(call_back: CallBack, note: str, now: datetime, by_user_id: int) -> CallBack:
    """Record that staff called the patient back, with what was said or arranged."""
    if call_back.called_at is not None:
        raise DeskActionRefused("This call-back was already marked as called.")
    call_back.called_at = now
    call_back.called_by_id = by_user_id
    call_back.note = note.strip()
    db.session.flush()
    record_audit("call_back.called", "call_back", call_back.id, patient_id=call_back.patient_id)
    return call_back

"""What needs the desk: urgent reviews (the clinic calls today), emergency call-backs not yet
answered, undecided reviews, first visits close at hand with no questionnaire, failed messages.

One rule per item, used both for the list and for the count in the menu. An urgent review is an
undecided review whose screening asks for it today (`booking.intake.urgency`): the desk sees it
at once, at the top, whatever the visit's date; it learns "urgent", never why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from booking.audit.service import record_audit
from booking.extensions import db
from booking.frontdesk.outcome import DeskActionRefused
from booking.intake.models import CallBack, CallBackAttempt, Intake
from booking.intake.service import check_ins_done
from booking.intake.urgency import urgent_appointment_ids
from booking.notify.models import OutboxMessage, OutboxStatus
from booking.notify.outbox import NO_LONGER_APPLIES
from booking.scheduling.models import (
    BOOKED_STATUSES,
    Appointment,
    AppointmentStatus,
    Service,
    VisitKind,
)

FAILED_MESSAGES_SHOWN = 50
FAILED_MESSAGES_FOR = timedelta(days=14)
# A first visit with no questionnaire needs the desk from this long before it starts.
QUESTIONNAIRE_DUE = timedelta(hours=72)


@dataclass
class Attention:
    call_backs: list[CallBack]
    awaiting_review: list[Appointment]  # the undecided reviews that are not urgent
    failed_messages: list[OutboxMessage]
    unscreened: list[Appointment] = field(default_factory=list)
    no_check_in: list[Appointment] = field(default_factory=list)
    urgent_reviews: list[Appointment] = field(default_factory=list)

    @property
    def count(self) -> int:
        return (
            len(self.urgent_reviews)
            + len(self.call_backs)
            + len(self.awaiting_review)
            + len(self.failed_messages)
            + len(self.unscreened)
            + len(self.no_check_in)
        )


def needs_attention(now: datetime) -> Attention:
    """Urgent reviews, emergency call-backs not yet answered (with the tries so far), the other
    bookings awaiting review, first visits with no questionnaire, recent emails that failed."""
    call_backs = db.session.scalars(
        _open_call_backs()
        .options(
            selectinload(CallBack.patient),
            selectinload(CallBack.attempts).selectinload(CallBackAttempt.by),
        )
        .order_by(CallBack.raised_at, CallBack.id)
    )
    awaiting = db.session.scalars(
        _undecided_reviews(now)
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
    unscreened = db.session.scalars(
        _unscreened_first_visits(now)
        .options(
            selectinload(Appointment.patient),
            selectinload(Appointment.practitioner),
            selectinload(Appointment.service),
        )
        .order_by(Appointment.starts_at)
    )
    awaiting = list(awaiting)
    urgent = urgent_appointment_ids(a.id for a in awaiting)
    return Attention(
        call_backs=list(call_backs),
        awaiting_review=[a for a in awaiting if a.id not in urgent],
        failed_messages=list(failed),
        unscreened=list(unscreened),
        no_check_in=follow_ups_without_check_in(now),
        urgent_reviews=[a for a in awaiting if a.id in urgent],
    )


def attention_count(now: datetime) -> int:
    """How many things need the desk, for the menu; the same rules as needs_attention."""
    queries = (
        _open_call_backs().with_only_columns(func.count(CallBack.id)),
        _undecided_reviews(now).with_only_columns(func.count(Appointment.id)),
        _unscreened_first_visits(now).with_only_columns(func.count(Appointment.id)),
        _failed_messages(now).with_only_columns(func.count(OutboxMessage.id)),
    )
    counted = sum(db.session.scalar(query) or 0 for query in queries)
    return counted + len(follow_ups_without_check_in(now))


def _unscreened_first_visits(now: datetime):
    """Booked first visits starting within 72 hours that still have no questionnaire."""
    screened = select(Intake.id).where(Intake.appointment_id == Appointment.id)
    return (
        select(Appointment)
        .join(Service, Service.id == Appointment.service_id)
        .where(
            Service.kind == VisitKind.FIRST_VISIT,
            Appointment.status.in_(BOOKED_STATUSES),
            Appointment.starts_at <= now + QUESTIONNAIRE_DUE,
            Appointment.ends_at > now,
            ~screened.exists(),
        )
    )


def follow_ups_without_check_in(now: datetime) -> list[Appointment]:
    """Confirmed follow-ups whose 72-hour check-in window is open and whose check-in is not
    done (`intake.service.check_ins_done`, the one rule)."""
    soon = db.session.scalars(
        select(Appointment)
        .join(Service, Service.id == Appointment.service_id)
        .where(
            Service.kind == VisitKind.FOLLOW_UP,
            # One held for review is on the list already, and a clinician is calling them.
            Appointment.status == AppointmentStatus.CONFIRMED,
            Appointment.patient_id.is_not(None),
            Appointment.starts_at <= now + QUESTIONNAIRE_DUE,
            Appointment.ends_at > now,
        )
        .options(
            selectinload(Appointment.patient),
            selectinload(Appointment.practitioner),
            selectinload(Appointment.service),
        )
        .order_by(Appointment.starts_at)
    ).all()
    done = check_ins_done(soon)
    return [visit for visit in soon if visit.id not in done]


def _open_call_backs():
    """Not yet answered: tries that found no one keep a call-back open."""
    return select(CallBack).where(CallBack.called_at.is_(None))


def _undecided_reviews(now: datetime):
    """Every booking still awaiting a practitioner's review that has not ended: the one rule."""
    return select(Appointment).where(
        Appointment.status == AppointmentStatus.AWAITING_REVIEW, Appointment.ends_at > now
    )


def _failed_messages(now: datetime):
    # Older failures have been dealt with or no longer matter; the email log keeps them all.
    return select(OutboxMessage).where(
        OutboxMessage.status == OutboxStatus.DEAD,
        # A reminder for a cancelled visit is dropped on purpose, not a failure.
        OutboxMessage.last_error.is_distinct_from(NO_LONGER_APPLIES),
        OutboxMessage.created_at > now - FAILED_MESSAGES_FOR,
    )


def record_attempt(
    call_back: CallBack, answered: bool, note: str, now: datetime, by_user_id: int
) -> CallBackAttempt:
    """Record one try at calling the patient back. An answered try closes the call-back (it sets
    `called_at`) and needs a note of what was said or arranged; an unanswered one keeps it open.
    Audited without the note (identifiers and whether it was answered only).
    """
    if call_back.called_at is not None:
        raise DeskActionRefused("This call-back was already marked as called.")
    note = note.strip()
    if answered and not note:
        raise DeskActionRefused("Write a short note about the call.")
    attempt = CallBackAttempt(
        call_back=call_back, attempted_at=now, by_id=by_user_id, answered=answered, note=note
    )
    db.session.add(attempt)
    if answered:
        call_back.called_at = now
        call_back.called_by_id = by_user_id
        call_back.note = note
    db.session.flush()
    record_audit(
        "call_back.called" if answered else "call_back.no_answer", "call_back", call_back.id,
        patient_id=call_back.patient_id, attempt_id=attempt.id, answered=answered,
    )
    return attempt

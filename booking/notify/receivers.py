"""Which emails each booking event queues, and the checks the worker runs before sending.

The scheduling services send their signals inside the request's transaction, so every email is
queued in the same commit as the change that caused it (or in none). Dedupe keys name the
appointment, the kind and the appointment's sequence: one message per version of a visit.

When messages go:
- confirmation / awaiting review / rescheduled / cancelled / staff alerts: at once.
- reminder: 10:00 clinic time on the day before the visit; not queued when that moment has
  already passed (a booking made after it: the confirmation has just gone out). Sent only if the
  visit is still confirmed, unchanged (same sequence) and not begun.
- after-care (first visits only): two hours after the visit ends. Sent only if the visit was
  checked in or completed (not left confirmed, missed, cancelled, moved or unreviewed), and
  within three days of it. Whether needles were used is known only once the practitioner
  records the visit's outcome, long after the booking queued the note: see `refresh_after_care`.

Calendar files: a held visit (awaiting review) is TENTATIVE in every .ics, confirmed ones
CONFIRMED. A held visit's move carries the tentative update and its cancellation (or decline)
a CANCEL, since the patient may have added it from the visit page; a client ignores a CANCEL of
an entry it never had.

Urgent reviews (`booking.intake.urgency`): the "awaiting review" email tells the patient the
clinic calls today, the staff alert says "Urgent review". The online booking confirms the hold
before it stores the intake, so these emails are queued first and rewritten when the intake is
stored, in the same transaction and before anything is sent (`on_intake_recorded`).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, time, timedelta

from flask import Flask
from sqlalchemy import select

from booking.accounts.models import User
from booking.clinic.service import get_clinic
from booking.clinical.outcomes import needles_used
from booking.db import now_utc
from booking.extensions import db
from booking.intake.models import CallBack, Intake
from booking.intake.service import has_completed_first_visit_intake
from booking.intake.signals import call_back_raised, intake_recorded
from booking.intake.urgency import urgent_appointment_ids
from booking.notify import messages
from booking.notify.links import external_url
from booking.notify.messages import Email
from booking.notify.models import OutboxMessage, OutboxStatus
from booking.notify.outbox import enqueue, register_refresh, register_still_applies
from booking.patients.links import issue_sign_in_link
from booking.patients.models import Patient
from booking.patients.service import patients_with_email
from booking.scheduling.availability import Slot
from booking.scheduling.models import (
    IN_PATIENT_CALENDAR_STATUSES,
    Appointment,
    AppointmentStatus,
    VisitKind,
    VisitSeries,
    WaitlistEntry,
)
from booking.scheduling.signals import (
    booking_cancelled,
    booking_held_for_review,
    booking_made,
    booking_moved,
    review_decided,
    series_booked,
    waitlist_time_offered,
)
from booking.tokens import hash_token

CONFIRMATION = "confirmation"
AWAITING_REVIEW = "awaiting_review"
REVIEW_OUTCOME = "review_outcome"
RESCHEDULED = "rescheduled"
CANCELLED = "cancelled"
REMINDER = "reminder"
AFTER_CARE = "after_care"
STAFF_REVIEW_ALERT = "staff_review_alert"
STAFF_CALL_BACK_ALERT = "staff_call_back_alert"
INTAKE_REQUEST = "intake_request"
WAITLIST_OFFER = "waitlist_offer"
SERIES_BOOKED = "series_booked"
SIGN_IN_LINK = "sign_in_link"
FIRST_VISIT_NEEDED = "first_visit_needed"

REMINDER_AT = time(10, 0)  # clinic time, the day before the visit
AFTER_CARE_DELAY = timedelta(hours=2)
AFTER_CARE_LATEST = timedelta(days=3)  # the soreness it speaks of lasts 24-72 hours
# The visit took place: the desk checked the patient in or completed it. A visit still only
# "confirmed" after its end may not have happened (nobody marked it), so it gets no after-care.
AFTER_CARE_STATUSES = (AppointmentStatus.CHECKED_IN, AppointmentStatus.COMPLETED)
# The patient may have the visit in their calendar: emailed once confirmed, or (tentative, while
# held for review) downloaded from the visit page or sent with a move.
MAY_BE_IN_CALENDAR = (*IN_PATIENT_CALENDAR_STATUSES, AppointmentStatus.AWAITING_REVIEW)


def register_notifications(app: Flask) -> None:
    """Connect the booking signals and the worker's checks."""
    booking_made.connect(on_booking_made)
    series_booked.connect(on_series_booked)
    booking_moved.connect(on_booking_moved)
    booking_cancelled.connect(on_booking_cancelled)
    booking_held_for_review.connect(on_booking_held_for_review)
    review_decided.connect(on_review_decided)
    call_back_raised.connect(on_call_back_raised)
    intake_recorded.connect(on_intake_recorded)
    waitlist_time_offered.connect(on_waitlist_time_offered)
    register_still_applies(REMINDER, reminder_still_applies)
    register_still_applies(AFTER_CARE, after_care_still_applies)
    register_refresh(AFTER_CARE, refresh_after_care)


# --- signal receivers -----------------------------------------------------------------------


def on_booking_made(appointment: Appointment, **_: object) -> None:
    """A new booking: confirmation (or "awaiting review" and staff alert), reminder, after-care."""
    patient = _patient(appointment)
    if appointment.status == AppointmentStatus.CONFIRMED:
        _queue_to_patient(appointment, patient, CONFIRMATION, messages.booking_confirmed)
    elif appointment.status == AppointmentStatus.AWAITING_REVIEW:
        urgent = is_urgent(appointment)
        _queue_to_patient(
            appointment, patient, AWAITING_REVIEW, lambda a: messages.awaiting_review(a, urgent)
        )
        queue_staff_review_alert(appointment, urgent)
    else:
        return
    _queue_later_messages(appointment, patient)


def on_series_booked(series: VisitSeries, visits: list[Appointment], **_: object) -> None:
    """A series: one email listing every visit (each its own calendar entry), then each
    visit's reminder (and after-care) as for a single booking."""
    patient = _patient(visits[0]) if visits else None
    if patient is None or not patient.email:
        return
    email = messages.series_booked(series, visits)
    _enqueue(f"series:{series.id}:booked", SERIES_BOOKED, patient.email, email)
    for visit in visits:
        _queue_later_messages(visit, patient)


def on_booking_held_for_review(appointment: Appointment, **_: object) -> None:
    """A confirmed visit's questionnaire asks for a clinician first: the patient is told, as
    online ("awaiting review"), and staff are alerted. The reminder queued with the
    confirmation waits: it goes only while the visit is confirmed."""
    _queue_to_patient(appointment, _patient(appointment), AWAITING_REVIEW, messages.awaiting_review)
    queue_staff_review_alert(appointment)


def on_booking_moved(
    appointment: Appointment, previous_start: datetime | None = None, **_: object
) -> None:
    """A moved booking: the change (updating the calendar entry), a new reminder and after-care."""
    patient = _patient(appointment)
    calendar = appointment.status in MAY_BE_IN_CALENDAR
    _queue_to_patient(
        appointment,
        patient,
        RESCHEDULED,
        lambda a: messages.rescheduled(a, previous_start or a.starts_at, calendar),
    )
    _queue_later_messages(appointment, patient)


def on_booking_cancelled(
    appointment: Appointment,
    by: str = "clinic",
    previous_status: AppointmentStatus | None = None,
    **_: object,
) -> None:
    """A cancelled booking: the notice, removing the calendar entry when there is one."""
    # Without a previous status, send the CANCEL anyway: a client ignores one for an unknown UID.
    calendar = previous_status is None or previous_status in MAY_BE_IN_CALENDAR
    was_held = previous_status == AppointmentStatus.AWAITING_REVIEW
    _queue_to_patient(
        appointment,
        _patient(appointment),
        CANCELLED,
        lambda a: messages.cancelled(a, by, calendar, was_held),
    )


def on_review_decided(appointment: Appointment, outcome: str = "", **_: object) -> None:
    """A practitioner approved (confirmed) or declined (cancelled) a booking held for review."""
    if outcome == "approved":
        queue_review_outcome(appointment, approved=True)
    elif outcome == "declined":
        _withdraw_cancellation_notice(appointment)
        queue_review_outcome(appointment, approved=False)


def _withdraw_cancellation_notice(appointment: Appointment) -> None:
    """A decline cancels the booking first; its plain notice ("book another time") gives way to
    the review outcome, which asks the patient to call. Same transaction: nothing was sent."""
    notice = db.session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.dedupe_key == _key(appointment, "cancelled"),
            OutboxMessage.status == OutboxStatus.PENDING,
        )
    )
    if notice is not None:
        db.session.delete(notice)
        db.session.flush()


# --- queueing (the call-back alert is called by the intake's emergency path) ---------------


def queue_review_outcome(appointment: Appointment, approved: bool) -> None:
    """Tell the patient the held booking is confirmed (with its calendar entry) or declined."""
    _queue_to_patient(
        appointment,
        _patient(appointment),
        REVIEW_OUTCOME,
        lambda a: messages.review_outcome(a, approved),
    )


def queue_staff_review_alert(
    appointment: Appointment, urgent: bool | None = None, key_kind: str = "staff-review"
) -> None:
    """Alert the clinic's inbox, and the practitioner when they have an account; "Urgent
    review" when the booking's screening asks for a review today (looked up when not given)."""
    if urgent is None:
        urgent = is_urgent(appointment)
    email = messages.staff_review_alert(appointment, urgent)
    key = _key(appointment, key_kind)
    _enqueue(f"{key}:clinic", STAFF_REVIEW_ALERT, get_clinic().email, email, appointment.id)
    practitioner_email = _practitioner_email(appointment)
    if practitioner_email and practitioner_email.lower() != get_clinic().email.lower():
        _enqueue(
            f"{key}:practitioner", STAFF_REVIEW_ALERT, practitioner_email, email, appointment.id
        )


def on_call_back_raised(call_back: CallBack, **_: object) -> None:
    queue_call_back_alert(call_back)


def on_intake_recorded(intake: Intake, **_: object) -> None:
    """An intake was stored for a booking held for review: its emails say whether it is urgent.

    The online booking queues the "awaiting review" email and the staff alerts when it confirms
    the hold, just before it stores the intake: those rows are still pending in this transaction,
    so they are rewritten in place (same keys, still sent once). When they went out before (an
    intake answered later, e.g. a check-in) and the review is urgent, urgent ones are queued.
    """
    if intake.appointment_id is None:
        return
    appointment = db.session.get(Appointment, intake.appointment_id)
    if appointment is None or appointment.status != AppointmentStatus.AWAITING_REVIEW:
        return
    urgent = is_urgent(appointment)
    alert = messages.staff_review_alert(appointment, urgent)
    rewritten = [
        _rewrite_pending(_key(appointment, "staff-review") + ":clinic", alert),
        _rewrite_pending(_key(appointment, "staff-review") + ":practitioner", alert),
        _rewrite_pending(
            _key(appointment, "awaiting-review"), messages.awaiting_review(appointment, urgent)
        ),
    ]
    if urgent and not any(rewritten):
        queue_staff_review_alert(appointment, urgent=True, key_kind="staff-review-urgent")
        _queue_to_patient(
            appointment,
            _patient(appointment),
            AWAITING_REVIEW,
            lambda a: messages.awaiting_review(a, urgent=True),
            key_kind="awaiting-review-urgent",
        )


def is_urgent(appointment: Appointment) -> bool:
    """Does the booking's latest intake ask for a review today?"""
    return appointment.id in urgent_appointment_ids([appointment.id])


def _rewrite_pending(key: str, email: Email) -> bool:
    """Give a queued, unsent message new contents; False when there is none pending."""
    row = db.session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.dedupe_key == key, OutboxMessage.status == OutboxStatus.PENDING
        )
    )
    if row is None:
        return False
    _set_contents(row, email)
    return True


def _set_contents(row: OutboxMessage, email: Email) -> None:
    row.subject = email.subject
    row.text_body = email.text
    row.html_body = email.html or None
    row.ics = email.ics.decode("utf-8") if email.ics is not None else None


def queue_call_back_alert(call_back: CallBack) -> None:
    """Alert the clinic's inbox that an emergency-tier screening needs a call back (flushed)."""
    email = messages.staff_call_back_alert(call_back.raised_at or now_utc())
    key = f"call-back:{call_back.id}:staff-alert"
    _enqueue(key, STAFF_CALL_BACK_ALERT, get_clinic().email, email)


def on_waitlist_time_offered(entry: WaitlistEntry, slot: Slot, **_: object) -> bool:
    """Email the offer; False when this time was offered to this entry before."""
    key = f"waitlist-offer:{entry.id}:{slot.practitioner_id}:{slot.start:%Y%m%dT%H%M%SZ}"
    email = messages.waitlist_offer(entry, slot)
    return _enqueue(key, WAITLIST_OFFER, entry.patient.email, email) is not None


def queue_intake_request(appointment: Appointment) -> bool:
    """Email a desk-booked first-visit patient the link to their visit's health questionnaire
    (or to call). False when the patient has no email or was already asked."""
    patient = _patient(appointment)
    if patient is None or not patient.email:
        return False
    email = messages.intake_request(appointment)
    key = f"intake-request:{appointment.id}"
    return _enqueue(key, INTAKE_REQUEST, patient.email, email, appointment.id) is not None


def queue_sign_in_links(email: str, now: datetime) -> int:
    """Someone asked to book a follow-up with this email: one email per patient who has it
    (families share an address), each greeting its patient by first name. How many were
    queued; the asker is never told (the page answers the same for any address)."""
    return sum(queue_sign_in_link(patient, now) for patient in patients_with_email(email))


def queue_sign_in_link(patient: Patient, now: datetime) -> bool:
    """Email the patient a one-time link to book a follow-up; a patient with no completed
    first-visit questionnaire is asked to book a first visit instead (and gets no link)."""
    if not patient.email:
        return False
    if has_completed_first_visit_intake(patient.id):
        token = issue_sign_in_link(patient.id, now)
        link = external_url("returning.open_link", token=token)
        key = f"sign-in-link:{patient.id}:{hash_token(token)[:16]}"
        kind, email = SIGN_IN_LINK, messages.sign_in_link(patient, link)
    else:
        key = f"first-visit-needed:{patient.id}:{now:%Y%m%dT%H%M%S}:{secrets.token_hex(4)}"
        kind, email = FIRST_VISIT_NEEDED, messages.first_visit_needed(patient)
    return _enqueue(key, kind, patient.email, email) is not None


def reminder_time(starts_at: datetime) -> datetime:
    """10:00 clinic time on the day before the visit, as UTC (right across daylight saving)."""
    zone = get_clinic().zone
    day_before = starts_at.astimezone(zone).date() - timedelta(days=1)
    return datetime.combine(day_before, REMINDER_AT, zone).astimezone(UTC)


def _queue_later_messages(appointment: Appointment, patient: Patient | None) -> None:
    """The reminder and, after a first visit, the after-care note, for this version."""
    if patient is None:
        return
    now = now_utc()
    send_reminder_at = reminder_time(appointment.starts_at)
    if send_reminder_at > now:
        _queue_to_patient(
            appointment, patient, REMINDER, messages.reminder, send_after=send_reminder_at
        )
    if appointment.service.kind == VisitKind.FIRST_VISIT:
        _queue_to_patient(
            appointment,
            patient,
            AFTER_CARE,
            messages.after_care,
            send_after=appointment.ends_at + AFTER_CARE_DELAY,
        )


def _queue_to_patient(
    appointment: Appointment,
    patient: Patient | None,
    kind: str,
    build,
    send_after: datetime | None = None,
    key_kind: str | None = None,
) -> None:
    """Queue one message to the patient, keyed by appointment, kind and sequence."""
    if patient is None or not patient.email:
        return  # a block or a phone booking without an email: nobody to write to
    key = _key(appointment, key_kind or kind.replace("_", "-"))
    _enqueue(key, kind, patient.email, build(appointment), appointment.id, send_after)


def _enqueue(
    key: str,
    kind: str,
    recipient: str,
    email: Email,
    appointment_id: int | None = None,
    send_after: datetime | None = None,
) -> OutboxMessage | None:
    """Queue the email; None when a message with the key was queued before."""
    return enqueue(
        dedupe_key=key,
        kind=kind,
        recipient=recipient,
        subject=email.subject,
        text_body=email.text,
        html_body=email.html or None,
        ics=email.ics,
        appointment_id=appointment_id,
        send_after=send_after,
    )


def _key(appointment: Appointment, kind: str) -> str:
    return f"appointment:{appointment.id}:{kind}:{appointment.sequence}"


def _patient(appointment: Appointment) -> Patient | None:
    if appointment.patient_id is None:
        return None
    return db.session.get(Patient, appointment.patient_id)


def _practitioner_email(appointment: Appointment) -> str | None:
    user_id = appointment.practitioner.user_id
    if user_id is None:
        return None
    return db.session.scalar(select(User.email).where(User.id == user_id, User.active))


# --- still applies? (run by the worker right before sending) --------------------------------


def reminder_still_applies(message: OutboxMessage) -> bool:
    """The visit is still confirmed, unchanged since the reminder was queued, and to come."""
    appointment = _appointment_of(message)
    return (
        appointment is not None
        and appointment.status == AppointmentStatus.CONFIRMED
        and appointment.sequence == _sequence_of(message)
        and now_utc() < appointment.starts_at
    )


def after_care_still_applies(message: OutboxMessage) -> bool:
    """The first visit took place (checked in or completed) at the time the note was queued
    for, and recently."""
    appointment = _appointment_of(message)
    return (
        appointment is not None
        and appointment.status in AFTER_CARE_STATUSES
        and appointment.sequence == _sequence_of(message)
        and now_utc() < appointment.ends_at + AFTER_CARE_LATEST
    )


def refresh_after_care(message: OutboxMessage) -> None:
    """Write the after-care note as it stands now, with the needling advice only when needles
    were used at the visit (its recorded outcome says so; `needles_used`).

    Why rewrite at sending rather than queue it later: the note is queued with the booking, in
    the booking's transaction, under the visit's own key, and is sent once; but whether needles
    were used is known only when the practitioner records the visit's outcome, after the visit.
    Queueing it when the desk checks the patient in or completes the visit would need those
    actions to tell notify (a signal the desk's visit service does not send) and would still
    come before the outcome. So the row stays as queued, the worker checks that the visit took
    place (`after_care_still_applies`) and this hook, in the same transaction as that check,
    rebuilds the body from the visit and its outcome two hours after it ended.
    """
    appointment = _appointment_of(message)
    if appointment is None:
        return  # not reached: the still-applies check refused it
    _set_contents(message, messages.after_care(appointment, needles_used(appointment.id)))


def _appointment_of(message: OutboxMessage) -> Appointment | None:
    if message.appointment_id is None:
        return None
    return db.session.get(Appointment, message.appointment_id)


def _sequence_of(message: OutboxMessage) -> int:
    """The appointment's sequence the message was made for: the last part of its key."""
    return int(message.dedupe_key.rsplit(":", 1)[1])

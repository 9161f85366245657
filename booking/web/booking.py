"""The public booking flow: visit type, practitioner, time, hold, contact details, confirmation.

For a first visit the intake questionnaire (booking/web/intake.py) runs between the contact
details and the booking; a follow-up is booked right after the returning patient's details (its
check-in is asked in the 72 hours before the visit, through the visit's own link).
`booking.intake.completion.finish_booking` is where it ends and `show_outcome` shows what it
came to.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address
from sqlalchemy import select

from booking.clinic.service import get_clinic
from booking.db import now_utc
from booking.extensions import db, limiter
from booking.intake.completion import Emergency, Hold, Outcome, Taken, finish_booking
from booking.intake.service import may_book
from booking.intake.urgency import urgent_appointment_ids
from booking.scheduling.availability import Slot
from booking.scheduling.hold_cap import HoldCapReached, claim_for_email, client_digest
from booking.scheduling.models import (
    Appointment,
    AppointmentStatus,
    Practitioner,
    Service,
    VisitKind,
)
from booking.scheduling.service import (
    SlotNotOffered,
    SlotTaken,
    active_service,
    bookable_practitioners,
    find_free_slots,
    find_live_hold,
    first_free_day,
    hold_seconds_left,
    hold_slot,
    nearest_free_slots,
    replace_hold,
)
from booking.web.booking_flow import (
    CONFIRMED_KEY,
    DRAFT_KEY,
    EMERGENCY_KEY,
    BookingFlow,
    ended_booking,
)
from booking.web.filters import local_time
from booking.web.forms import ButtonForm, ContactForm, HoldForm
from booking.web.intake_flow import IntakeDraft, resume_url
from booking.web.parsing import as_id, parse_day
from booking.web.returning import contact_details, remembered_patient, remembered_patient_id

bp = Blueprint("booking", __name__, url_prefix="/book")
WEEK = 7


def service_or_404(slug: str) -> Service:
    return active_service(slug) or abort(404)


def chosen_practitioner(service: Service, value: str) -> Practitioner | None:
    """The practitioner asked for by id, or None for "first available"."""
    practitioner_id = as_id(value)
    if practitioner_id is None:
        return None
    found = bookable_practitioners(service, practitioner_id)
    return found[0] if found else abort(404)


def follow_up_refused(service: Service | None, flow: BookingFlow | None = None):
    """A follow-up is for the signed-in returning patient with a completed first-visit intake
    (and a booking in progress must be theirs): anyone else is sent to "Book a follow-up",
    which also offers a first visit. None when the visit may be booked."""
    if service is None or service.kind != VisitKind.FOLLOW_UP:
        return None
    patient_id = remembered_patient_id()
    mine = flow is None or flow.patient_id == patient_id
    if mine and may_book(service, patient_id):
        return None
    return redirect(url_for("returning.ask"), code=303)


def booking_for(service: Service) -> int | None:
    """Whose booking a new flow is: the signed-in patient's for a follow-up, else nobody's yet
    (a first visit is matched to a patient by the details typed)."""
    return remembered_patient_id() if service.kind == VisitKind.FOLLOW_UP else None


@bp.get("/")
def choose_service():
    kind = request.args.get("kind")
    query = select(Service).where(Service.active).order_by(Service.id)
    if kind in set(VisitKind):
        query = query.where(Service.kind == VisitKind(kind))
    return render_template(
        "booking/choose_service.html",
        services=list(db.session.scalars(query)),
        kind=kind,
        patient=remembered_patient(),
    )


@bp.get("/<slug>")
def choose_practitioner(slug: str):
    service = service_or_404(slug)
    if refused := follow_up_refused(service):
        return refused
    practitioners = bookable_practitioners(service)
    return render_template(
        "booking/choose_practitioner.html", service=service, practitioners=practitioners
    )


@bp.get("/<slug>/times")
def times(slug: str):
    service = service_or_404(slug)
    if refused := follow_up_refused(service):
        return refused
    practitioner_value = request.args.get("practitioner", "any")
    practitioner = chosen_practitioner(service, practitioner_value)
    now = now_utc()
    week = times_week(service, practitioner, request.args.get("start"), now)
    return render_template(
        "booking/times.html",
        service=service,
        practitioner=practitioner,
        practitioner_value=practitioner_value,
        week=week,
        form=HoldForm(),
    )


def booking_hold_rate_limit() -> str:
    """How often one client may choose a time, from the config (tests and deployments tune it)."""
    return current_app.config["BOOKING_HOLD_RATE_LIMIT"]


@bp.post("/hold")
@limiter.limit(booking_hold_rate_limit)
def hold():
    form = HoldForm()
    if not form.validate():
        abort(400)
    service = form.chosen_service() or abort(404)
    if refused := follow_up_refused(service):
        return refused
    flow, previous = flow_for(service, form.practitioner.data or "any")
    now = now_utc()
    try:
        new_hold = hold_slot(
            service, form.start.instant, now, form.practitioner_id(),
            client=client_digest(get_remote_address()), replacing=previous,
        )
    except HoldCapReached as cap:
        return render_too_many_holds(service, flow, cap, form.start.instant)
    except SlotTaken as taken:
        return render_taken(service, flow, taken.alternatives, form.start.instant)
    except SlotNotOffered:
        return render_taken(
            service, flow, nearest_free_slots(service, form.start.instant, now), None
        )
    give_back_previous_hold(previous, new_hold)
    flow.take_hold(new_hold)
    flow.save()
    # Details and answers already given are kept: continue where the patient left off.
    return redirect(resume_url(flow), code=303)


def flow_for(service: Service, practitioner: str) -> tuple[BookingFlow, Appointment | None]:
    """The session's booking of this visit (details and answers kept; a booking of another
    visit type in progress is given up) and the hold it had, which the new one replaces."""
    patient_id = booking_for(service)
    flow = BookingFlow.load()
    previous = flow.hold() if flow is not None else None
    if flow is not None and (flow.service_id, flow.patient_id) != (service.id, patient_id):
        flow.discard()
        flow = None
    flow = flow or BookingFlow(service_id=service.id, patient_id=patient_id)
    flow.practitioner = practitioner
    return flow, previous


def give_back_previous_hold(previous: Appointment | None, new_hold: Appointment) -> None:
    """A browser has at most one live hold: choosing again frees the time chosen before."""
    if previous is not None:
        replace_hold(previous, new_hold)


def render_too_many_holds(service: Service, flow: BookingFlow, cap: HoldCapReached, wanted):
    """This address keeps its most live holds: say so, when one frees, and keep the choice."""
    flow.save()
    return render_template(
        "booking/too_many_holds.html",
        service=service,
        flow=flow,
        cap=cap,
        wanted=wanted,
        form=HoldForm(),
    ), 429


@bp.get("/resume/<id:hold_id>/<key>")
def resume_hold(hold_id: int, key: str):
    """Continue a hold made elsewhere (a clinic website through the API)."""
    found = find_live_hold(hold_id, key, now_utc())
    if found is None:
        return render_template("booking/hold_ended.html"), 410
    if refused := follow_up_refused(found.service):
        return refused
    flow, previous = flow_for(found.service, str(found.practitioner_id))
    if previous is not None and previous.id != found.id:
        give_back_previous_hold(previous, found)
    flow.take_hold(found)
    flow.save()
    return redirect(url_for(".details"), code=303)


@bp.route("/details", methods=["GET", "POST"])
def details():
    flow = BookingFlow.load()
    if flow is None or flow.hold_id is None:
        return where_it_ended() or redirect(url_for(".choose_service"))
    if refused := follow_up_refused(flow.service, flow):
        return refused
    if flow.patient_id is not None:
        return returning_details(flow)
    form = ContactForm(data=flow.contact() if flow.details else None)
    if form.validate_on_submit() and email_may_hold(flow, form):
        flow.details = form.to_session()
        flow.save()
        first_step = IntakeDraft(flow).steps[0]
        return redirect(url_for("intake.step", step_id=first_step.id), code=303)
    held = flow.hold()
    if held is None:
        return time_gone(flow)
    seconds_left = hold_seconds_left(held, now_utc())
    page = render_template("booking/details.html", form=form, hold=held, seconds_left=seconds_left)
    return page, 422 if form.is_submitted() else 200


def email_may_hold(flow: BookingFlow, form: ContactForm) -> bool:
    """Mark the hold with the email typed, unless that email keeps its most live holds already
    (then the email field says so and what to do)."""
    held = flow.hold()
    if held is None:
        return True
    try:
        claim_for_email(held, form.email.data, now_utc())
    except HoldCapReached as cap:
        form.email.errors.append(
            f"This email address already has {cap.limit} times held. Finish one of those "
            f"bookings, or wait until {local_time(cap.frees_at)} when the first is let go."
        )
        return False
    return True


def returning_details(flow: BookingFlow):
    """The signed-in patient's details come from their record: shown, never typed again."""
    patient = remembered_patient() or abort(404)
    form = ButtonForm()
    if form.validate_on_submit():
        flow.details = contact_details(patient)
        flow.save()
        if flow.service.kind == VisitKind.FOLLOW_UP:
            return book_without_questions(flow)
        first_step = IntakeDraft(flow).steps[0]
        return redirect(url_for("intake.step", step_id=first_step.id), code=303)
    held = flow.hold()
    if held is None:
        return time_gone(flow)
    return render_template(
        "booking/details_returning.html",
        form=form,
        patient=patient,
        hold=held,
        seconds_left=hold_seconds_left(held, now_utc()),
    ), 400 if form.is_submitted() else 200


def book_without_questions(flow: BookingFlow):
    """A follow-up: booked and confirmed now; its check-in comes in the 72 hours before it."""
    outcome = finish_booking(
        Hold(flow.hold_id, flow.hold_key), flow.contact(), flow.service, flow.practitioner_id,
        now_utc(), patient_id=flow.patient_id,
    )
    return show_outcome(flow, outcome)


def time_gone(flow: BookingFlow):
    now = now_utc()
    gone = Taken(now, nearest_free_slots(flow.service, now, now, flow.practitioner_id))
    return show_outcome(flow, gone)


def show_outcome(flow: BookingFlow, outcome: Outcome):
    """Show where the booking ended: the confirmation, the nearest free times, or the
    emergency advice (whose address says nothing about the answers)."""
    if isinstance(outcome, Taken):
        return render_taken(flow.service, flow, outcome.alternatives, outcome.wanted)
    if isinstance(outcome, Emergency):
        flow.end(intake_id=outcome.intake.id)
        return show_emergency_advice(outcome.intake.id)
    flow.end(appointment_id=outcome.appointment.id)
    return show_confirmation(outcome.appointment.id)


def where_it_ended():
    """The page where the session's booking ended, for a second tap on the last button (its
    request still carries the draft the first tap ended); None if no booking has ended."""
    ended = ended_booking()
    if ended is None:
        return None
    if ended.emergency_intake_id is not None:
        return show_emergency_advice(ended.emergency_intake_id)
    return show_confirmation(ended.booked_appointment_id)


def show_emergency_advice(intake_id: int):
    session.pop(DRAFT_KEY, None)
    session[EMERGENCY_KEY] = intake_id
    return redirect(url_for("intake.outcome"), code=303)


def show_confirmation(appointment_id: int):
    session.pop(DRAFT_KEY, None)
    session[CONFIRMED_KEY] = appointment_id
    return redirect(url_for("booking.confirmed"), code=303)


def render_taken(service: Service, flow: BookingFlow, alternatives: list[Slot], wanted):
    """The time is gone: offer the nearest free times (what was typed is kept in the draft,
    saved before; this answer rolls the request back)."""
    return render_template(
        "booking/taken.html",
        service=service,
        flow=flow,
        wanted=wanted,
        days=by_local_day(slot_choices(alternatives)),
        form=HoldForm(),
    ), 409


@bp.get("/confirmed")
def confirmed():
    appointment_id = session.get(CONFIRMED_KEY)
    appointment = db.session.get(Appointment, appointment_id) if appointment_id else None
    if appointment is None:
        return redirect(url_for(".choose_service"))
    awaiting_review = appointment.status == AppointmentStatus.AWAITING_REVIEW
    return render_template(
        "booking/confirmed.html",
        appointment=appointment,
        awaiting_review=awaiting_review,
        # An urgent review: we call today; nobody by the evening, an urgent-care doctor today.
        urgent=awaiting_review and appointment.id in urgent_appointment_ids([appointment.id]),
    )


# --- Preparing the week of times -----------------------------------------------------------


def slot_choices(slots: list[Slot]) -> list[datetime]:
    """One choice per start time: "first available" picks the practitioner when held."""
    return sorted({slot.start for slot in slots})


def by_local_day(starts: list[datetime]) -> list[tuple[date, list[datetime]]]:
    """Start times grouped by their day in the clinic's zone, in order."""
    zone = get_clinic().zone
    days: dict[date, list[datetime]] = {}
    for start in starts:
        days.setdefault(start.astimezone(zone).date(), []).append(start)
    return list(days.items())


def times_week(service: Service, practitioner: Practitioner | None, start: str | None, now):
    """Seven days of free times from the requested day (or the first day with any)."""
    clinic = get_clinic()
    today = now.astimezone(clinic.zone).date()
    last_bookable = (now + clinic.horizon).astimezone(clinic.zone).date()
    practitioner_id = practitioner.id if practitioner else None
    first_free = first_free_day(service, now, practitioner_id)
    first_day = parse_day(start) or first_free or today
    first_day = min(max(first_day, today), last_bookable)
    last_day = first_day + timedelta(days=WEEK - 1)
    slots = find_free_slots(service, first_day, last_day, now, practitioner_id)
    free = dict(by_local_day(slot_choices(slots)))
    week = [first_day + timedelta(days=i) for i in range(WEEK)]
    return {
        "days": [(day, free.get(day, [])) for day in week],
        "previous": first_day - timedelta(days=WEEK) if first_day > today else None,
        "next": last_day + timedelta(days=1) if last_day < last_bookable else None,
        "next_available": first_free,
        "showing_next_available": first_free is not None and first_day == first_free,
    }

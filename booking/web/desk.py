"""The front desk: day and week calendars, booking phone callers, visit actions, patients,
the "needs attention" list and the waitlist. Every page works without JavaScript.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_security import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from booking.audit.service import record_audit
from booking.clinic.service import get_clinic
from booking.db import now_utc
from booking.extensions import db
from booking.intake.models import CallBack
from booking.patients.models import Patient
from booking.patients.search import search_patients
from booking.patients.service import find_or_create_patient
from booking.scheduling import waitlist
from booking.scheduling.availability import Slot
from booking.scheduling.changes import NotChangeable
from booking.scheduling.desk import (
    TRANSITIONS,
    DeskActionRefused,
    add_time_off,
    allowed_actions,
    attention_count,
    book_for_caller,
    cancel_visit,
    change_status,
    free_starts,
    local_start,
    mark_called,
    move_visit,
    needs_attention,
    queue_intake_request,
    remove_time_off,
    wants_intake,
)
from booking.scheduling.desk_calendar import (
    day_board,
    latest_tiers,
    week_board,
    week_start,
)
from booking.scheduling.models import (
    Appointment,
    AppointmentStatus,
    Practitioner,
    Service,
    TimeOff,
    WaitlistEntry,
)
from booking.scheduling.service import (
    SlotNotOffered,
    SlotTaken,
    bookable_practitioners,
    first_free_day,
)
from booking.web.desk_forms import (
    ActionForm,
    BookForm,
    CallBackForm,
    CancelForm,
    MoveForm,
    TimeOffForm,
    WaitlistForm,
    optional_id,
)
from booking.web.forms import ContactForm
from booking.web.roles import DESK, staff_required

bp = Blueprint("desk", __name__, url_prefix="/staff/desk")

TAKEN = "That time is taken. Choose one of the nearest free times below."
NOT_OFFERED = "That time is not one the clinic offers (outside hours, too soon or too far ahead)."


@bp.context_processor
def desk_globals():
    return {
        "attention_count": attention_count(now_utc()),
    }




# --- Calendars -------------------------------------------------------------------------------


@bp.get("/")
@staff_required(*DESK)
def index():
    return redirect(url_for(".day"))


@bp.get("/day")
@staff_required(*DESK)
def day():
    now = now_utc()
    shown = parse_day(request.args.get("date")) or local_today(now)
    return render_template(
        "desk/day.html",
        board=day_board(shown, now),
        shown=shown,
        nav=day_links(shown, now, step=1),
    )


@bp.get("/week")
@staff_required(*DESK)
def week():
    now = now_utc()
    practitioners = active_practitioners()
    chosen = optional_id(request.args.get("practitioner"))
    practitioner = next((p for p in practitioners if p.id == chosen), None)
    if practitioner is None:
        practitioner = practitioners[0] if practitioners else abort(404)
    first = week_start(parse_day(request.args.get("date")) or local_today(now))
    return render_template(
        "desk/week.html",
        board=week_board(practitioner, first, now),
        practitioner=practitioner,
        practitioners=practitioners,
        shown=first,
        nav=day_links(first, now, step=7),
        time_off=week_time_off(practitioner, first),
        time_off_form=TimeOffForm(practitioner=practitioner.id, first_day=first),
    )


# --- One appointment: its page and its actions -------------------------------------------------


@bp.get("/appointments/<int:appointment_id>")
@staff_required(*DESK)
def appointment(appointment_id: int):
    return render_appointment(find_appointment(appointment_id))


@bp.post("/appointments/<int:appointment_id>/move")
@staff_required(*DESK)
def move(appointment_id: int):
    visit = find_appointment(appointment_id)
    form = MoveForm()
    if not form.validate():
        return refused(visit, first_error(form), 422)
    try:
        move_visit(visit, form.day.data, form.time.data, now_utc(), form.practitioner_id())
    except SlotTaken as taken:
        return refused(visit, TAKEN, 409, taken.alternatives)
    except SlotNotOffered:
        return refused(visit, NOT_OFFERED, 409)
    except (DeskActionRefused, NotChangeable) as error:
        return refused(visit, str(error), 409)
    return done(visit, f"Moved to {when_said(visit.starts_at)} with {visit.practitioner.name}.")


@bp.post("/appointments/<int:appointment_id>/cancel")
@staff_required(*DESK)
def cancel(appointment_id: int):
    visit = find_appointment(appointment_id)
    form = CancelForm()
    if not form.validate():
        return render_appointment(visit, cancel_form=form, status=422)
    try:
        cancel_visit(visit, form.reason.data, now_utc())
    except (DeskActionRefused, NotChangeable) as error:
        return refused(visit, str(error), 409)
    return done(visit, "The visit is cancelled. The patient is told by email.")


@bp.post("/appointments/<int:appointment_id>/check-in")
@staff_required(*DESK)
def check_in(appointment_id: int):
    return transition(appointment_id, "check_in", "Checked in.")


@bp.post("/appointments/<int:appointment_id>/complete")
@staff_required(*DESK)
def complete(appointment_id: int):
    return transition(appointment_id, "complete", "Marked completed.")


@bp.post("/appointments/<int:appointment_id>/no-show")
@staff_required(*DESK)
def no_show(appointment_id: int):
    return transition(appointment_id, "no_show", "Marked as a no-show.")


@bp.post("/appointments/<int:appointment_id>/undo")
@staff_required(*DESK)
def undo(appointment_id: int):
    return transition(appointment_id, "undo", "Back to confirmed.")


# --- Booking a phone caller --------------------------------------------------------------------


@bp.get("/book")
@staff_required(*DESK)
def book():
    return render_book()


@bp.post("/book")
@staff_required(*DESK)
def book_time():
    form = BookForm()
    patient = db.session.get(Patient, optional_id(form.patient.data)) or abort(404)
    service = active_service(optional_id(form.service.data)) or abort(404)
    if not form.validate():
        return render_book(error=first_error(form), status=422)
    now = now_utc()
    try:
        start = local_start(form.day.data, form.time.data, get_clinic().zone)
        visit = book_for_caller(patient, service, start, now, form.practitioner_id())
    except SlotTaken as taken:
        return render_book(error=TAKEN, alternatives=taken.alternatives, status=409)
    except (SlotNotOffered, DeskActionRefused):
        return render_book(error=NOT_OFFERED, status=409)
    if form.send_intake.data and wants_intake(service):
        queue_intake_request(visit)
    flash(f"Booked {patient.full_name} for {when_said(visit.starts_at)} "
          f"with {visit.practitioner.name}.", "success")
    return redirect(url_for(".appointment", appointment_id=visit.id), code=303)


@bp.post("/patients")
@staff_required(*DESK)
def patient_new():
    form = ContactForm()
    if not form.validate():
        return render_book(patient_form=form, status=422)
    patient = find_or_create_patient(
        form.first_name.data, form.last_name.data, form.date_of_birth.data, form.email.data,
        form.phone.data,
    )
    record_audit("patient.saved", "patient", patient.id)
    return redirect(url_for(".book", patient=patient.id), code=303)


# --- Patients ----------------------------------------------------------------------------------


@bp.get("/patients")
@staff_required(*DESK)
def patients():
    query = request.args.get("q", "").strip()
    return render_template("desk/patients.html", q=query, matches=search_patients(query))


@bp.get("/patients/<int:patient_id>")
@staff_required(*DESK)
def patient(patient_id: int):
    found = db.session.get(Patient, patient_id) or abort(404)
    return render_patient(found, waitlist_form_for(found))


# --- Needs attention -------------------------------------------------------------------------


@bp.get("/attention")
@staff_required(*DESK)
def attention():
    return render_template(
        "desk/attention.html", attention=needs_attention(now_utc()), form=CallBackForm()
    )


@bp.post("/call-backs/<int:call_back_id>/called")
@staff_required(*DESK)
def call_back_called(call_back_id: int):
    call_back = db.session.get(CallBack, call_back_id) or abort(404)
    form = CallBackForm()
    if not form.validate():
        flash(first_error(form), "error")
    else:
        try:
            mark_called(call_back, form.note.data, now_utc(), current_user.id)
            flash(f"Marked the call to {call_back.patient.full_name} as made.", "success")
        except DeskActionRefused as error:
            flash(str(error), "error")
    return redirect(url_for(".attention"), code=303)


# --- Time off and blocks -----------------------------------------------------------------------


@bp.post("/time-off")
@staff_required(*DESK)
def time_off_add():
    form = TimeOffForm()
    practitioner = db.session.get(Practitioner, optional_id(form.practitioner.data)) or abort(404)
    if not form.validate():
        flash(first_error(form), "error")
        return redirect(url_for(".week", practitioner=practitioner.id), code=303)
    zone = get_clinic().zone
    try:
        starts_at = local_start(form.first_day.data, form.starts.data, zone)
        ends_at = local_start(form.last_day.data or form.first_day.data, form.ends.data, zone)
        _, clashes = add_time_off(practitioner, starts_at, ends_at, form.reason.data)
    except DeskActionRefused as error:
        flash(str(error), "error")
        return redirect(url_for(".week", practitioner=practitioner.id), code=303)
    flash(f"Blocked {span_said(starts_at, ends_at)}.", "success")
    if clashes:
        flash(f"{clashes} booked visit(s) fall in that time: move or cancel them.", "warning")
    return redirect(url_for(".week", practitioner=practitioner.id,
                            date=form.first_day.data.isoformat()), code=303)


@bp.post("/time-off/<int:time_off_id>/delete")
@staff_required(*DESK)
def time_off_delete(time_off_id: int):
    time_off = db.session.get(TimeOff, time_off_id) or abort(404)
    practitioner_id, day_of = time_off.practitioner_id, local_day(time_off.starts_at)
    remove_time_off(time_off)
    flash("Time off removed.", "success")
    return redirect(url_for(".week", practitioner=practitioner_id, date=day_of.isoformat()),
                    code=303)


# --- Waitlist ----------------------------------------------------------------------------------


@bp.get("/waitlist")
@staff_required(*DESK)
def waitlist_page():
    return render_template(
        "desk/waitlist.html", entries=waitlist.open_entries(), form=ActionForm()
    )


@bp.post("/patients/<int:patient_id>/waitlist")
@staff_required(*DESK)
def waitlist_add(patient_id: int):
    found = db.session.get(Patient, patient_id) or abort(404)
    form = waitlist_form_for(found)
    if not form.validate():
        return render_patient(found, form, status=422)
    earliest, latest = form.time_window()
    waitlist.add_to_waitlist(
        found,
        db.session.get(Service, int(form.service.data)),
        practitioner_id=optional_id(form.practitioner.data),
        weekdays=form.weekday_numbers(),
        earliest_start=earliest,
        latest_end=latest,
        appointment_id=optional_id(form.appointment.data),
    )
    flash(f"{found.full_name} is on the waitlist.", "success")
    return redirect(url_for(".patient", patient_id=found.id), code=303)


@bp.post("/waitlist/<int:entry_id>/withdraw")
@staff_required(*DESK)
def waitlist_withdraw(entry_id: int):
    entry = db.session.get(WaitlistEntry, entry_id) or abort(404)
    waitlist.withdraw(entry)
    flash(f"{entry.patient.full_name} is off the waitlist.", "success")
    if request.form.get("back") == "patient":
        return redirect(url_for(".patient", patient_id=entry.patient_id), code=303)
    return redirect(url_for(".waitlist_page"), code=303)


# --- Helpers: loading, answering, preparing pages ----------------------------------------------


def parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def local_today(now: datetime) -> date:
    return now.astimezone(get_clinic().zone).date()


def local_day(moment: datetime) -> date:
    return moment.astimezone(get_clinic().zone).date()


def when_said(moment: datetime) -> str:
    local = moment.astimezone(get_clinic().zone)
    return local.strftime("%A, %B %-d at %-I:%M %p")


def span_said(start: datetime, end: datetime) -> str:
    """'Monday, November 23 from 12:00 PM to 1:00 PM', or with both days when they differ."""
    if local_day(start) == local_day(end):
        until = end.astimezone(get_clinic().zone).strftime("%-I:%M %p")
        return f"{when_said(start).replace(' at ', ' from ')} to {until}"
    return f"{when_said(start)} to {when_said(end)}"


def day_links(shown: date, now: datetime, step: int) -> dict[str, date]:
    return {
        "previous": shown - timedelta(days=step),
        "next": shown + timedelta(days=step),
        "today": local_today(now),
    }


def active_practitioners() -> list[Practitioner]:
    return list(db.session.scalars(
        select(Practitioner).where(Practitioner.active.is_(True))
        .order_by(Practitioner.name, Practitioner.id)
    ))


def active_services() -> list[Service]:
    return list(db.session.scalars(
        select(Service).where(Service.active.is_(True)).order_by(Service.id)
    ))


def active_service(service_id: int | None) -> Service | None:
    service = db.session.get(Service, service_id) if service_id else None
    return service if service is not None and service.active else None


def find_appointment(appointment_id: int) -> Appointment:
    found = db.session.get(Appointment, appointment_id)
    return found or abort(404)


def week_time_off(practitioner: Practitioner, first: date) -> list[TimeOff]:
    zone = get_clinic().zone
    start = datetime.combine(first, datetime.min.time(), zone)
    end = datetime.combine(first + timedelta(days=7), datetime.min.time(), zone)
    return list(db.session.scalars(
        select(TimeOff).where(
            TimeOff.practitioner_id == practitioner.id,
            TimeOff.starts_at < end, TimeOff.ends_at > start,
        ).order_by(TimeOff.starts_at)
    ))


def one_per_start(slots) -> list[Slot]:
    """The nearest free times once each (the lowest practitioner id when several are free)."""
    by_start: dict[datetime, Slot] = {}
    for slot in sorted(slots):
        by_start.setdefault(slot.start, slot)
    return list(by_start.values())


def wants_json() -> bool:
    accepted = request.accept_mimetypes
    return accepted.best_match(["application/json", "text/html"]) == "application/json"


def first_error(form) -> str:
    for name, errors in form.errors.items():
        if name == "csrf_token":
            return "The form expired. Please reload the page and try again."
        if errors:
            return f"{form[name].label.text}: {errors[0]}"
    return "Please check the form."


def done(visit: Appointment, message: str):
    """A change went through: JSON for the calendar's script, otherwise back to the visit."""
    flash(message, "success")
    if wants_json():
        return jsonify(ok=True, message=message)
    return redirect(url_for(".appointment", appointment_id=visit.id), code=303)


def refused(visit: Appointment, message: str, status: int, alternatives: list[Slot] = ()):
    """A change refused cleanly: nothing changed, the reason said, the nearest times offered."""
    if wants_json():
        return jsonify(ok=False, message=message), status
    return render_appointment(visit, error=message, alternatives=alternatives, status=status)


def transition(appointment_id: int, action: str, message: str):
    visit = find_appointment(appointment_id)
    try:
        change_status(visit, action, now_utc())
    except DeskActionRefused as error:
        return refused(visit, str(error), 409)
    return done(visit, message)


def render_appointment(visit: Appointment, error: str | None = None,
                       alternatives=(), cancel_form=None, status: int = 200):
    now = now_utc()
    move_day = parse_day(request.args.get("day")) or local_day(visit.starts_at)
    move_to = optional_id(request.args.get("practitioner")) or visit.practitioner_id
    return render_template(
        "desk/appointment.html",
        visit=visit,
        tier=latest_tiers([visit.id]).get(visit.id),
        actions=allowed_actions(visit, now),
        transitions=TRANSITIONS,
        error=error,
        alternatives=one_per_start(alternatives),
        move_day=move_day,
        move_to=move_to,
        move_practitioners=bookable_practitioners(visit.service),
        move_times=[
            start
            for start in free_starts(visit.service, move_day, now, move_to, ignore_id=visit.id)
            if (start, move_to) != (visit.starts_at, visit.practitioner_id)  # where it is now
        ],
        form=ActionForm(),
        move_form=MoveForm(),
        cancel_form=cancel_form or CancelForm(),
    ), status


def render_book(error: str | None = None, alternatives=(), patient_form=None, status: int = 200):
    """The book-a-caller page from the request's choices (query string or the posted form)."""
    values = request.values
    patient = db.session.get(Patient, optional_id(values.get("patient")) or 0)
    service = active_service(optional_id(values.get("service")))
    practitioner_value = values.get("practitioner") or "any"
    practitioner_id = optional_id(practitioner_value)
    now = now_utc()
    shown = parse_day(values.get("day")) or (
        service and first_free_day(service, now, practitioner_id)) or local_today(now)
    query = values.get("q", "").strip()
    return render_template(
        "desk/book.html",
        patient=patient,
        q=query,
        matches=search_patients(query) if query and not patient else [],
        patient_form=patient_form or ContactForm(formdata=None),
        services=active_services(),
        service=service,
        practitioners=bookable_practitioners(service) if service else active_practitioners(),
        practitioner_value=practitioner_value,
        shown=shown,
        times=free_starts(service, shown, now, practitioner_id) if service and patient else [],
        alternatives=one_per_start(alternatives),
        error=error,
        form=BookForm(formdata=None),
        wants_intake=bool(service and wants_intake(service)),
    ), status


def waitlist_form_for(found: Patient) -> WaitlistForm:
    form = WaitlistForm()
    form.service.choices = [SelectChoice(str(s.id), s.name) for s in active_services()]
    form.practitioner.choices = [SelectChoice("any", "Any practitioner")] + [
        SelectChoice(str(p.id), p.name) for p in active_practitioners()
    ]
    form.appointment.choices = [SelectChoice("", "No current booking")] + [
        SelectChoice(str(a.id), when_said(a.starts_at)) for a in upcoming_visits(found)
    ]
    return form


def upcoming_visits(found: Patient) -> list[Appointment]:
    return [a for a in patient_visits(found) if a.ends_at > now_utc() and a.is_active
            and a.status != AppointmentStatus.HELD]


def patient_visits(found: Patient) -> list[Appointment]:
    return list(db.session.scalars(
        select(Appointment).where(
            Appointment.patient_id == found.id,
            Appointment.status != AppointmentStatus.EXPIRED,
            Appointment.status != AppointmentStatus.HELD,
        ).order_by(Appointment.starts_at.desc())
    ))


def render_patient(found: Patient, form: WaitlistForm, status: int = 200):
    visits = patient_visits(found)
    return render_template(
        "desk/patient.html",
        patient=found,
        visits=visits,
        tiers=latest_tiers([v.id for v in visits]),
        entries=waitlist.open_entries(found.id),
        waitlist_form=form,
        form=ActionForm(),
    ), status

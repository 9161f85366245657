"""The front desk: day and week calendars, booking phone callers, visit actions, patients,
the "needs attention" list and the waitlist. Every page works without JavaScript.

Views parse the form, make one `frontdesk` call and show what it came to.
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
from wtforms.fields.choices import SelectChoice

from booking import formatting
from booking.audit.service import record_audit
from booking.clinic.service import get_clinic
from booking.db import now_utc
from booking.extensions import db
from booking.frontdesk.attention import attention_count, needs_attention, record_attempt
from booking.frontdesk.board import (
    day_board,
    latest_tiers,
    visit_screening,
    week_board,
    week_start,
)
from booking.frontdesk.outcome import DeskActionRefused, Outcome
from booking.frontdesk.patients import (
    emergency_screenings,
    patient_call_backs,
    patient_visits,
    review_outcomes,
    upcoming_visits,
)
from booking.frontdesk.phone_booking import book_for_caller, free_starts, wants_intake
from booking.frontdesk.time_off import add_time_off, remove_time_off, week_time_off
from booking.frontdesk.visits import (
    TRANSITIONS,
    allowed_actions,
    cancel_visit,
    change_status,
    local_start,
    move_visit,
    when_said,
)
from booking.intake.completion import (
    EMERGENCY_CANCEL_REASON,
    awaits_questionnaire,
    questionnaire_answered,
)
from booking.intake.models import CallBack
from booking.intake.service import check_in_done
from booking.patients.models import Patient
from booking.patients.search import search_patients
from booking.patients.service import find_or_create_patient
from booking.scheduling import waitlist
from booking.scheduling.models import (
    Appointment,
    AppointmentStatus,
    Practitioner,
    TimeOff,
    VisitKind,
    WaitlistEntry,
)
from booking.scheduling.service import (
    active_practitioners,
    active_service,
    active_services,
    bookable_practitioners,
    first_free_day,
)
from booking.web import visit_questions
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
from booking.web.filters import local_day
from booking.web.forms import BAD_DAY, ContactForm
from booking.web.intake_flow import StepUrls
from booking.web.intake_forms import PhoneConsentForm
from booking.web.parsing import parse_day
from booking.web.roles import CLINICAL, DESK, staff_required
from booking.web.series import SeriesPage, book_from_form, patient_form, series_page
from booking.web.series_plan import planned_series

bp = Blueprint("desk", __name__, url_prefix="/staff/desk")


@bp.context_processor
def desk_globals():
    return {"attention_count": attention_count(now_utc())}


# --- Calendars -------------------------------------------------------------------------------


@bp.get("/")
@staff_required(*DESK)
def index():
    return redirect(url_for(".day"))


@bp.get("/day")
@staff_required(*DESK)
def day():
    now = now_utc()
    shown, status = chosen_day(request.args.get("date"), now)
    return render_template(
        "desk/day.html",
        board=day_board(shown, now),
        shown=shown,
        nav=day_links(shown, now, step=1),
    ), status


@bp.get("/week")
@staff_required(*DESK)
def week():
    now = now_utc()
    practitioners = active_practitioners()
    chosen = optional_id(request.args.get("practitioner"))
    practitioner = next((p for p in practitioners if p.id == chosen), None)
    if practitioner is None:
        practitioner = practitioners[0] if practitioners else abort(404)
    shown, status = chosen_day(request.args.get("date"), now)
    first = week_start(shown)
    return render_template(
        "desk/week.html",
        board=week_board(practitioner, first, now),
        practitioner=practitioner,
        practitioners=practitioners,
        shown=first,
        nav=day_links(first, now, step=7),
        time_off=week_time_off(practitioner, first),
        time_off_form=TimeOffForm(practitioner=practitioner.id, first_day=first),
    ), status


# --- One appointment: its page and its actions -------------------------------------------------


@bp.get("/appointments/<id:appointment_id>")
@staff_required(*DESK)
def appointment(appointment_id: int):
    return render_appointment(find_appointment(appointment_id))


@bp.post("/appointments/<id:appointment_id>/move")
@staff_required(*DESK)
def move(appointment_id: int):
    visit = find_appointment(appointment_id)
    form = MoveForm()
    if not form.validate():
        return refused(visit, first_error(form), 422)
    outcome = move_visit(visit, form.day.data, form.time.data, now_utc(), form.practitioner_id())
    return answer(visit, outcome)


@bp.post("/appointments/<id:appointment_id>/cancel")
@staff_required(*DESK)
def cancel(appointment_id: int):
    visit = find_appointment(appointment_id)
    form = CancelForm()
    if not form.validate():
        return render_appointment(visit, cancel_form=form, status=422)
    return answer(visit, cancel_visit(visit, form.reason.data, now_utc()))


@bp.post("/appointments/<id:appointment_id>/check-in")
@staff_required(*DESK)
def check_in(appointment_id: int):
    return transition(appointment_id, "check_in")


@bp.post("/appointments/<id:appointment_id>/complete")
@staff_required(*DESK)
def complete(appointment_id: int):
    return transition(appointment_id, "complete")


@bp.post("/appointments/<id:appointment_id>/no-show")
@staff_required(*DESK)
def no_show(appointment_id: int):
    return transition(appointment_id, "no_show")


@bp.post("/appointments/<id:appointment_id>/undo")
@staff_required(*DESK)
def undo(appointment_id: int):
    return transition(appointment_id, "undo")


# --- Booking a phone caller --------------------------------------------------------------------


@bp.get("/book")
@staff_required(*DESK)
def book():
    return render_book()


@bp.post("/book")
@staff_required(*DESK)
def book_time():
    form = BookForm()
    patient = db.session.get(Patient, optional_id(form.patient.data) or 0) or abort(404)
    service = active_service(optional_id(form.service.data)) or abort(404)
    if not form.validate():
        return render_book(error=first_error(form), status=422)
    outcome = book_for_caller(
        patient, service, form.day.data, form.time.data, now_utc(), form.practitioner_id(),
        send_intake=form.send_intake.data,
    )
    if not outcome.done:
        return render_book(error=outcome.message, alternatives=outcome.alternatives, status=409)
    flash(outcome.message, "success")
    return redirect(url_for(".appointment", appointment_id=outcome.appointment.id), code=303)


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


@bp.get("/patients/<id:patient_id>")
@staff_required(*DESK)
def patient(patient_id: int):
    found = db.session.get(Patient, patient_id) or abort(404)
    return render_patient(found, waitlist_form_for(found))


# --- A series of visits for a patient ---------------------------------------------------------


# One rule for both methods: an id the converter refuses is then a 404 for either, not a 405.
@bp.route("/patients/<id:patient_id>/series", methods=["GET", "POST"])
@staff_required(*DESK)
def patient_series(patient_id: int):
    found = db.session.get(Patient, patient_id) or abort(404)
    if request.method == "POST":
        return book_series_for(found)
    return render_series(found, series_page(patient_form(request.args)))


def book_series_for(found: Patient):
    form = patient_form(request.form)
    outcome = book_from_form(found, form, source="desk")
    if outcome.series is None:
        status = 422 if outcome.invalid else 409
        return render_series(found, series_page(form, outcome.message), status)
    flash(outcome.message, "success")
    return redirect(url_for(".patient", patient_id=found.id), code=303)


def render_series(found: Patient, page: SeriesPage, status: int = 200):
    return render_template(
        "desk/series.html", patient=found, page=page,
        plan_action=url_for(".patient_series", patient_id=found.id),
        action=url_for(".patient_series", patient_id=found.id),
    ), status


# --- Needs attention -------------------------------------------------------------------------


@bp.get("/attention")
@staff_required(*DESK)
def attention():
    now = now_utc()
    return render_template(
        "desk/attention.html", attention=needs_attention(now), form=CallBackForm(),
        today=local_day(now), clinical=current_user.has_any_role(*CLINICAL),
    )


@bp.post("/call-backs/<id:call_back_id>/attempts")
@staff_required(*DESK)
def call_back_attempt(call_back_id: int):
    """One try at calling the patient back: answered (closes it) or no answer (stays open)."""
    call_back = db.session.get(CallBack, call_back_id) or abort(404)
    form = CallBackForm()
    if not form.validate():
        flash(first_error(form), "error")
        return redirect(url_for(".attention"), code=303)
    try:
        record_attempt(call_back, form.answered, form.note.data or "", now_utc(), current_user.id)
    except DeskActionRefused as error:
        flash(str(error), "error")
    else:
        name = call_back.patient.full_name
        flash(f"Marked the call to {name} as made." if form.answered else
              f"Noted: no answer from {name}. The call-back stays open: try again.", "success")
    return redirect(url_for(".attention"), code=303)


# --- Time off and blocks -----------------------------------------------------------------------


@bp.post("/time-off")
@staff_required(*DESK)
def time_off_add():
    form = TimeOffForm()
    practitioner_id = optional_id(form.practitioner.data) or abort(404)
    practitioner = db.session.get(Practitioner, practitioner_id) or abort(404)
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


@bp.post("/time-off/<id:time_off_id>/delete")
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


@bp.post("/patients/<id:patient_id>/waitlist")
@staff_required(*DESK)
def waitlist_add(patient_id: int):
    found = db.session.get(Patient, patient_id) or abort(404)
    form = waitlist_form_for(found)
    if not form.validate():
        return render_patient(found, form, status=422)
    earliest, latest = form.time_window()
    waitlist.add_to_waitlist(
        found,
        active_service(optional_id(form.service.data)),
        practitioner_id=optional_id(form.practitioner.data),
        weekdays=form.weekday_numbers(),
        earliest_start=earliest,
        latest_end=latest,
        appointment_id=optional_id(form.appointment.data),
    )
    flash(f"{found.full_name} is on the waitlist.", "success")
    return redirect(url_for(".patient", patient_id=found.id), code=303)


@bp.post("/waitlist/<id:entry_id>/withdraw")
@staff_required(*DESK)
def waitlist_withdraw(entry_id: int):
    entry = db.session.get(WaitlistEntry, entry_id) or abort(404)
    waitlist.withdraw(entry)
    flash(f"{entry.patient.full_name} is off the waitlist.", "success")
    if request.form.get("back") == "patient":
        return redirect(url_for(".patient", patient_id=entry.patient_id), code=303)
    return redirect(url_for(".waitlist_page"), code=303)


# --- A visit's questions (first visit or follow-up check-in), filled in on the phone ----------


def questionnaire_or_back(appointment_id: int):
    """The visit while its questions are open; else back to its card, saying why."""
    visit = find_appointment(appointment_id)
    follow_up = visit.service.kind == VisitKind.FOLLOW_UP
    if questionnaire_answered(visit):
        said = "check-in" if follow_up else "questionnaire"
        flash(f"The {said} for this visit is already answered.", "success")
        return redirect(url_for(".appointment", appointment_id=visit.id), code=303)
    if not awaits_questionnaire(visit, now_utc()):
        message = (
            "The check-in is open only in the 72 hours before the visit."
            if follow_up else "This visit takes no questionnaire."
        )
        flash(message, "error")
        return redirect(url_for(".appointment", appointment_id=visit.id), code=303)
    return visit


def desk_asker(visit: Appointment) -> visit_questions.Asker:
    patient = visit.patient
    which = "follow-up" if visit.service.kind == VisitKind.FOLLOW_UP else "first visit"
    return visit_questions.Asker(
        urls=StepUrls("desk.question_step", "desk.question_consent", "desk.appointment",
                      {"appointment_id": visit.id}),
        show=lambda shown, _outcome: redirect(
            url_for(".questions_outcome", appointment_id=shown.id), code=303
        ),
        entered_by=current_user._get_current_object(),
        page={
            "visit": visit,
            "layout": "staff/base.html",
            "note": f"With {patient.full_name} on the phone, for the {which} on "
                    f"{when_said(visit.starts_at)}. Read each question to the patient and "
                    "enter their answer.",
            "consent_lead": "Read this text to the patient, then record that they agreed.",
            "name_hint": "The consent version and the date and time are recorded with it.",
            "submit_label": "Record consent and save the answers",
        },
        consent_form=PhoneConsentForm,
    )


@bp.get("/appointments/<id:appointment_id>/questions")
@staff_required(*DESK)
def questions(appointment_id: int):
    visit = questionnaire_or_back(appointment_id)
    if not isinstance(visit, Appointment):
        return visit
    return visit_questions.start(visit, desk_asker(visit))


@bp.route("/appointments/<id:appointment_id>/questions/consent", methods=["GET", "POST"])
@staff_required(*DESK)
def question_consent(appointment_id: int):
    visit = questionnaire_or_back(appointment_id)
    if not isinstance(visit, Appointment):
        return visit
    return visit_questions.consent_page(visit, desk_asker(visit))


@bp.route("/appointments/<id:appointment_id>/questions/<step_id>", methods=["GET", "POST"])
@staff_required(*DESK)
def question_step(appointment_id: int, step_id: str):
    visit = questionnaire_or_back(appointment_id)
    if not isinstance(visit, Appointment):
        return visit
    return visit_questions.step_page(visit, step_id, desk_asker(visit))


@bp.get("/appointments/<id:appointment_id>/questions/outcome")
@staff_required(*DESK)
def questions_outcome(appointment_id: int):
    """What the answers came to, in the desk's terms: the tier, or emergency advice to give
    now. Read from the visit itself, so nothing about it rides in the session."""
    visit = find_appointment(appointment_id)
    emergency = (
        visit.status == AppointmentStatus.CANCELLED
        and visit.cancel_reason == EMERGENCY_CANCEL_REASON
    )
    return render_template(
        "desk/questions_outcome.html",
        visit=visit,
        emergency=emergency,
        tier=latest_tiers([visit.id]).get(visit.id),
    )


# --- Helpers: loading, answering, preparing pages ----------------------------------------------


def span_said(start: datetime, end: datetime) -> str:
    """'Monday, November 23 from 12:00 PM to 1:00 PM' in the clinic's zone."""
    zone = get_clinic().zone
    return formatting.span(start.astimezone(zone), end.astimezone(zone))


def chosen_day(text: str | None, now: datetime) -> tuple[date, int]:
    """The ?date= asked for; today when none; today with the reason and 422 when it is bad."""
    if not text:
        return local_day(now), 200
    day = parse_day(text)
    if day is None:
        flash(BAD_DAY, "error")
        return local_day(now), 422
    return day, 200


def day_links(shown: date, now: datetime, step: int) -> dict[str, date]:
    return {
        "previous": shown - timedelta(days=step),
        "next": shown + timedelta(days=step),
        "today": local_day(now),
    }


def find_appointment(appointment_id: int) -> Appointment:
    found = db.session.get(Appointment, appointment_id)
    return found or abort(404)


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


def answer(visit: Appointment, outcome: Outcome):
    """Show what a desk action came to: done, or refused (409) with the nearest free times."""
    if outcome.done:
        return done(visit, outcome.message)
    return refused(visit, outcome.message, 409, outcome.alternatives)


def done(visit: Appointment, message: str):
    """A change went through: JSON for the calendar's script, otherwise back to the visit."""
    flash(message, "success")
    if wants_json():
        return jsonify(ok=True, message=message)
    return redirect(url_for(".appointment", appointment_id=visit.id), code=303)


def refused(visit: Appointment, message: str, status: int, alternatives=()):
    """A change refused cleanly: nothing changed, the reason said, the nearest times offered."""
    if wants_json():
        return jsonify(ok=False, message=message), status
    return render_appointment(visit, error=message, alternatives=alternatives, status=status)


def transition(appointment_id: int, action: str):
    visit = find_appointment(appointment_id)
    return answer(visit, change_status(visit, action, now_utc()))


def render_appointment(visit: Appointment, error: str | None = None,
                       alternatives=(), cancel_form=None, status: int = 200):
    now = now_utc()
    move_day = parse_day(request.args.get("day")) or local_day(visit.starts_at)
    move_to = optional_id(request.args.get("practitioner")) or visit.practitioner_id
    follow_up = visit.service.kind == VisitKind.FOLLOW_UP
    tier, no_check_in = visit_screening(
        visit, latest_tiers([visit.id]).get(visit.id), follow_up and check_in_done(visit), now
    )
    return render_template(
        "desk/appointment.html",
        visit=visit,
        tier=tier,
        no_check_in=no_check_in,
        questions_open=awaits_questionnaire(visit, now),
        actions=allowed_actions(visit, now),
        transitions=TRANSITIONS,
        error=error,
        alternatives=alternatives,
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
        reviews=review_outcomes([visit.id]).get(visit.id, []),
        call_backs=patient_call_backs(visit.patient_id) if visit.patient_id else [],
        today=local_day(now),
    ), status


def render_book(error: str | None = None, alternatives=(), patient_form=None, status: int = 200):
    """The book-a-caller page from the request's choices (query string or the posted form)."""
    values = request.values
    patient = db.session.get(Patient, optional_id(values.get("patient")) or 0)
    service = active_service(optional_id(values.get("service")))
    practitioner_value = values.get("practitioner") or "any"
    practitioner_id = optional_id(practitioner_value)
    now = now_utc()
    shown = parse_day(values.get("day"))
    if values.get("day") and shown is None:
        error, status = error or BAD_DAY, max(status, 422)
    shown = shown or (
        service and first_free_day(service, now, practitioner_id)) or local_day(now)
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
        alternatives=alternatives,
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
        SelectChoice(str(a.id), when_said(a.starts_at))
        for a in upcoming_visits(found, now_utc())
    ]
    return form


def render_patient(found: Patient, form: WaitlistForm, status: int = 200):
    visits = patient_visits(found)
    return render_template(
        "desk/patient.html",
        patient=found,
        visits=visits,
        tiers=latest_tiers([v.id for v in visits]),
        reviews=review_outcomes(v.id for v in visits),
        screenings=emergency_screenings(found),
        today=local_day(now_utc()),
        entries=waitlist.open_entries(found.id),
        waitlist_form=form,
        form=ActionForm(),
        planned=planned_series(found.id, ".patient_series", patient_id=found.id),
    ), status

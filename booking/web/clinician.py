"""Practitioners' pages: my day and week, intake charts, the review queue, visit outcomes,
progress, and the private calendar feed. Thin: parse, call booking.clinical (the feed:
booking.notify.feed), render.

Pages with a patient's answers (intake, outcome, progress) open for the patient's own
practitioner; another practitioner is first asked why (booking.clinical.access).

No url_prefix: the staff pages live under /staff/clinician, while the calendar feed sits at
/calendar/<token>.ics because calendar apps fetch it without a login (the token is the key).
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_security import current_user

from booking.accounts.models import RoleName
from booking.accounts.security import current_staff_session_id
from booking.clinic.service import get_clinic
from booking.clinical.access import may_open_patient, open_patient_with_reason
from booking.clinical.errors import ClinicalError, ReviewNotPending
from booking.clinical.forms import (
    ClearanceForm,
    OutcomeForm,
    PatientAccessForm,
    ReviewDecisionForm,
)
from booking.clinical.outcomes import outcome_context, record_outcome
from booking.clinical.progress import patient_progress
from booking.clinical.review import decide_review, record_clearance
from booking.clinical.review import review_queue as held_bookings
from booking.clinical.visits import (
    WEEK_DAYS,
    intake_chart,
    practitioner_filter,
    practitioner_of,
    visits_on_days,
    week_start,
)
from booking.db import now_utc
from booking.extensions import db
from booking.intake.models import Intake
from booking.notify import feed as feeds
from booking.patients.models import Patient
from booking.scheduling.models import Appointment, Practitioner
from booking.web.filters import clinic_zone, local_day
from booking.web.parsing import as_id, parse_day
from booking.web.roles import CLINICAL, staff_required

bp = Blueprint("clinician", __name__)
STAFF = "/staff/clinician"


def chosen_day(text: str | None) -> date:
    """The ?date= asked for, else (or when unreadable) today in the clinic's zone."""
    return parse_day(text) or local_day(now_utc())


def chosen_filter():
    return practitioner_filter(current_user, request.args.get("practitioner"))


@bp.get(f"{STAFF}/")
@staff_required(*CLINICAL)
def home():
    return redirect(url_for("clinician.my_day"))


@bp.get(f"{STAFF}/day")
@staff_required(*CLINICAL)
def my_day():
    day, who = chosen_day(request.args.get("date")), chosen_filter()
    (visits,) = visits_on_days(day, 1, clinic_zone(), who.ids)
    return render_template(
        "clinician/day.html", day=visits, who=who,
        previous=day - timedelta(days=1), following=day + timedelta(days=1),
    )


@bp.get(f"{STAFF}/week")
@staff_required(*CLINICAL)
def my_week():
    first, who = week_start(chosen_day(request.args.get("date"))), chosen_filter()
    days = visits_on_days(first, WEEK_DAYS, clinic_zone(), who.ids)
    return render_template(
        "clinician/week.html", days=days, who=who, first=first, today=chosen_day(None),
        previous=first - timedelta(days=WEEK_DAYS), following=first + timedelta(days=WEEK_DAYS),
    )


# --- Whose answers a practitioner may open ---------------------------------------------------


def reason_asked(patient_id: int | None, back: str):
    """None when the signed-in staff member may see the patient's answers; otherwise the page
    asking why (403), which returns to `back` once a reason is given."""
    if may_open_patient(current_user, patient_id, current_staff_session_id()):
        return None
    return render_reason(db.get_or_404(Patient, patient_id), back, PatientAccessForm(), 403)


def render_reason(patient: Patient, back: str, form: PatientAccessForm, status: int):
    page = render_template("clinician/access_reason.html", patient=patient, back=back, form=form)
    return page, status


def safe_back(requested: str | None, patient: Patient) -> str:
    """Where to go once a reason is given: a clinician page of ours, else the progress chart."""
    ours = requested and requested.startswith(f"{STAFF}/")
    if ours and "//" not in requested and "\\" not in requested:
        return requested
    return url_for("clinician.progress", patient_id=patient.id)


@bp.post(f"{STAFF}/patients/<id:patient_id>/access")
@staff_required(*CLINICAL)
def patient_access(patient_id: int):
    patient = db.get_or_404(Patient, patient_id)
    back, form = safe_back(request.form.get("back"), patient), PatientAccessForm()
    staff_session = current_staff_session_id()
    if staff_session is None:
        abort(403)
    if not form.validate_on_submit():
        return render_reason(patient, back, form, 422)
    open_patient_with_reason(patient.id, staff_session, form.reason.data)
    flash("Opened until you sign out. Your reason is in the audit log.")
    return redirect(back, code=303)


# --- Intakes ----------------------------------------------------------------------------------


@bp.get(f"{STAFF}/intakes/<id:intake_id>")
@staff_required(*CLINICAL)
def intake(intake_id: int):
    found = db.get_or_404(Intake, intake_id)
    if (asked := reason_asked(found.patient_id, request.path)) is not None:
        return asked
    return render_intake(found, ClearanceForm())


def render_intake(found: Intake, form: ClearanceForm):
    return render_template(
        "clinician/intake.html", chart=intake_chart(found), form=form, today=chosen_day(None)
    )


@bp.post(f"{STAFF}/intakes/<id:intake_id>/clearance")
@staff_required(*CLINICAL)
def clearance(intake_id: int):
    found = db.get_or_404(Intake, intake_id)
    back = url_for("clinician.intake", intake_id=found.id)
    if (asked := reason_asked(found.patient_id, back)) is not None:
        return asked
    form = ClearanceForm()
    if not form.validate_on_submit():
        return render_intake(found, form), 422
    try:
        record_clearance(found, form.cleared.data == "yes", form.note.data, current_user)
    except ClinicalError as error:
        flash(str(error), "error")
    else:
        flash("Needling cleared." if form.cleared.data == "yes" else "Recorded: no needling.")
    return redirect(url_for("clinician.intake", intake_id=found.id, _anchor="needling"))


@bp.get(f"{STAFF}/reviews")
@staff_required(*CLINICAL)
def review_queue():
    return render_queue({})


def render_queue(forms: dict[int, ReviewDecisionForm]):
    who = chosen_filter()
    held = held_bookings(who.ids, now_utc())
    for booking in held:
        forms.setdefault(booking.appointment.id, decision_form(booking.appointment.id))
    return render_template("clinician/reviews.html", held=held, forms=forms, who=who)


def decision_form(appointment_id: int) -> ReviewDecisionForm:
    # One form per held booking on the page: the prefix keeps their field ids apart.
    return ReviewDecisionForm(prefix=f"review-{appointment_id}")


@bp.post(f"{STAFF}/reviews/<id:appointment_id>")
@staff_required(*CLINICAL)
def review_decide(appointment_id: int):
    appointment = db.get_or_404(Appointment, appointment_id)
    form = decision_form(appointment.id)
    if not form.validate_on_submit():
        return render_queue({appointment.id: form}), 422
    try:
        decide_review(appointment, form.outcome, form.note.data, current_user)
    except ReviewNotPending as error:
        flash(f"{error} Nothing was changed.", "warning")
    except ClinicalError as error:
        flash(str(error), "error")
    else:
        flash(DECIDED[form.outcome.value])
    return redirect(url_for("clinician.review_queue", **request.args))


DECIDED = {
    "approved": "Approved: the booking is confirmed and the patient will be emailed.",
    "declined": "Declined: the booking is cancelled and the patient will be emailed.",
    "called": "Noted: the booking stays in the queue.",
}


@bp.route(f"{STAFF}/visits/<id:appointment_id>/outcome", methods=["GET", "POST"])
@staff_required(*CLINICAL)
def outcome(appointment_id: int):
    appointment, now = db.get_or_404(Appointment, appointment_id), now_utc()
    if (asked := reason_asked(appointment.patient_id, request.path)) is not None:
        return asked
    context = outcome_context(appointment, now)
    form = OutcomeForm()
    form.use_activities(context.activities)
    if context.can_record and form.validate_on_submit():
        record_outcome(appointment, form.entry(), current_user, now)
        flash("Outcome saved.")
        return redirect(url_for("clinician.progress", patient_id=appointment.patient_id))
    if not form.is_submitted() and context.outcome is not None:
        form.fill_from(context.outcome)
    status = 422 if context.can_record and form.is_submitted() else 200
    return render_template("clinician/outcome.html", context=context, form=form), status


@bp.get(f"{STAFF}/patients/<id:patient_id>/progress")
@staff_required(*CLINICAL)
def progress(patient_id: int):
    patient = db.get_or_404(Patient, patient_id)
    if (asked := reason_asked(patient.id, request.path)) is not None:
        return asked
    return render_template("clinician/progress.html", progress=patient_progress(patient, now_utc()))


# --- The calendar feed ------------------------------------------------------------------------


def feed_owner() -> Practitioner | None:
    """Your own feed; an admin may pick any practitioner's (to revoke a lost phone's address)."""
    requested = request.values.get("practitioner", "")
    if is_admin() and requested:
        return db.get_or_404(Practitioner, as_id(requested) or 0)
    return practitioner_of(current_user)


@bp.get(f"{STAFF}/feed")
@staff_required(*CLINICAL)
def feed():
    owner = feed_owner()
    token = feeds.live_token(owner) if owner is not None else None
    return render_template(
        "clinician/feed.html", owner=owner, token=token, address=feed_address(token),
        choices=practitioner_filter(current_user, None).choices if is_admin() else (),
    )


def is_admin() -> bool:
    return current_user.has_role(RoleName.ADMIN.value)


def feed_address(token) -> str | None:
    if token is None:
        return None
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return base + url_for("clinician.calendar_feed", token=token.token)


@bp.post(f"{STAFF}/feed")
@staff_required(*CLINICAL)
def feed_issue():
    owner = feed_owner() or abort(404)
    feeds.issue_token(owner, now_utc())
    flash("A new feed address is ready. Any old address has stopped working.")
    return redirect(url_for("clinician.feed", practitioner=owner.id))


@bp.post(f"{STAFF}/feed/revoke")
@staff_required(*CLINICAL)
def feed_revoke():
    owner = feed_owner() or abort(404)
    if feeds.revoke_token(owner, now_utc()):
        flash("The feed address has stopped working.")
    return redirect(url_for("clinician.feed", practitioner=owner.id))


@bp.get("/calendar/<token>.ics")
def calendar_feed(token: str):
    """The feed itself: no login, the token is the key; 404 for unknown or revoked tokens."""
    owner = feeds.practitioner_for_token(token) or abort(404)
    clinic = get_clinic()
    body = feeds.feed_body(
        owner, now_utc(), clinic.timezone, current_app.config["PUBLIC_BASE_URL"]
    )
    response = Response(body, mimetype="text/calendar")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response

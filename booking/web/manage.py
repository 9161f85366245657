"""The patient's own visit page, reached from the private link in every email.

View the visit, download it for a calendar, move it to another free time or cancel it, outside
the clinic's cancellation window; inside it the page says to phone. A link that does not stand
(tampered, replaced by a newer one, past the visit) gets one page, whatever the reason.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from booking.clinic.service import get_clinic
from booking.db import now_utc
from booking.extensions import db
from booking.intake.completion import (
    AlreadyAnswered,
    Emergency,
    VisitOutcome,
    awaits_questionnaire,
    questionnaire_answered,
)
from booking.intake.models import Intake
from booking.intake.screening import Tier
from booking.intake.service import check_in_opens_at, emergency_answers
from booking.intake.urgency import urgent_appointment_ids
from booking.notify.ics import Method
from booking.notify.links import appointment_for_token, manage_token
from booking.notify.messages import visit_calendar
from booking.scheduling.changes import (
    can_patient_change,
    cancel_appointment,
    move_appointment,
    outside_window,
    patient_may_move_to,
)
from booking.scheduling.models import Appointment, VisitKind
from booking.scheduling.service import SlotNotOffered, SlotTaken, nearest_free_slots
from booking.web import visit_questions
from booking.web.booking import by_local_day, slot_choices, times_week
from booking.web.booking_flow import EMERGENCY_KEY
from booking.web.filters import date_long, local_day, local_time
from booking.web.forms import parse_instant, readable_instant
from booking.web.intake_flow import StepUrls
from booking.web.my_visits import check_in_later

bp = Blueprint("manage", __name__, url_prefix="/visit")

CANCEL_REASONS = {
    "time": "The time no longer suits me",
    "better": "I am feeling better",
    "elsewhere": "I am getting care somewhere else",
    "mistake": "I booked by mistake",
    "other": "Another reason",
}


class MoveForm(FlaskForm):
    """Choosing a new time: each time button on the page posts this."""

    start = HiddenField(validators=[DataRequired(), readable_instant])


class CancelForm(FlaskForm):
    reason = RadioField(
        "Reason for cancelling",
        choices=[SelectChoice(value, label) for value, label in CANCEL_REASONS.items()],
        validators=[InputRequired("Choose the reason that fits best.")],
    )
    details = TextAreaField(
        "Anything you would like to add (optional)",
        validators=[Length(max=500, message="Please keep this under 500 characters.")],
    )

    def reason_text(self) -> str:
        label = CANCEL_REASONS[self.reason.data]
        details = (self.details.data or "").strip()
        return f"{label}: {details}" if details else label


@bp.after_request
def keep_links_private(response: Response) -> Response:
    # The token in the address is the patient's key: keep it out of caches and Referer headers.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def visit_or_refuse(token: str) -> Appointment:
    """The visit the link names, or the one "link has ended" page (404) for any failure."""
    appointment = appointment_for_token(token, now_utc())
    if appointment is None:
        abort(make_response(render_template("manage/link_ended.html"), 404))
    return appointment


def changeable_or_refuse(token: str) -> Appointment:
    """The visit, if the patient may still change it online; else the page says to phone (403)."""
    appointment = visit_or_refuse(token)
    if not can_patient_change(appointment, now_utc()):
        abort(make_response(render_visit(appointment), 403))
    return appointment


def render_visit(appointment: Appointment) -> str:
    now = now_utc()
    return render_template(
        "manage/visit.html",
        appointment=appointment,
        token=manage_token(appointment),
        can_change=can_patient_change(appointment, now),
        needs_questions=awaits_questionnaire(appointment, now),
        check_in=appointment.service.kind == VisitKind.FOLLOW_UP,
        check_in_opens=check_in_opens_at(appointment) if check_in_later(appointment, now) else None,
    )


@bp.get("/<token>")
def visit(token: str):
    return render_visit(visit_or_refuse(token))


@bp.get("/<token>/calendar.ics")
def calendar(token: str):
    appointment = visit_or_refuse(token)
    if not appointment.is_active:
        abort(make_response(render_template("manage/link_ended.html"), 404))
    response = make_response(visit_calendar(appointment, Method.PUBLISH))
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="visit.ics"'
    return response


@bp.get("/<token>/times")
def times(token: str):
    appointment = changeable_or_refuse(token)
    now = now_utc()
    earliest = earliest_move_day(now)
    week = times_week(
        appointment.service, appointment.practitioner, request.args.get("start") or
        earliest.isoformat(), now,
    )
    return render_template(
        "manage/times.html", appointment=appointment, token=token,
        week=outside_window_week(week, earliest, now),
    )


def earliest_move_day(now: datetime) -> date:
    """The clinic's first day that may have times outside the cancellation window."""
    return local_day(now + get_clinic().cancellation_window)


def outside_window_week(week: dict, earliest: date, now: datetime) -> dict:
    """The week of times without those inside the cancellation window: moving there would
    leave a visit the patient can no longer change online. Nor does "Earlier" go there."""
    days = [(day, [start for start in starts if outside_window(start, now)])
            for day, starts in week["days"]]
    first_day = days[0][0]
    next_available = week["next_available"]
    return {
        **week,
        "days": days,
        "previous": max(week["previous"], earliest) if first_day > earliest else None,
        "next_available": max(next_available, earliest) if next_available else None,
        "showing_next_available": next_available is not None
        and first_day == max(next_available, earliest),
    }


def chosen_start() -> datetime:
    """The time tapped on "Choose a new time" (a GET: the tap itself changes nothing)."""
    try:
        return parse_instant(request.args.get("start", ""))
    except ValueError:
        abort(400, "That time could not be read. Please choose again.")


def unavailable(appointment: Appointment, token: str, wanted: datetime, now: datetime):
    """The time cannot be had (taken, not offered, or inside the cancellation window): the
    nearest that can, with the same practitioner; the visit is unchanged (409)."""
    around = max(wanted, now + get_clinic().cancellation_window)
    nearby = nearest_free_slots(appointment.service, around, now, appointment.practitioner_id)
    starts = [start for start in slot_choices(nearby) if outside_window(start, now)]
    return render_template(
        "manage/taken.html", appointment=appointment, token=token, wanted=wanted,
        days=by_local_day(starts),
    ), 409


@bp.get("/<token>/move")
def confirm_move(token: str):
    """Old and new side by side; only "Move my visit" on this page moves it."""
    appointment = changeable_or_refuse(token)
    wanted, now = chosen_start(), now_utc()
    if not patient_may_move_to(appointment, wanted, now):
        return unavailable(appointment, token, wanted, now)
    return render_template(
        "manage/confirm_move.html", appointment=appointment, token=token, wanted=wanted,
        form=MoveForm(start=wanted.isoformat()),
    )


@bp.post("/<token>/move")
def move(token: str):
    appointment = changeable_or_refuse(token)
    form = MoveForm()
    if not form.validate():
        abort(400)
    now, wanted = now_utc(), form.start.instant
    if not outside_window(wanted, now):
        return unavailable(appointment, token, wanted, now)
    try:
        move_appointment(appointment, wanted, now)
    except (SlotTaken, SlotNotOffered):
        return unavailable(appointment, token, wanted, now)
    flash(
        f"Your visit is now on {date_long(appointment.starts_at)} at "
        f"{local_time(appointment.starts_at)}. We have emailed you the new details.",
        "success",
    )
    return redirect(url_for(".visit", token=manage_token(appointment)), code=303)


@bp.get("/<token>/cancel")
def confirm_cancel(token: str):
    """The visit and the reason asked; only "Cancel my visit" on this page cancels it."""
    return render_cancel(changeable_or_refuse(token), token, CancelForm())


def render_cancel(appointment: Appointment, token: str, form: CancelForm) -> str:
    return render_template(
        "manage/confirm_cancel.html", appointment=appointment, token=token, form=form
    )


@bp.post("/<token>/cancel")
def cancel(token: str):
    appointment = changeable_or_refuse(token)
    form = CancelForm()
    if not form.validate():
        return render_cancel(appointment, token, form), 422
    cancel_appointment(appointment, form.reason_text(), by="patient")
    flash("Your visit is cancelled. We have emailed you to confirm.", "success")
    return redirect(url_for(".visit", token=manage_token(appointment)), code=303)


# --- The visit's own questions: a first visit booked by the desk, a follow-up's check-in -------


def questions_or_refuse(token: str) -> Appointment | Response:
    """The visit, while its questions are open; "already answered" once they are in; for a
    follow-up before its check-in window, when the check-in opens; the "link has ended" page
    (404) for a visit that takes none (the link itself ends when the visit starts)."""
    appointment = visit_or_refuse(token)
    now = now_utc()
    if questionnaire_answered(appointment):
        return make_response(render_template(
            "manage/questions_done.html", appointment=appointment, token=token, already=True
        ))
    if check_in_later(appointment, now):
        return make_response(render_template(
            "manage/check_in_later.html", appointment=appointment, token=token,
            opens_at=check_in_opens_at(appointment),
        ))
    if not awaits_questionnaire(appointment, now):
        abort(make_response(render_template("manage/link_ended.html"), 404))
    return appointment


def patient_asker(appointment: Appointment, token: str) -> visit_questions.Asker:
    return visit_questions.Asker(
        urls=StepUrls("manage.question_step", "manage.question_consent", "manage.visit",
                      {"token": token}),
        show=lambda visit, outcome: show_questions_outcome(visit, token, outcome),
        page={"visit": appointment, "hold": appointment,
              "submit_label": "Agree and send my answers"},
    )


def show_questions_outcome(appointment: Appointment, token: str, outcome: VisitOutcome):
    """Emergency: the advice, next (the visit is cancelled, so its link has ended); otherwise
    the thank-you page (confirmed, or awaiting review)."""
    if isinstance(outcome, Emergency):
        session[EMERGENCY_KEY] = outcome.intake.id
        return redirect(url_for(".questions_emergency"), code=303)
    if isinstance(outcome, AlreadyAnswered):
        return redirect(url_for(".questions", token=token), code=303)
    return redirect(url_for(".questions_done", token=token), code=303)


@bp.get("/<token>/questions")
def questions(token: str):
    found = questions_or_refuse(token)
    if isinstance(found, Response):
        return found
    return visit_questions.start(found, patient_asker(found, token))


@bp.route("/<token>/questions/consent", methods=["GET", "POST"])
def question_consent(token: str):
    found = questions_or_refuse(token)
    if isinstance(found, Response):
        return found
    return visit_questions.consent_page(found, patient_asker(found, token))


@bp.route("/<token>/questions/<step_id>", methods=["GET", "POST"])
def question_step(token: str, step_id: str):
    found = questions_or_refuse(token)
    if isinstance(found, Response):
        return found
    return visit_questions.step_page(found, step_id, patient_asker(found, token))


@bp.get("/<token>/questions/done")
def questions_done(token: str):
    appointment = visit_or_refuse(token)
    if not questionnaire_answered(appointment):
        return redirect(url_for(".questions", token=token))
    return render_template(
        "manage/questions_done.html", appointment=appointment, token=token, already=False,
        urgent=appointment.id in urgent_appointment_ids([appointment.id]),
    )


@bp.get("/questions/emergency")
def questions_emergency():
    """The emergency advice; its address says nothing about the patient or their answers."""
    intake_id = session.get(EMERGENCY_KEY)
    intake = db.session.get(Intake, intake_id) if intake_id else None
    if intake is None or intake.tier != Tier.EMERGENCY.value:
        return redirect(url_for("public.home"))
    return render_template(
        "intake/emergency.html",
        answers=emergency_answers(intake),
        given_at=intake.submitted_at,
        visit_cancelled=True,
    )

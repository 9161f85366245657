"""Returning patients sign in with a one-time link by email (no password) and land on "My
visits": their visits, what each waits for, and a follow-up in one tap.

Nobody learns from these pages who is a patient: "Book a follow-up" answers the same for any
address, and a link that is unknown, used or expired shows the same page. Opening a link shows
one button; only pressing it (a POST) uses the link, so mail scanners that fetch links leave it
working. The session remembers the patient's id and when they were last seen, never their
details or answers; 30 minutes without a request signs them out.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address

from booking.db import now_utc
from booking.extensions import db, email_limit_key, limiter
from booking.notify.receivers import queue_sign_in_links
from booking.patients.links import LINK_LIFETIME, link_is_usable, use_sign_in_link
from booking.patients.models import Patient
from booking.scheduling.models import VisitKind
from booking.scheduling.service import release_hold
from booking.web.booking_flow import BookingFlow
from booking.web.forms import ButtonForm, FollowUpEmailForm
from booking.web.my_visits import follow_up_offers, series_to_book, visits_of

bp = Blueprint("returning", __name__, url_prefix="/returning")

PATIENT_KEY = "returning_patient"  # the signed-in returning patient's id, and nothing else
SEEN_KEY = "returning_seen"  # when that patient last made a request (UTC epoch seconds)
IDLE_MINUTES = 30
LINK_RATE_LIMIT = "5 per minute"
LINK_MINUTES = int(LINK_LIFETIME.total_seconds() // 60)


# --- Who is signed in ----------------------------------------------------------------------


def remembered_patient_id() -> int | None:
    value = session.get(PATIENT_KEY)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def remembered_patient() -> Patient | None:
    patient_id = remembered_patient_id()
    return db.session.get(Patient, patient_id) if patient_id is not None else None


def idle_limit() -> timedelta:
    return timedelta(minutes=current_app.config.get("PATIENT_IDLE_MINUTES", IDLE_MINUTES))


@bp.before_app_request
def end_idle_sign_in() -> None:
    """A patient who made no request for the idle limit is signed out, and told so; any other
    request counts as activity. The time is kept in the (signed) session: it holds nothing
    but the id, so there is nothing else to end on the server."""
    if PATIENT_KEY not in session or request.endpoint == "static":
        return
    now = now_utc().timestamp()
    seen = session.get(SEEN_KEY)
    if not isinstance(seen, int | float) or now - seen > idle_limit().total_seconds():
        forget_booking_in_progress()
        sign_out_patient()
        minutes = int(idle_limit().total_seconds() // 60)
        flash(f"You were signed out after {minutes} minutes without activity. Ask for a new "
              "link to see your visits.", "warning")
        return
    session[SEEN_KEY] = int(now)


def sign_out_patient() -> None:
    session.pop(PATIENT_KEY, None)
    session.pop(SEEN_KEY, None)


def contact_details(patient: Patient) -> dict[str, str]:
    """The patient's details as the booking flow keeps typed ones: nobody types them again."""
    return {
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "email": patient.email,
        "phone": patient.phone,
    }


def forget_booking_in_progress() -> None:
    """Drop the session's booking and give its held time back."""
    flow = BookingFlow.load()
    if flow is None:
        return
    held = flow.hold()
    if held is not None:
        release_hold(held)
    flow.discard()


def follow_up_types_url() -> str:
    return url_for("booking.choose_service", kind=VisitKind.FOLLOW_UP.value)


# --- Rate limits -------------------------------------------------------------------------------


def link_rate_limit() -> str:
    return current_app.config.get("PATIENT_LINK_RATE_LIMIT", LINK_RATE_LIMIT)


def _email_key() -> str:
    return email_limit_key("follow-up-email")


# --- Pages ---------------------------------------------------------------------------------


@bp.after_request
def private(response):
    """Links carry their token in the address: keep it out of caches and Referer headers."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/")
def ask():
    if remembered_patient_id() is not None:
        return redirect(url_for(".my_visits"), code=303)
    return render_ask(FollowUpEmailForm())


@bp.post("/")
@limiter.limit(link_rate_limit, key_func=get_remote_address)
@limiter.limit(link_rate_limit, key_func=_email_key)
def send_link():
    form = FollowUpEmailForm()
    if not form.validate():
        return render_ask(form), 422
    queue_sign_in_links(form.email.data, now_utc())
    # The same answer whoever owns the address, or nobody.
    return redirect(url_for(".sent"), code=303)


def render_ask(form: FollowUpEmailForm):
    return render_template("returning/ask.html", form=form, minutes=LINK_MINUTES)


@bp.get("/sent")
def sent():
    return render_template("returning/sent.html", minutes=LINK_MINUTES)


@bp.get("/link/<token>")
def open_link(token: str):
    if not link_is_usable(token, now_utc()):
        return link_ended()
    return render_template("returning/link.html", form=ButtonForm())


@bp.post("/link/<token>")
def use_link(token: str):
    if not ButtonForm().validate():
        abort(400)
    patient_id = use_sign_in_link(token, now_utc())
    if patient_id is None:
        return link_ended()
    sign_in(patient_id)
    return redirect(url_for(".my_visits"), code=303)


def link_ended() -> tuple[Any, int]:
    return render_template("returning/link_ended.html", minutes=LINK_MINUTES), 410


def sign_in(patient_id: int) -> None:
    """Remember the patient; a booking started for someone else is given up."""
    flow = BookingFlow.load()
    if flow is not None and flow.patient_id not in (None, patient_id):
        forget_booking_in_progress()
    session[PATIENT_KEY] = patient_id
    session[SEEN_KEY] = int(now_utc().timestamp())


@bp.get("/visits")
def my_visits():
    """The signed-in patient's visits; anyone else is asked for a link."""
    patient = remembered_patient()
    if patient is None:
        return redirect(url_for(".ask"), code=303)
    upcoming, past = visits_of(patient.id, now_utc())
    return render_template(
        "returning/visits.html", patient=patient, upcoming=upcoming, past=past,
        follow_ups=follow_up_offers(patient.id), any_follow_up_url=follow_up_types_url(),
        series_url=url_for("series.start"), planned=series_to_book(patient.id),
    )


@bp.post("/sign-out")
def sign_out():
    if not ButtonForm().validate():
        abort(400)
    forget_booking_in_progress()
    sign_out_patient()
    flash("You are signed out. To book a follow-up, ask for a new link.", "success")
    return redirect(url_for(".ask"), code=303)

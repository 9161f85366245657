"""Booking a series of visits: the plan form, the preview of every visit, "Book the series".

The desk (booking/web/desk.py, from the patient page) and the signed-in returning patient (this
blueprint, follow-ups only) share the form, the preview and the booking: the plan comes in the
query string (nothing personal in it), the preview lists each visit as free or with the nearest
free times of its week to pick, and "Book the series" (CSRF) books all of them or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import SelectField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, ValidationError

from booking.clinic.service import get_clinic
from booking.db import now_utc
from booking.extensions import db
from booking.frontdesk.series import SeriesOutcome, book_patient_series
from booking.patients.models import Patient
from booking.scheduling.models import Practitioner, Service, VisitKind, VisitSeries
from booking.scheduling.series import EVERY_WEEKS, VISITS, Occurrence, preview_series
from booking.scheduling.service import active_services, bookable_practitioner_ids
from booking.web.forms import DayField, parse_instant
from booking.web.parsing import as_id
from booking.web.returning import remembered_patient

bp = Blueprint("series", __name__, url_prefix="/series")

DEFAULT_VISITS = "6"  # the clinic's usual short series
LEAVE_OUT = ""  # a visit's choice that leaves its week out
PLAN_FIELDS = ("service", "practitioner", "first_day", "time", "every_weeks", "count")
CHOOSE_AGAIN = "That choice could not be read. Please choose the times again."


def _often(weeks: int) -> str:
    return "Every week" if weeks == 1 else f"Every {weeks} weeks"


class SeriesForm(FlaskForm):
    """The plan of a series: visit type, practitioner, first day and time, how often, how many."""

    service = SelectField("Visit type", validators=[InputRequired("Choose the visit type.")])
    practitioner = SelectField("Practitioner", validators=[InputRequired("Choose who.")])
    first_day = DayField("Day of the first visit", validators=[InputRequired("Choose a day.")])
    time = TimeField("Time (clinic time)", validators=[InputRequired("Choose a time.")])
    every_weeks = SelectField(
        "How often",
        choices=[SelectChoice(str(n), _often(n)) for n in EVERY_WEEKS],
        default="1",
    )
    count = SelectField(
        "Number of visits", choices=[SelectChoice(str(n), str(n)) for n in VISITS],
        default=DEFAULT_VISITS,
    )

    def offer(self, services: list[Service], practitioners: list[Practitioner]) -> SeriesForm:
        self.service.choices = [SelectChoice(str(s.id), s.name) for s in services]
        self.practitioner.choices = [SelectChoice(str(p.id), p.name) for p in practitioners]
        return self

    def validate_practitioner(self, field: SelectField) -> None:
        service = self.chosen_service
        if service is not None and not bookable_practitioner_ids(service, self.practitioner_id):
            raise ValidationError("This practitioner does not give that visit type.")

    @property
    def chosen_service(self) -> Service | None:
        service_id = as_id(self.service.data)
        return db.session.get(Service, service_id) if service_id else None

    @property
    def practitioner_id(self) -> int | None:
        return as_id(self.practitioner.data)

    def preview(self) -> list[Occurrence]:
        return preview_series(
            self.chosen_service, self.practitioner_id, self.first_day.data, self.time.data,
            int(self.every_weeks.data), int(self.count.data), now_utc(),
        )


@dataclass
class SeriesPage:
    """What the plan form and the preview show, for the desk's page or the patient's."""

    form: SeriesForm
    occurrences: list[Occurrence]
    error: str | None = None

    @property
    def practitioner(self) -> Practitioner | None:
        return db.session.get(Practitioner, self.form.practitioner_id or 0)

    @property
    def all_free(self) -> bool:
        return all(occurrence.free for occurrence in self.occurrences)


def plan_form(
    services: list[Service], practitioners: list[Practitioner], formdata: MultiDict
) -> SeriesForm:
    """The plan as the query string gives it (a preview: no CSRF), or as "Book the series"
    posts it in hidden fields (CSRF checked)."""
    meta = {} if request.method == "POST" else {"csrf": False}
    return SeriesForm(formdata=formdata, meta=meta).offer(services, practitioners)


def series_page(form: SeriesForm, error: str | None = None) -> SeriesPage:
    """The plan, previewed when it is complete and valid."""
    asked = any(request.values.get(name) for name in PLAN_FIELDS)
    occurrences = form.preview() if asked and form.validate() else []
    return SeriesPage(form, occurrences, error)


def chosen_starts(formdata: MultiDict, count: int) -> list[datetime] | None:
    """The visits picked on the preview (`visit-1`... `visit-K`, left-out weeks skipped);
    None when a value cannot be read or none is picked."""
    starts = []
    for number in range(1, count + 1):
        value = (formdata.get(f"visit-{number}") or LEAVE_OUT).strip()
        if value == LEAVE_OUT:
            continue
        try:
            starts.append(parse_instant(value))
        except ValueError:
            return None
    return starts or None


def book_from_form(patient: Patient, form: SeriesForm, source: str) -> SeriesOutcome:
    """"Book the series": the visits picked on the preview, for the patient; all or nothing."""
    starts = chosen_starts(request.form, int(form.count.data)) if form.validate() else None
    if starts is None:
        return SeriesOutcome(None, CHOOSE_AGAIN, invalid=True)
    return book_patient_series(
        patient, form.chosen_service, form.practitioner_id, starts, int(form.every_weeks.data),
        now_utc(), source,
    )


# --- The signed-in returning patient's pages -------------------------------------------------


def follow_up_services() -> list[Service]:
    return [s for s in active_services() if s.kind == VisitKind.FOLLOW_UP]


def follow_up_practitioners(services: list[Service]) -> list[Practitioner]:
    ids = {pid for service in services for pid in bookable_practitioner_ids(service)}
    return sorted(
        (db.session.get(Practitioner, pid) for pid in ids), key=lambda p: (p.name, p.id)
    )


def patient_form(formdata: MultiDict) -> SeriesForm:
    services = follow_up_services()
    return plan_form(services, follow_up_practitioners(services), formdata)


def signed_in_patient() -> Patient:
    """The returning patient this session belongs to; others are sent to ask for a link."""
    patient = remembered_patient()
    if patient is None:
        abort(redirect(url_for("returning.ask"), code=303))
    return patient


@bp.after_request
def private(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def start():
    patient = signed_in_patient()
    return render_patient_page(patient, series_page(patient_form(request.args)))


@bp.post("/")
def book():
    patient = signed_in_patient()
    form = patient_form(request.form)
    outcome = book_from_form(patient, form, source="online")
    if outcome.series is None:
        status = 422 if outcome.invalid else 409
        return render_patient_page(patient, series_page(form, outcome.message), status=status)
    return redirect(url_for(".booked", series_id=outcome.series.id), code=303)


@bp.get("/<id:series_id>")
def booked(series_id: int):
    patient = signed_in_patient()
    series = db.session.get(VisitSeries, series_id)
    if series is None or series.patient_id != patient.id:
        abort(404)
    return render_template("series/booked.html", series=series, clinic=get_clinic())


def render_patient_page(patient: Patient, page: SeriesPage, status: int = 200):
    return render_template(
        "series/start.html", patient=patient, page=page, action=url_for(".book")
    ), status

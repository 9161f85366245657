"""JSON API v1: services, practitioners, free times and holds, for clinic websites and apps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, request, url_for
from flask_limiter.util import get_remote_address
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import MultiDict
from werkzeug.routing import BuildError
from wtforms import Form, IntegerField, StringField
from wtforms.validators import InputRequired, NumberRange, Optional, ValidationError

from booking.clinic.service import get_clinic
from booking.db import now_utc
from booking.extensions import db, limiter
from booking.intake.service import may_book
from booking.scheduling.availability import Slot
from booking.scheduling.hold_cap import HoldCapReached, client_digest
from booking.scheduling.models import Appointment, Practitioner, Service
from booking.scheduling.series import EVERY_WEEKS, VISITS, Occurrence, preview_series
from booking.scheduling.service import (
    SlotNotOffered,
    SlotTaken,
    bookable_practitioner_ids,
    find_free_slots,
    hold_slot,
)
from booking.web.forms import InstantOutOfRange, parse_instant
from booking.web.parsing import LATEST_DAY, as_id, parse_day

bp = Blueprint("api", __name__, url_prefix="/api/v1")

DEFAULT_DAYS = 7
MAX_DAYS = 31
HOLD_RATE_LIMIT = "20 per minute"
PASSED = "That time has passed."
NOT_OFFERED = "That time is not offered. Choose one of the times from /api/v1/availability."
FOLLOW_UP_BY_LINK = (
    "Follow-ups are booked through the clinic's returning-patient link: the patient asks for "
    "one by email at {url}. Hold a first visit here instead."
)


# --- Input ----------------------------------------------------------------------------------


def active_service(value: str) -> Service | None:
    """An active service by id or slug."""
    service_id = as_id(value)
    match = Service.id == service_id if service_id is not None else Service.slug == value
    return db.session.scalar(select(Service).where(match, Service.active.is_(True)))


def practitioner_for(value: str, service: Service | None) -> int | None:
    """The practitioner id asked for, None for "any"; raises ValidationError otherwise."""
    if value in ("", "any"):
        return None
    practitioner_id = as_id(value)
    if practitioner_id is None:
        raise ValidationError("Unknown practitioner.")
    if service is not None and bookable_practitioner_ids(service, practitioner_id):
        return practitioner_id  # the usual case, in one query
    practitioner = db.session.get(Practitioner, practitioner_id)
    if practitioner is None or not practitioner.active:
        raise ValidationError("Unknown practitioner.")
    if service is not None:
        raise ValidationError("That practitioner does not offer this service.")
    return practitioner.id


class ApiForm(Form):
    """A form over a MultiDict (query string or JSON body); no CSRF: the API uses no cookies."""

    service = StringField(validators=[InputRequired("Choose a service (its id or slug).")])

    def validate_service(self, field: StringField) -> None:
        self.chosen_service = active_service(field.data.strip())
        if self.chosen_service is None:
            raise ValidationError("Unknown service.")

    def field_errors(self) -> dict[str, str]:
        """The first error of each field, by the field's name in the request."""
        return {field.name: field.errors[0] for field in self if field.errors}


class AvailabilityForm(ApiForm):
    """The query string of GET /availability."""

    practitioner = StringField(default="any")
    first_day = StringField(name="from")
    days = IntegerField(
        default=DEFAULT_DAYS,
        validators=[Optional(), NumberRange(1, MAX_DAYS, f"Ask for 1 to {MAX_DAYS} days.")],
    )

    def __init__(self, formdata: MultiDict, today: date) -> None:
        self.chosen_service: Service | None = None
        self.chosen_first_day: date | None = None
        self.today = today
        super().__init__(formdata)

    def validate_practitioner(self, field: StringField) -> None:
        self.chosen_practitioner_id = practitioner_for(field.data.strip(), self.chosen_service)

    def validate_first_day(self, field: StringField) -> None:
        text = (field.data or "").strip()
        if not text:
            return
        # LATEST_DAY plus MAX_DAYS stays far below date.max, so the day arithmetic cannot overflow.
        self.chosen_first_day = parse_day(text, self.today, LATEST_DAY)
        if self.chosen_first_day is not None:
            return
        day = parse_day(text, date.min, date.max)  # only to say why it was refused
        if day is None:
            raise ValidationError("Not a valid date value.")
        if day < self.today:
            raise ValidationError("That day has passed.")
        raise ValidationError(f"Ask for a day up to {LATEST_DAY.isoformat()}.")


class HoldForm(ApiForm):
    """The JSON body of POST /holds."""

    practitioner_id = StringField(default="any")
    start = StringField(validators=[InputRequired("Give the start time.")])

    def __init__(self, formdata: MultiDict, now: datetime) -> None:
        self.chosen_service: Service | None = None
        self.now = now
        super().__init__(formdata)

    def validate_service(self, field: StringField) -> None:
        """A follow-up needs a known patient, and the API knows nobody (a continue_url can be
        opened by anyone): follow-ups are refused here, by the same rule as everywhere."""
        super().validate_service(field)
        if not may_book(self.chosen_service, None):
            raise ValidationError(FOLLOW_UP_BY_LINK.format(url=returning_url()))

    def validate_practitioner_id(self, field: StringField) -> None:
        self.chosen_practitioner_id = practitioner_for(field.data.strip(), self.chosen_service)

    def validate_start(self, field: StringField) -> None:
        self.start_at = readable_start(field.data, self.now)


class SeriesPreviewForm(ApiForm):
    """The JSON body of POST /series/preview: one practitioner, the first visit's start (its
    local time is kept for every visit), every N weeks, K visits."""

    practitioner_id = StringField(validators=[InputRequired("Give the practitioner's id.")])
    first_start = StringField(validators=[InputRequired("Give the first visit's start.")])
    every_weeks = IntegerField(validators=[
        InputRequired("Give how many weeks apart the visits are (1 to 4)."),
        NumberRange(EVERY_WEEKS.start, EVERY_WEEKS.stop - 1, "Visits are 1 to 4 weeks apart."),
    ])
    count = IntegerField(validators=[
        InputRequired("Give the number of visits (2 to 12)."),
        NumberRange(VISITS.start, VISITS.stop - 1, "A series is 2 to 12 visits."),
    ])

    def __init__(self, formdata: MultiDict, now: datetime) -> None:
        self.chosen_service: Service | None = None
        self.now = now
        super().__init__(formdata)

    def validate_practitioner_id(self, field: StringField) -> None:
        self.chosen_practitioner_id = practitioner_for(field.data.strip(), self.chosen_service)
        if self.chosen_practitioner_id is None:
            raise ValidationError("Give one practitioner's id: a series stays with one.")

    def validate_first_start(self, field: StringField) -> None:
        self.first_start_at = readable_start(field.data, self.now)


def readable_start(text: str, now: datetime) -> datetime:
    """A future instant in ISO 8601 with its offset; raises ValidationError saying what is wrong."""
    try:
        start = parse_instant(text)
    except InstantOutOfRange as error:  # readable, but nobody's visit (years 1, 9999...)
        raise ValidationError(PASSED if error.too_early else NOT_OFFERED) from error
    except ValueError as error:
        raise ValidationError(
            "Give the time in ISO 8601 with its UTC offset, like 2026-11-23T09:00:00-05:00."
        ) from error
    if start <= now:
        raise ValidationError(PASSED)
    return start


def json_formdata() -> MultiDict | None:
    """The request's JSON object as form data (null as empty), or None if it is not one."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return None
    return MultiDict({key: "" if value is None else str(value) for key, value in body.items()})


def hold_rate_limit() -> str:
    """Holds per client, from the config so that tests and deployments can tune it."""
    return current_app.config.get("API_HOLD_RATE_LIMIT", HOLD_RATE_LIMIT)


# --- Output ---------------------------------------------------------------------------------


def local_iso(moment: datetime, zone: ZoneInfo) -> str:
    """An instant as ISO 8601 in the clinic zone, with its UTC offset."""
    return moment.astimezone(zone).isoformat()


def service_json(service: Service) -> dict[str, Any]:
    fields = ("id", "slug", "name", "description", "minutes")
    return {**{name: getattr(service, name) for name in fields}, "kind": service.kind.value}


def practitioner_json(practitioner: Practitioner) -> dict[str, Any]:
    offered = sorted(s.id for s in practitioner.services if s.active)
    fields = ("id", "slug", "name", "title")
    return {**{name: getattr(practitioner, name) for name in fields}, "service_ids": offered}


def slots_json(slots: list[Slot], zone: ZoneInfo) -> list[dict[str, Any]]:
    """Slots as JSON; practitioners share most times, so each instant is formatted once."""
    formatted: dict[datetime, str] = {}

    def iso(moment: datetime) -> str:
        if moment not in formatted:
            formatted[moment] = local_iso(moment, zone)
        return formatted[moment]

    return [
        {"start": iso(slot.start), "end": iso(slot.end), "practitioner_id": slot.practitioner_id}
        for slot in slots
    ]


def continue_url(hold: Appointment) -> str:
    """The booking flow's page where the patient finishes this hold in the browser."""
    try:
        return url_for("booking.resume_hold", hold_id=hold.id, key=hold.hold_key, _external=True)
    except BuildError:
        # An app built without the booking flow still hands out the same address.
        return f"{request.host_url}book/resume/{hold.id}/{hold.hold_key}"


def returning_url() -> str:
    """The public "Book a follow-up" page, where returning patients ask for their link."""
    try:
        return url_for("returning.ask", _external=True)
    except BuildError:
        return f"{request.host_url}returning/"


def hold_json(hold: Appointment, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "hold_id": hold.id,
        "expires_at": hold.hold_expires_at.astimezone(UTC).isoformat(timespec="seconds"),
        "start": local_iso(hold.starts_at, zone),
        "end": local_iso(hold.ends_at, zone),
        "practitioner_id": hold.practitioner_id,
        "continue_url": continue_url(hold),
    }


def occurrence_json(occurrence: Occurrence, zone: ZoneInfo) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "start": local_iso(occurrence.start, zone),
        "end": local_iso(occurrence.end, zone),
        "free": occurrence.free,
    }
    if not occurrence.free:
        answer["alternatives"] = slots_json(list(occurrence.alternatives), zone)
    return answer


def invalid(fields: dict[str, str]):
    return jsonify(error="invalid", fields=fields), 422


def slot_taken(alternatives: list[Slot], zone: ZoneInfo):
    return jsonify(error="slot_taken", alternatives=slots_json(alternatives, zone)), 409


def too_many_holds(cap: HoldCapReached, now: datetime):
    """429: this client keeps its most live holds; says when the first of them ends."""
    retry_after = max(1, int((cap.frees_at - now).total_seconds()) + 1)
    message = (
        f"This client already holds {cap.limit} times. Finish those bookings through their "
        "continue_url, or wait until one runs out."
    )
    body = jsonify(error="too_many_holds", message=message, retry_after=retry_after)
    return body, 429, {"Retry-After": str(retry_after)}


# --- Views ----------------------------------------------------------------------------------


@bp.get("/services")
def services():
    query = select(Service).where(Service.active.is_(True)).order_by(Service.id)
    return jsonify(services=[service_json(s) for s in db.session.scalars(query)])


@bp.get("/practitioners")
def practitioners():
    query = (
        select(Practitioner)
        .where(Practitioner.active.is_(True))
        .options(selectinload(Practitioner.services))
        .order_by(Practitioner.id)
    )
    return jsonify(practitioners=[practitioner_json(p) for p in db.session.scalars(query)])


@bp.get("/availability")
def availability():
    clinic, now = get_clinic(), now_utc()
    form = AvailabilityForm(request.args, today=now.astimezone(clinic.zone).date())
    if not form.validate():
        return invalid(form.field_errors())
    first_day = form.chosen_first_day or form.today
    days = form.days.data or DEFAULT_DAYS
    last_day = first_day + timedelta(days=days - 1)
    service, practitioner_id = form.chosen_service, form.chosen_practitioner_id
    slots = find_free_slots(service, first_day, last_day, now, practitioner_id)
    return jsonify({
        "timezone": clinic.timezone,
        "service": service_json(service),
        "from": first_day.isoformat(),
        "days": days,
        "slots": slots_json(slots, clinic.zone),
    })


@bp.post("/holds")
@limiter.limit(hold_rate_limit)
def create_hold():
    clinic, now = get_clinic(), now_utc()
    formdata = json_formdata()
    if formdata is None:
        return invalid({"body": "Send a JSON object (Content-Type: application/json)."})
    form = HoldForm(formdata, now=now)
    if not form.validate():
        return invalid(form.field_errors())
    try:
        hold = hold_slot(
            form.chosen_service, form.start_at, now, form.chosen_practitioner_id,
            client=client_digest(get_remote_address()),
        )
    except HoldCapReached as cap:
        return too_many_holds(cap, now)
    except SlotNotOffered:
        return invalid({"start": NOT_OFFERED})
    except SlotTaken as taken:
        return slot_taken(taken.alternatives, clinic.zone)
    return jsonify(hold_json(hold, clinic.zone)), 201


@bp.post("/series/preview")
def series_preview():
    """Each visit of a series: free, or the nearest free times of its week. Books nothing."""
    clinic, now = get_clinic(), now_utc()
    formdata = json_formdata()
    if formdata is None:
        return invalid({"body": "Send a JSON object (Content-Type: application/json)."})
    form = SeriesPreviewForm(formdata, now=now)
    if not form.validate():
        return invalid(form.field_errors())
    local = form.first_start_at.astimezone(clinic.zone)
    occurrences = preview_series(
        form.chosen_service, form.chosen_practitioner_id, local.date(), local.time(),
        form.every_weeks.data, form.count.data, now,
    )
    return jsonify({
        "timezone": clinic.timezone,
        "service": service_json(form.chosen_service),
        "practitioner_id": form.chosen_practitioner_id,
        "every_weeks": form.every_weeks.data,
        "all_free": all(o.free for o in occurrences),
        "occurrences": [occurrence_json(o, clinic.zone) for o in occurrences],
    })

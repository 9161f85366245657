"""Public booking forms: validation lives here, next to the fields."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, HiddenField, StringField, TelField
from wtforms.validators import DataRequired, Email, InputRequired, Length, ValidationError

from booking.db import now_utc
from booking.scheduling.models import Service
from booking.scheduling.service import active_service
from booking.web.parsing import EARLIEST_DAY, LATEST_DAY, as_id, parse_day

PHONE_CHARACTERS = re.compile(r"^[0-9 +().-]+$")
EARLIEST_BIRTH = date(1900, 1, 1)
BAD_DAY = "That date could not be read: choose a day between the years 2000 and 2200."
BAD_BIRTH_DATE = "Enter your date of birth as year-month-day, like 1975-03-27."


class DayField(DateField):
    """A day as a date input sends it (2026-11-23), between `earliest` and `latest`; anything
    else (17/05/1980, 2026-02-30, year 0 or 10000) is refused with `message`, and what was typed
    stays in the box."""

    def __init__(self, label: str | None = None, validators=None, *, message: str = BAD_DAY,
                 earliest: date = EARLIEST_DAY, latest: date = LATEST_DAY, **kwargs) -> None:
        super().__init__(label, validators, **kwargs)
        self.message, self.earliest, self.latest = message, earliest, latest

    def process_formdata(self, valuelist: list[str]) -> None:
        text = " ".join(valuelist).strip() if valuelist else ""
        if not text:
            self.data = None
            return
        self.data = parse_day(text, self.earliest, self.latest)
        if self.data is None:
            raise ValueError(self.message)


class InstantOutOfRange(ValueError):
    """A readable instant no visit can have: before 2000 (`too_early`) or after 2200."""

    def __init__(self, text: str, too_early: bool) -> None:
        super().__init__(f"out of range: {text!r}")
        self.too_early = too_early


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant that names its UTC offset, as aware UTC. Raises ValueError.

    Instants outside the days any visit can have are refused too: at the edge of year 1 or 9999
    the conversion to UTC, or a day's arithmetic after it, would overflow.
    """
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("the time must include its UTC offset")
    try:
        moment = moment.astimezone(UTC)
    except OverflowError as error:
        raise InstantOutOfRange(text, too_early=moment.year == 1) from error
    if not EARLIEST_DAY <= moment.date() <= LATEST_DAY:
        raise InstantOutOfRange(text, too_early=moment.date() < EARLIEST_DAY)
    return moment


def readable_instant(form: FlaskForm, field: HiddenField) -> None:
    """A time button's value: an ISO instant with its offset, kept as `field.instant`."""
    try:
        field.instant = parse_instant(field.data)
    except ValueError as error:
        raise ValidationError("That time could not be read. Please choose again.") from error


class HoldForm(FlaskForm):
    """Choosing a time: the slot buttons on the times page post this."""

    service = HiddenField(validators=[DataRequired()])
    practitioner = HiddenField(default="any")
    start = HiddenField(validators=[DataRequired(), readable_instant])

    def validate_practitioner(self, field: HiddenField) -> None:
        if field.data not in ("", "any") and as_id(field.data) is None:
            raise ValidationError("Unknown practitioner.")

    def chosen_service(self) -> Service | None:
        return active_service(as_id(self.service.data))

    def practitioner_id(self) -> int | None:
        return as_id(self.practitioner.data)


class ContactForm(FlaskForm):
    first_name = StringField(
        "First name",
        validators=[DataRequired("Enter your first name."), Length(max=100)],
        render_kw={"autocomplete": "given-name"},
    )
    last_name = StringField(
        "Last name",
        validators=[DataRequired("Enter your last name."), Length(max=100)],
        render_kw={"autocomplete": "family-name"},
    )
    date_of_birth = DayField(
        "Date of birth",
        validators=[InputRequired("Enter your date of birth.")],
        message=BAD_BIRTH_DATE,
        earliest=date.min,  # the range is said by validate_date_of_birth, in its own words
        latest=date.max,
        render_kw={"autocomplete": "bday"},
    )
    email = EmailField(
        "Email",
        validators=[
            DataRequired("Enter your email address."),
            Email("Enter an email address like name@example.com.", check_deliverability=False),
            Length(max=254),
        ],
        render_kw={"autocomplete": "email"},
    )
    phone = TelField(
        "Phone",
        validators=[DataRequired("Enter a phone number we can call."), Length(max=40)],
        render_kw={"autocomplete": "tel"},
    )

    def validate_date_of_birth(self, field: DayField) -> None:
        if field.data is None:
            return  # unreadable: the field already says how to write it
        if field.data > now_utc().date():
            raise ValidationError("Your date of birth cannot be in the future.")
        if field.data < EARLIEST_BIRTH:
            raise ValidationError("Check the year of your date of birth: it is before 1900.")

    def validate_phone(self, field: TelField) -> None:
        digits = re.sub(r"\D", "", field.data or "")
        if not PHONE_CHARACTERS.match(field.data or "") or len(digits) < 7:
            raise ValidationError("Enter a phone number with at least 7 digits, like 555 010 2030.")

    def to_session(self) -> dict[str, str]:
        return {
            "first_name": self.first_name.data.strip(),
            "last_name": self.last_name.data.strip(),
            "date_of_birth": self.date_of_birth.data.isoformat(),
            "email": self.email.data.strip(),
            "phone": self.phone.data.strip(),
        }


class FollowUpEmailForm(FlaskForm):
    """"Book a follow-up": the email address only; the answer is the same for any address."""

    email = EmailField(
        "Your email address",
        validators=[
            DataRequired("Enter your email address."),
            Email("Enter an email address like name@example.com.", check_deliverability=False),
            Length(max=254),
        ],
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        render_kw={"autocomplete": "email", "spellcheck": "false"},
    )


class ButtonForm(FlaskForm):
    """No fields: the CSRF token of a form that is one button (Continue, Sign out)."""

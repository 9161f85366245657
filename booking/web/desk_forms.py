"""Front-desk forms, validated next to the fields. Times are wall-clock times, clinic zone."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from booking.scheduling.waitlist import WINDOWS
from booking.web.forms import DayField
from booking.web.parsing import as_id

WEEKDAYS = [
    SelectChoice(str(number), name)
    for number, name in enumerate(
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    )
]


def optional_id(value: str | None) -> int | None:
    """A practitioner (or other) id from a form, None for "any", nothing or nonsense."""
    return as_id(value)


class ActionForm(FlaskForm):
    """Check in, complete, no-show, undo, withdraw: nothing to fill in but the CSRF token."""


class MoveForm(FlaskForm):
    day = DayField("Day", validators=[InputRequired("Choose a day.")])
    time = TimeField("Time", validators=[InputRequired("Choose a time.")])
    practitioner = HiddenField()

    def practitioner_id(self) -> int | None:
        return optional_id(self.practitioner.data)


class CancelForm(FlaskForm):
    reason = TextAreaField(
        "Reason for cancelling",
        validators=[DataRequired("Say why the visit is cancelled."), Length(max=500)],
    )


class BookForm(FlaskForm):
    """A time chosen for a phone caller: each free time is a submit button carrying `time`."""

    patient = HiddenField(validators=[DataRequired()])
    service = HiddenField(validators=[DataRequired()])
    practitioner = HiddenField(default="any")
    day = DayField(validators=[InputRequired()])
    time = TimeField(validators=[InputRequired("Choose a time.")])
    send_intake = BooleanField("Email the patient how to answer the health questions")

    def practitioner_id(self) -> int | None:
        return optional_id(self.practitioner.data)


class TimeOffForm(FlaskForm):
    practitioner = HiddenField(validators=[DataRequired()])
    first_day = DayField("From day", validators=[InputRequired("Choose the first day.")])
    starts = TimeField("From time", validators=[InputRequired("Give the start time.")])
    last_day = DayField("Until day", validators=[Optional()])
    ends = TimeField("Until time", validators=[InputRequired("Give the end time.")])
    reason = StringField(
        "Reason",
        validators=[DataRequired("Say what the time is for, e.g. Training."), Length(max=200)],
    )

    def validate_ends(self, field: TimeField) -> None:
        last_day = self.last_day.data or self.first_day.data
        if self.first_day.data and self.starts.data and field.data and (
            (last_day, field.data) <= (self.first_day.data, self.starts.data)
        ):
            raise ValidationError("The end must be after the start.")


class CallBackForm(FlaskForm):
    """One try at calling a patient back: answered (a note is needed) or no answer (the
    call-back stays open; a note such as "left a voicemail" is optional). Each outcome is a
    submit button carrying `outcome`; a post without one means answered."""

    outcome = RadioField(
        "Outcome",
        choices=[SelectChoice("answered", "Answered"), SelectChoice("no_answer", "No answer")],
        default="answered",
    )
    note = TextAreaField("What was said or arranged", validators=[Length(max=1000)])

    @property
    def answered(self) -> bool:
        return self.outcome.data != "no_answer"

    def validate_note(self, field: TextAreaField) -> None:
        if self.answered and not (field.data or "").strip():
            raise ValidationError("Write a short note about the call.")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class WaitlistForm(FlaskForm):
    """A patient asks for an earlier time: which service, with whom, which days and times."""

    service = SelectField("Visit type", validators=[DataRequired("Choose the visit type.")])
    practitioner = SelectField("Practitioner", default="any")
    appointment = SelectField("Earlier than", default="", validators=[Optional()])
    weekdays = MultiCheckboxField("Days that suit", choices=WEEKDAYS, default=[])
    window = RadioField(
        "Times that suit",
        choices=[
            SelectChoice("any", "Any time"),
            SelectChoice("morning", "Mornings (until 12:00 PM)"),
            SelectChoice("afternoon", "Afternoons (12:00 to 5:00 PM)"),
            SelectChoice("evening", "Evenings (from 5:00 PM)"),
            SelectChoice("custom", "Between these times"),
        ],
        default="any",
    )
    earliest = TimeField("From", validators=[Optional()])
    latest = TimeField("Until", validators=[Optional()])

    def validate_latest(self, field: TimeField) -> None:
        if self.window.data != "custom":
            return
        if not self.earliest.data or not field.data:
            raise ValidationError("Give both times, or choose another option.")
        if field.data <= self.earliest.data:
            raise ValidationError("The end must be after the start.")

    def time_window(self):
        if self.window.data == "custom":
            return self.earliest.data, self.latest.data
        return WINDOWS.get(self.window.data, WINDOWS["any"])

    def weekday_numbers(self) -> list[int]:
        return [int(day) for day in self.weekdays.data or []]

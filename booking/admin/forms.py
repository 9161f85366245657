"""Admin forms: each field's validation next to it; the views only ask `validate_on_submit()`."""

from __future__ import annotations

import re
from datetime import time
from zoneinfo import available_timezones

from flask_security.utils import password_complexity_validator, password_length_validator
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from booking.accounts.models import RoleName, User
from booking.admin.hours import WEEKDAYS, interval_problems
from booking.extensions import db
from booking.intake.models import ConsentText
from booking.scheduling.models import Practitioner, Service, VisitKind

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SLUG_MESSAGE = "Use lower-case letters, digits and single hyphens, like follow-up."
ROLE_LABELS = {
    RoleName.ADMIN: "Admin: settings, staff accounts, audit log, and everything else",
    RoleName.FRONT_DESK: "Front desk: calendar, bookings and patients' contact details",
    RoleName.PRACTITIONER: "Practitioner: intakes, reviews and visit outcomes",
}


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


class WholeNumberField(IntegerField):
    """An integer field whose message for text that is not a number says what to type."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError("Enter a whole number, like 30.") from error


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def process_data(self, value):
        # Rows linked to the edited row (a post with no form data falls back to them): their ids.
        super().process_data([getattr(row, "id", row) for row in value] if value else value)


def minutes_field(label: str, low: int, high: int, **kwargs) -> WholeNumberField:
    return WholeNumberField(
        label,
        validators=[
            InputRequired("Enter a number."),
            NumberRange(low, high, f"Enter a number from {low} to {high}."),
        ],
        **kwargs,
    )


def _taken(model, column, value, own_id: int | None) -> bool:
    """Whether another row of `model` already uses `value` in `column`."""
    query = select(model.id).where(column == value)
    if own_id is not None:
        query = query.where(model.id != own_id)
    return db.session.scalar(query.limit(1)) is not None


# --- services and practitioners -------------------------------------------------------------


class ServiceForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=120)])
    slug = StringField(
        "Web address name",
        validators=[DataRequired("Enter a web address name."), Length(max=80),
                    Regexp(SLUG, message=SLUG_MESSAGE)],
    )
    description = TextAreaField("Description for patients", validators=[Length(max=2000)])
    kind = SelectField(
        "Kind of visit", choices=options((k.value, k.label) for k in VisitKind)
    )
    minutes = minutes_field("Length in minutes", 5, 480)
    buffer_before_minutes = minutes_field("Buffer before, in minutes", 0, 120, default=0)
    buffer_after_minutes = minutes_field("Buffer after, in minutes", 0, 120, default=0)
    active = BooleanField("Offered (patients can book it)", default=True)
    practitioners = CheckboxesField("Practitioners who offer it", coerce=int)

    def __init__(self, *args, editing: Service | None = None, **kwargs):
        super().__init__(*args, obj=editing, **kwargs)
        self.editing_id = editing.id if editing else None
        if editing is not None and not self.is_submitted():
            self.practitioners.data = [p.id for p in editing.practitioners]
            self.kind.data = editing.kind.value
        self.practitioners.choices = options(
            (p.id, p.name + ("" if p.active else " (inactive)"))
            for p in db.session.scalars(select(Practitioner).order_by(Practitioner.name))
        )

    def validate_slug(self, field: StringField) -> None:
        if _taken(Service, Service.slug, field.data, self.editing_id):
            raise ValidationError("Another service already uses this web address name.")


class PractitionerForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=120)])
    slug = StringField(
        "Web address name",
        validators=[DataRequired("Enter a web address name."), Length(max=80),
                    Regexp(SLUG, message=SLUG_MESSAGE)],
    )
    title = StringField("Title", validators=[Length(max=120)])
    bio = TextAreaField("About them, for patients", validators=[Length(max=4000)])
    active = BooleanField("Active (takes bookings)", default=True)
    user_id = SelectField("Staff account", coerce=int)
    services = CheckboxesField("Services they offer", coerce=int)

    def __init__(self, *args, editing: Practitioner | None = None, **kwargs):
        super().__init__(*args, obj=editing, **kwargs)
        self.editing_id = editing.id if editing else None
        if editing is not None and not self.is_submitted():
            self.services.data = [s.id for s in editing.services]
            self.user_id.data = editing.user_id or 0
        self.services.choices = options(
            (s.id, s.name + ("" if s.active else " (not offered)"))
            for s in db.session.scalars(select(Service).order_by(Service.name))
        )
        self.user_id.choices = options(
            [(0, "No staff account")]
            + [(u.id, f"{u.name or u.email} ({u.email})") for u in linkable_users(self.editing_id)]
        )

    def validate_slug(self, field: StringField) -> None:
        if _taken(Practitioner, Practitioner.slug, field.data, self.editing_id):
            raise ValidationError("Another practitioner already uses this web address name.")


def linkable_users(practitioner_id: int | None) -> list[User]:
    """Active staff not linked to another practitioner (plus this practitioner's own account)."""
    linked_elsewhere = select(Practitioner.user_id).where(Practitioner.user_id.is_not(None))
    if practitioner_id is not None:
        linked_elsewhere = linked_elsewhere.where(Practitioner.id != practitioner_id)
    return list(
        db.session.scalars(
            select(User)
            .where(User.active.is_(True), User.id.not_in(linked_elsewhere))
            .order_by(User.name, User.email)
        )
    )


# --- weekly hours ----------------------------------------------------------------------------


class IntervalForm(Form):
    starts = TimeField("From", validators=[Optional()])
    ends = TimeField("To", validators=[Optional()])


class DayForm(Form):
    # Sent for every day, so a day without intervals keeps its place among the seven.
    weekday = HiddenField()
    intervals = FieldList(FormField(IntervalForm))


class WeeklyHoursForm(FlaskForm):
    """Seven days, each with any number of intervals; rows are added and removed without JS."""

    days = FieldList(FormField(DayForm), min_entries=7, max_entries=7)

    @classmethod
    def from_hours(cls, hours) -> WeeklyHoursForm:
        """The form filled with a practitioner's WorkingHours rows (for a GET)."""
        week = [{"weekday": str(day), "intervals": []} for day in range(len(WEEKDAYS))]
        for row in sorted(hours, key=lambda h: (h.weekday, h.starts)):
            week[row.weekday]["intervals"].append({"starts": row.starts, "ends": row.ends})
        return cls(formdata=None, data={"days": week})

    def change_rows(self, action: str | None) -> bool:
        """Apply an "add-<day>" or "remove-<day>-<row>" button; False for any other action."""
        parts = (action or "").split("-")
        try:
            numbers = [int(p) for p in parts[1:]]
        except ValueError:
            return False
        if parts[0] == "add" and len(numbers) == 1 and 0 <= numbers[0] < len(WEEKDAYS):
            self.days[numbers[0]].form.intervals.append_entry()
            return True
        if parts[0] == "remove" and len(numbers) == 2 and 0 <= numbers[0] < len(WEEKDAYS):
            entries = self.days[numbers[0]].form.intervals.entries
            if 0 <= numbers[1] < len(entries):
                del entries[numbers[1]]
                return True
        return False

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        for day in self.days:
            rows = day.form.intervals.entries
            pairs = [(row.form.starts.data, row.form.ends.data) for row in rows]
            for problem in interval_problems(pairs):
                field = getattr(rows[problem.index].form, problem.field)
                if not field.errors:
                    field.errors = [*field.errors, problem.message]
                valid = False
        return valid

    def problems(self) -> list[tuple[str, str]]:
        """(field id, "Monday, interval 2: message") for each interval with an error."""
        found = []
        for weekday, day in enumerate(self.days):
            for number, row in enumerate(day.form.intervals, start=1):
                for field in (row.form.starts, row.form.ends):
                    if field.errors:
                        found.append(
                            (field.id, f"{WEEKDAYS[weekday]}, interval {number}: {field.errors[0]}")
                        )
        return found

    def week(self) -> dict[int, list[tuple[time | None, time | None]]]:
        return {
            weekday: [(row.form.starts.data, row.form.ends.data) for row in day.form.intervals]
            for weekday, day in enumerate(self.days)
        }


# --- closures, policy, consent --------------------------------------------------------------


class ClosureForm(FlaskForm):
    first_day = DateField("First day closed", validators=[InputRequired("Enter the first day.")])
    last_day = DateField(
        "Last day closed",
        validators=[Optional()],
        description="Leave empty for a single day.",
    )
    reason = StringField("Reason", validators=[Length(max=200)])

    def validate_last_day(self, field: DateField) -> None:
        if field.data and self.first_day.data and field.data < self.first_day.data:
            raise ValidationError("The last day cannot be before the first day.")


class PolicyForm(FlaskForm):
    name = StringField("Clinic name", validators=[DataRequired("Enter the clinic's name."),
                                                  Length(max=200)])
    address = StringField("Address", validators=[DataRequired("Enter the address."),
                                                 Length(max=300)])
    phone = StringField("Phone", validators=[DataRequired("Enter a phone number."),
                                             Length(max=40)])
    email = EmailField(
        "Email",
        validators=[DataRequired("Enter an email address."), Length(max=254),
                    Email("Enter an email address like name@example.com.",
                          check_deliverability=False)],
    )
    timezone = StringField(
        "Time zone", validators=[DataRequired("Enter the clinic's time zone."), Length(max=64)]
    )
    min_notice_minutes = minutes_field("Minimum notice, in minutes", 0, 20160)
    horizon_days = minutes_field("Booking horizon, in days", 1, 730)
    hold_minutes = minutes_field("Hold length, in minutes", 1, 60)
    cancellation_window_hours = minutes_field("Cancellation window, in hours", 0, 720)
    slot_step_minutes = minutes_field("Start times every, in minutes", 5, 120)

    def validate_timezone(self, field: StringField) -> None:
        field.data = (field.data or "").strip()
        if field.data not in available_timezones():
            raise ValidationError(
                "Enter a time zone name from the IANA list, like America/New_York."
            )


class ConsentForm(FlaskForm):
    version = StringField(
        "Version name",
        validators=[DataRequired("Enter a name for this version."), Length(max=40)],
    )
    text = TextAreaField(
        "Consent text", validators=[DataRequired("Enter the consent text."), Length(max=20000)]
    )

    def validate_version(self, field: StringField) -> None:
        field.data = field.data.strip()
        exists = db.session.scalar(
            select(ConsentText.id).where(func.lower(ConsentText.version) == field.data.lower())
        )
        if exists is not None:
            raise ValidationError("A version with this name exists. Choose a new name.")


# --- staff accounts --------------------------------------------------------------------------


def role_choices() -> list[SelectChoice]:
    return options((role.value, ROLE_LABELS[role]) for role in RoleName)


class StaffRolesForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter their name."), Length(max=120)])
    roles = CheckboxesField(
        "Roles",
        choices=role_choices,
        validators=[DataRequired("Choose at least one role.")],
    )


class StaffCreateForm(StaffRolesForm):
    email = EmailField(
        "Email",
        validators=[DataRequired("Enter their email address."), Length(max=254),
                    Email("Enter an email address like name@example.com.",
                          check_deliverability=False)],
    )
    password_choice = RadioField(
        "How they get a password",
        choices=options([
            ("email", "Email them a link to choose their own password"),
            ("temporary", "Set a temporary password now and tell them in person"),
        ]),
        default="email",
    )
    temporary_password = PasswordField("Temporary password")

    @property
    def wants_temporary_password(self) -> bool:
        return self.password_choice.data == "temporary"

    def validate_email(self, field: EmailField) -> None:
        field.data = field.data.strip().lower()
        if _taken(User, func.lower(User.email), field.data, None):
            raise ValidationError("A staff account with this email address exists.")

    def validate_temporary_password(self, field: PasswordField) -> None:
        if not self.wants_temporary_password:
            return
        if not field.data:
            raise ValidationError("Enter a temporary password, or choose the email link.")
        problems = password_length_validator(field.data) or password_complexity_validator(
            field.data, is_register=True
        )
        if problems:
            raise ValidationError(" ".join(str(p) for p in problems))


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    subject_type = SelectField("What", choices=options([("", "Everything")]), default="")

    def set_subject_types(self, names: list[str]) -> None:
        self.subject_type.choices = options(
            [("", "Everything")] + [(name, name.replace("_", " ")) for name in names]
        )
    subject_id = WholeNumberField(
        "Number", validators=[Optional(), NumberRange(min=1, message="Enter 1 or more.")]
    )

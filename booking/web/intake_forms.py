"""Intake forms: the CSRF token for questionnaire steps, and consent to treatment."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, Length, ValidationError


class IntakeStepForm(FlaskForm):
    """No fields: the questions are drawn from the questionnaire data; this carries the token."""


class ConsentForm(FlaskForm):
    version = HiddenField()
    agree = BooleanField(
        "I have read this and I agree to treatment",
        validators=[DataRequired("Tick the box to agree to treatment.")],
    )
    name = StringField(
        "Type your full name",
        validators=[DataRequired("Type your full name to agree."), Length(max=200)],
        render_kw={"autocomplete": "name"},
    )

    def validate_for(self, current_version: str) -> bool:
        """Valid, and agreed to the text now in force (an admin may change it meanwhile)."""

        def same_text(form: ConsentForm, field: BooleanField) -> None:
            if form.version.data != current_version:
                form.version.data = current_version
                field.data = False
                raise ValidationError(
                    "The consent text was updated just now. Please read it again and tick the box."
                )

        return self.validate(extra_validators={"agree": [same_text]})


class PhoneConsentForm(ConsentForm):
    """Consent by phone: the desk read the text to the patient and records that they agreed,
    with the name the patient gave (the consent version and the time are stored as online)."""

    agree = BooleanField(
        "The patient heard this text and agreed to treatment",
        validators=[DataRequired("Tick the box once the patient has agreed.")],
    )
    name = StringField(
        "The patient's full name, as they gave it",
        validators=[DataRequired("Type the name the patient gave."), Length(max=200)],
        render_kw={"autocomplete": "off"},
    )

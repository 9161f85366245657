"""Finding a patient by what a caller tells the front desk: name, phone, email or birth date."""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, func, or_, select

from booking.extensions import db
from booking.patients.models import Patient

RESULT_LIMIT = 50
MIN_PHONE_DIGITS = 3
# Dates as people say them at a desk: 1971-04-02, 04/02/1971 (US month first), 4/2/1971.
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%m.%d.%Y")
PHONE_PUNCTUATION = (" ", "-", "(", ")", ".", "+", "/")


def parse_birth_date(text: str) -> date | None:
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def search_patients(query: str, limit: int = RESULT_LIMIT) -> list[Patient]:
    """Patients matching the query, by last name then first name; [] for an empty query.

    The query is read as a date of birth, an email, a phone number (digits, any punctuation)
    or words of a name, each word matching the start of a first or last name.
    """
    query = " ".join(query.split())
    if not query:
        return []
    condition = _condition_for(query)
    if condition is None:
        return []
    return list(
        db.session.scalars(
            select(Patient)
            .where(condition)
            .order_by(func.lower(Patient.last_name), func.lower(Patient.first_name), Patient.id)
            .limit(limit)
        )
    )


def _condition_for(query: str) -> ColumnElement[bool] | None:
    born = parse_birth_date(query)
    if born is not None:
        return Patient.date_of_birth == born
    if "@" in query:
        return func.lower(Patient.email).contains(query.lower(), autoescape=True)
    digits = re.sub(r"\D", "", query)
    if digits and not re.search(r"[A-Za-z]", query):
        if len(digits) < MIN_PHONE_DIGITS:
            return None
        return _phone_digits().contains(digits, autoescape=True)
    return and_(*(_name_word(word) for word in query.split()))


def _name_word(word: str) -> ColumnElement[bool]:
    word = word.lower()
    return or_(
        func.lower(Patient.first_name).startswith(word, autoescape=True),
        func.lower(Patient.last_name).startswith(word, autoescape=True),
        # Double-barrelled and hyphenated last names: "smith" finds "Jones-Smith".
        func.lower(Patient.last_name).contains(f"-{word}", autoescape=True),
        func.lower(Patient.last_name).contains(f" {word}", autoescape=True),
    )


def _phone_digits() -> ColumnElement[str]:
    """The stored phone with its punctuation removed, portable to SQLite and PostgreSQL."""
    expression = Patient.phone
    for character in PHONE_PUNCTUATION:
        expression = func.replace(expression, character, "")
    return expression

"""Finding returning patients and keeping their contact details current."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from booking.extensions import db
from booking.patients.models import Patient


def find_or_create_patient(
    first_name: str, last_name: str, date_of_birth: date, email: str, phone: str
) -> Patient:
    """Match a returning patient by email and date of birth; otherwise add a new one.

    The latest contact details a patient types are kept (people change phone numbers).
    """
    email = email.strip().lower()
    patient = db.session.scalar(
        select(Patient)
        .where(func.lower(Patient.email) == email, Patient.date_of_birth == date_of_birth)
        .order_by(Patient.id)
        .limit(1)
    )
    if patient is None:
        patient = Patient(date_of_birth=date_of_birth, email=email)
        db.session.add(patient)
    patient.first_name = first_name.strip()
    patient.last_name = last_name.strip()
    patient.phone = phone.strip()
    db.session.flush()
    return patient


def patients_with_email(email: str) -> list[Patient]:
    """Every patient with this email address, whatever its case (families share addresses)."""
    email = email.strip().lower()
    if not email:
        return []
    return list(
        db.session.scalars(
            select(Patient).where(func.lower(Patient.email) == email).order_by(Patient.id)
        )
    )

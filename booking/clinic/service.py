"""Reading the clinic's settings."""

from __future__ import annotations

from flask import current_app

from booking.clinic.models import Clinic
from booking.extensions import db


def get_clinic() -> Clinic:
    """The clinic row, created from the environment's defaults the first time it is needed."""
    clinic = db.session.get(Clinic, 1)
    if clinic is None:
        config = current_app.config
        clinic = Clinic(
            id=1,
            name=config["CLINIC_NAME"],
            address=config["CLINIC_ADDRESS"],
            phone=config["CLINIC_PHONE"],
            email=config["CLINIC_EMAIL"],
            timezone=config["CLINIC_TIMEZONE"],
        )
        db.session.add(clinic)
        db.session.flush()
    return clinic

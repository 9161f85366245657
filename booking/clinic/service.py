"""Reading the clinic's settings."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.exc import IntegrityError

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
        try:
            with db.session.begin_nested():
                db.session.add(clinic)
        except IntegrityError:
            # Two first-ever requests raced to create the row: use the one that won.
            clinic = db.session.get(Clinic, 1, populate_existing=True)
    return clinic

"""Front-desk fixtures: a small clinic, a front-desk account, a signed-in test client.

Requests are made outside any application context: on SQLite an open transaction in the test
would hold the write lock the request needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from booking.accounts.models import RoleName
from booking.extensions import db
from booking.scheduling.models import VisitKind
from tests.clinician.helpers import add_intake
from tests.desk.helpers import DESK_EMAIL, DESK_TEST_CONFIG, MAYA_EMAIL, NOW
from tests.factories import make_patient, make_practitioner, make_service
from tests.helpers import STAFF_PASSWORD, make_staff, make_staff_app, sign_in


@dataclass
class Clinic:
    follow_up: int
    first_visit: int
    maya: int
    sam: int
    ana: int
    ben: int


@pytest.fixture
def app(make_app) -> Flask:
    return make_staff_app(make_app, **DESK_TEST_CONFIG)


@pytest.fixture
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def clinic(app: Flask, frozen) -> Clinic:
    """Maya and Sam work Monday to Friday 9:00–17:00; two services; two returning patients
    (each gave a first-visit questionnaire, so they may book follow-ups); staff."""
    with app.app_context():
        follow_up = make_service(slug="follow-up", name="Follow-up dry needling", minutes=30)
        first_visit = make_service(
            slug="first-visit", name="First visit", minutes=60, kind=VisitKind.FIRST_VISIT
        )
        maya = make_practitioner([follow_up, first_visit], name="Maya Chen", slug="maya")
        sam = make_practitioner([follow_up, first_visit], name="Sam Okafor", slug="sam")
        ana = make_patient(first_name="Ana", last_name="Silva", email="ana@example.com",
                           phone="(555) 010-4400", date_of_birth=date(1971, 4, 2))
        ben = make_patient(first_name="Ben", last_name="Walker", email="ben@example.com",
                           phone="555.777.1234", date_of_birth=date(1985, 9, 14))
        add_intake(ana, submitted_at=NOW - timedelta(days=30))
        add_intake(ben, submitted_at=NOW - timedelta(days=30))
        make_staff(DESK_EMAIL, RoleName.FRONT_DESK, name="Dana")
        make_staff(MAYA_EMAIL, RoleName.PRACTITIONER, name="Maya")
        db.session.commit()
        return Clinic(follow_up.id, first_visit.id, maya.id, sam.id, ana.id, ben.id)


@pytest.fixture
def desk(app: Flask, clinic: Clinic) -> FlaskClient:
    """A test client signed in as front-desk staff."""
    return sign_in(app.test_client(), DESK_EMAIL, STAFF_PASSWORD)


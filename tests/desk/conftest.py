"""Front-desk fixtures: a small clinic, a front-desk account, a signed-in test client.

Requests are made outside any application context: on SQLite an open transaction in the test
would hold the write lock the request needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from booking.accounts.models import RoleName
from booking.accounts.service import create_staff_user
from booking.extensions import db
from booking.scheduling.models import VisitKind
from tests.factories import make_patient, make_practitioner, make_service

NEW_YORK = ZoneInfo("America/New_York")
# Monday 23 November 2026, 8:00 in New York: the clinic opens at 9:00.
NOW = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
TODAY = date(2026, 11, 23)
PASSWORD = "desk-password-2026"
DESK_TEST_CONFIG = {
    "SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS": {"argon2__rounds": 1, "argon2__memory_cost": 64},
    # Tests travel in time between requests: the desk stays signed in.
    "STAFF_IDLE_MINUTES": 10**6,
}


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in the clinic's zone, as aware UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


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
    return make_app(**DESK_TEST_CONFIG)


@pytest.fixture
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def clinic(app: Flask, frozen) -> Clinic:
    """Maya and Sam work Monday to Friday 9:00–17:00; two services; two patients; staff."""
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
        create_staff_user("desk@example.com", PASSWORD, [RoleName.FRONT_DESK], name="Dana")
        create_staff_user("maya@example.com", PASSWORD, [RoleName.PRACTITIONER], name="Maya")
        db.session.commit()
        return Clinic(follow_up.id, first_visit.id, maya.id, sam.id, ana.id, ben.id)


def sign_in(client: FlaskClient, email: str = "desk@example.com") -> FlaskClient:
    response = client.post("/staff/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


@pytest.fixture
def desk(app: Flask, clinic: Clinic) -> FlaskClient:
    """A test client signed in as front-desk staff."""
    return sign_in(app.test_client())


def later(days: int = 0, **kwargs) -> datetime:
    return NOW + timedelta(days=days, **kwargs)

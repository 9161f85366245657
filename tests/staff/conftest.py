"""Staff-side fixtures: the demo clinic with its staff, and test clients signed in per role.

Requests are made outside any application context: on SQLite an open transaction in the test
would hold the write lock the request needs.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from booking.accounts.models import RoleName
from booking.demo import DEMO_PASSWORD, seed_demo_clinic
from booking.extensions import db

# Still argon2, at a token cost: signing staff in takes ms instead of ~0.8 s.
FAST_PASSWORD_HASHING = {
    "SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS": {"argon2__rounds": 1, "argon2__memory_cost": 64},
}
# One demo account per role (booking/demo.py).
ROLE_EMAILS = {
    RoleName.ADMIN: "admin@clinic.example",
    RoleName.FRONT_DESK: "desk@clinic.example",
    RoleName.PRACTITIONER: "maya@clinic.example",
}
ADMIN_EMAIL = ROLE_EMAILS[RoleName.ADMIN]


@pytest.fixture
def app(make_app) -> Flask:
    """The app with the demo clinic seeded (services, practitioners, hours, staff, visits)."""
    app = make_app(**FAST_PASSWORD_HASHING)
    seed(app)
    return app


def seed(app: Flask) -> None:
    with app.app_context():
        seed_demo_clinic()
        db.session.commit()


def sign_in(client: FlaskClient, email: str, password: str = DEMO_PASSWORD) -> FlaskClient:
    response = client.post("/staff/login", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return client


@pytest.fixture
def client_for(app: Flask) -> Callable[[RoleName | None], FlaskClient]:
    """A new test client signed in as the demo account of a role (None: anonymous)."""

    def build(role: RoleName | None) -> FlaskClient:
        client = app.test_client()
        return sign_in(client, ROLE_EMAILS[role]) if role is not None else client

    return build


@pytest.fixture
def admin(client_for) -> FlaskClient:
    return client_for(RoleName.ADMIN)

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
from tests.helpers import DEMO_STAFF, make_demo_app, sign_in


@pytest.fixture
def app(make_app) -> Flask:
    """The app with the demo clinic seeded (services, practitioners, hours, staff, visits)."""
    return make_demo_app(make_app)


@pytest.fixture
def client_for(app: Flask) -> Callable[[RoleName | None], FlaskClient]:
    """A new test client signed in as the demo account of a role (None: anonymous)."""

    def build(role: RoleName | None) -> FlaskClient:
        client = app.test_client()
        return sign_in(client, DEMO_STAFF[role]) if role is not None else client

    return build


@pytest.fixture
def admin(client_for) -> FlaskClient:
    return client_for(RoleName.ADMIN)

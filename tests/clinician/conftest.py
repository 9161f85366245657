"""Fixtures for the practitioners' pages: staff accounts, two practitioners, a signed-in client."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from booking.extensions import db
from tests.clinician.helpers import World, build_world
from tests.helpers import STAFF_PASSWORD, make_staff_app, sign_in


@pytest.fixture
def app(make_app) -> Flask:
    return make_staff_app(make_app)


@pytest.fixture
def world(app: Flask) -> World:
    # Committed and the context left before any request: SQLite would otherwise stay locked.
    with app.app_context():
        found = build_world()
        db.session.commit()
    return found


@pytest.fixture
def signed_in(app: Flask, world: World) -> Callable[[str], FlaskClient]:
    """A fresh test client signed in as the given staff email."""

    def build(email: str) -> FlaskClient:
        return sign_in(app.test_client(), email, STAFF_PASSWORD)

    return build


@pytest.fixture
def maya(signed_in) -> FlaskClient:
    return signed_in("maya@example.com")

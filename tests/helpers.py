"""What the test folders share: the test config, fast password hashing, staff accounts, and
signing a staff member in through the login form (with a test client or in a browser).

A plain module, not a conftest: test modules and conftests alike import from it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from booking.accounts.models import RoleName, User
from booking.accounts.service import create_staff_user
from booking.demo import DEMO_PASSWORD, seed_demo_clinic
from booking.extensions import db
from booking.notify.models import OutboxMessage

if TYPE_CHECKING:
    from playwright.sync_api import Page

IN_CI = os.environ.get("CI", "").lower() == "true"

BASE_TEST_CONFIG = {
    "TESTING": True,
    "APP_ENV": "testing",
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": False,
    "MAIL_SUPPRESS_SEND": True,
    "SECRET_KEY": "test-secret",
    "SECURITY_PASSWORD_SALT": "test-salt",
    "CLINIC_TIMEZONE": "America/New_York",
    "SERVER_NAME": None,
}

# Still argon2, at a token cost: making and signing in staff takes ms instead of ~0.8 s.
FAST_PASSWORD_HASHING = {
    "SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS": {"argon2__rounds": 1, "argon2__memory_cost": 64},
}

# The demo clinic's staff (booking/demo.py), one account per role; their password is
# DEMO_PASSWORD.
DEMO_STAFF = {
    RoleName.ADMIN: "admin@clinic.example",
    RoleName.FRONT_DESK: "desk@clinic.example",
    RoleName.PRACTITIONER: "maya@clinic.example",
}
# The password of the staff accounts the tests make themselves (make_staff).
STAFF_PASSWORD = "staff-test-password-2026"

STAFF_LOGIN = "/staff/login"
STAFF_HOME = "/staff/"
STAFF_START = "/staff/start"  # where signing in lands: it sends each role to its home page


def skip_or_fail(reason: str) -> None:
    """Skip where a part is missing on a laptop; in CI a missing part is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must run, not skip)")
    pytest.skip(reason)


# --- apps and accounts -------------------------------------------------------------------------


def make_staff_app(make_app, **overrides) -> Flask:
    """An app from the `make_app` fixture with fast password hashing, for tests that sign in."""
    return make_app(**FAST_PASSWORD_HASHING, **overrides)


def seed_demo(app: Flask) -> Flask:
    """Seed the demo clinic (services, practitioners, hours, DEMO_STAFF, visits) and commit."""
    with app.app_context():
        seed_demo_clinic()
        db.session.commit()
    return app


def make_demo_app(make_app, **overrides) -> Flask:
    """A staff app (fast hashing) holding the demo clinic."""
    return seed_demo(make_staff_app(make_app, **overrides))


def make_staff(
    email: str, roles: RoleName | Iterable[RoleName], name: str = "",
    password: str = STAFF_PASSWORD,
) -> User:
    """A staff account (flushed, not committed) that signs in with `password`."""
    roles = [roles] if isinstance(roles, RoleName) else list(roles)
    return create_staff_user(email, password, roles, name=name)


# --- signing in --------------------------------------------------------------------------------


def csrf_token_in(html: str) -> str:
    """The CSRF token of the (first) form in a page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = DEMO_PASSWORD) -> FlaskClient:
    """Sign a staff member in through the login form, as a person would: open the form, fill
    it in (with its CSRF token where the app checks them) and land on the staff pages.
    """
    form = client.get(STAFF_LOGIN)
    assert form.status_code == 200, form.status_code
    data = {"email": email, "password": password}
    if client.application.config.get("WTF_CSRF_ENABLED"):
        data["csrf_token"] = csrf_token_in(form.get_data(as_text=True))
    response = client.post(STAFF_LOGIN, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert response.location == STAFF_START, f"{email} was sent to {response.location}"
    return client


def sign_in_browser(page: Page, base_url: str, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign a staff member in with the login form in a real browser; they land on their role's
    home (a practitioner's day, the desk's day view, the admin's staff home), signed in.
    """
    from playwright.sync_api import expect

    page.goto(base_url + STAFF_LOGIN)
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff sign in")
    page.get_by_label("Email Address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


# --- returning patients --------------------------------------------------------------------------

RETURNING_ASK = "/returning/"
SIGN_IN_LINK = re.compile(r"https?://[^/\s]+(/returning/link/[A-Za-z0-9_-]+)")


def newest_sign_in_link(app: Flask, email: str) -> str:
    """The path of the newest one-time link emailed to the address (read from the outbox)."""
    with app.app_context():
        body = db.session.scalars(
            select(OutboxMessage.text_body)
            .where(func.lower(OutboxMessage.recipient) == email.lower(),
                   OutboxMessage.kind == "sign_in_link")
            .order_by(OutboxMessage.id.desc())
        ).first()
    assert body, f"no sign-in link was emailed to {email}"
    match = SIGN_IN_LINK.search(body)
    assert match, body
    return match.group(1)


def sign_in_returning_patient(client: FlaskClient, email: str) -> FlaskClient:
    """A returning patient books a follow-up as a person would: types their email on "Book a
    follow-up", opens the link from the email (its page has one button) and presses Continue;
    they land on the follow-up visit types."""
    app = client.application
    csrf = app.config.get("WTF_CSRF_ENABLED")
    form = client.get(RETURNING_ASK)
    data = {"email": email}
    if csrf:
        data["csrf_token"] = csrf_token_in(form.get_data(as_text=True))
    asked = client.post(RETURNING_ASK, data=data)
    assert asked.status_code == 303, asked.get_data(as_text=True)[:2000]
    link = newest_sign_in_link(app, email)
    page = client.get(link)
    assert page.status_code == 200, page.status_code
    data = {"csrf_token": csrf_token_in(page.get_data(as_text=True))} if csrf else {}
    signed_in = client.post(link, data=data)
    assert signed_in.status_code == 303, signed_in.status_code
    assert signed_in.location.endswith("/returning/visits"), signed_in.location
    return client

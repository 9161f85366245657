"""Staff sessions end when they should, for every copy of the cookie: a cookie saved from the
sign-in response is replayed from another client after sign-out, after the idle limit and after
a password change or reset. Also: the password salt apart from SECRET_KEY, the headers of staff
pages, and a stray GET of the two-factor code page.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from booking import config
from booking.accounts.models import RoleName, StaffSession
from booking.demo import DEMO_PASSWORD
from booking.extensions import db
from booking.notify.models import OutboxMessage
from tests import helpers
from tests.helpers import DEMO_STAFF, STAFF_LOGIN, make_staff, make_staff_app, sign_in

DESK_EMAIL = DEMO_STAFF[RoleName.FRONT_DESK]
PATIENTS = "/staff/desk/patients"
START = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def text(response) -> str:
    return response.get_data(as_text=True)


def sign_in_saving_cookie(app: Flask, email: str = DESK_EMAIL, password: str = DEMO_PASSWORD):
    """Sign in with a POST to the login form; the client and the session cookie of its answer."""
    client = app.test_client()
    response = client.post(STAFF_LOGIN, data={"email": email, "password": password})
    assert response.status_code == 302 and response.location == "/staff/start", response.location
    [cookie] = [
        header.split(";", 1)[0].split("=", 1)[1]
        for header in response.headers.getlist("Set-Cookie")
        if header.startswith("session=")
    ]
    return client, cookie


def replay(app: Flask, cookie: str) -> FlaskClient:
    """Another client (another browser, an attacker) holding a copy of the cookie."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def opens_staff_pages(client: FlaskClient) -> bool:
    response = client.get(PATIENTS)
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and urlsplit(response.location).path == STAFF_LOGIN
    return False


# --- sign-out ----------------------------------------------------------------------------------


def test_a_cookie_saved_at_sign_in_is_refused_after_sign_out(app):
    client, cookie = sign_in_saving_cookie(app)
    assert opens_staff_pages(replay(app, cookie))  # the copy works while the session lives

    assert client.post("/staff/logout").status_code == 302

    copy = replay(app, cookie)
    assert not opens_staff_pages(copy)
    assert not opens_staff_pages(copy)  # and stays refused
    assert not opens_staff_pages(client)


def test_signing_out_in_one_browser_leaves_another_signed_in(app):
    first, _ = sign_in_saving_cookie(app)
    second, _ = sign_in_saving_cookie(app)
    first.post("/staff/logout")
    assert not opens_staff_pages(first)
    assert opens_staff_pages(second)


# --- the idle limit ----------------------------------------------------------------------------


@pytest.mark.parametrize(("minutes", "opens"), [(29, True), (31, False)])
def test_idle_limit_counts_from_the_sign_in_response(app, minutes, opens):
    with time_machine.travel(START, tick=False) as traveller:
        _, cookie = sign_in_saving_cookie(app)  # no request at all after signing in
        traveller.shift(timedelta(minutes=minutes))
        copy = replay(app, cookie)
        assert opens_staff_pages(copy) is opens
        if not opens:
            assert "30 minutes without activity" in text(copy.get(STAFF_LOGIN))


def test_activity_keeps_the_session_and_a_saved_copy_alive_until_idle(app):
    with time_machine.travel(START, tick=False) as traveller:
        client, cookie = sign_in_saving_cookie(app)
        for _ in range(3):  # 75 minutes of work, a request every 25 minutes
            traveller.shift(timedelta(minutes=25))
            assert opens_staff_pages(client)
        traveller.shift(timedelta(minutes=31))
        assert not opens_staff_pages(replay(app, cookie))
        assert not opens_staff_pages(client)


def test_sessions_left_idle_are_deleted_at_the_next_sign_in(app):
    with time_machine.travel(START, tick=False) as traveller:
        sign_in_saving_cookie(app)  # the browser is closed without signing out
        traveller.shift(timedelta(minutes=31))
        sign_in_saving_cookie(app)
    with app.app_context():
        [left] = db.session.scalars(select(StaffSession)).all()
        assert left.created_at == START + timedelta(minutes=31)


# --- password change and reset -----------------------------------------------------------------


def test_changing_the_password_refuses_older_copies_and_keeps_the_new_session(app):
    client, old_cookie = sign_in_saving_cookie(app)
    elsewhere, _ = sign_in_saving_cookie(app)  # the same person, signed in on another computer
    new_password = "another-new-password-2026"

    changed = client.post("/staff/change", data={
        "password": DEMO_PASSWORD, "new_password": new_password,
        "new_password_confirm": new_password,
    })

    assert changed.status_code == 302
    assert opens_staff_pages(client)  # the browser that changed it carries on
    assert not opens_staff_pages(replay(app, old_cookie))
    assert not opens_staff_pages(elsewhere)
    sign_in(app.test_client(), DESK_EMAIL, new_password)


def test_a_password_reset_ends_every_session(app):
    signed_in, cookie = sign_in_saving_cookie(app)
    anonymous = app.test_client()
    anonymous.post("/staff/reset", data={"email": DESK_EMAIL})
    with app.app_context():
        body = db.session.scalar(select(OutboxMessage.text_body).order_by(OutboxMessage.id.desc()))
    path = urlsplit(re.search(r"http://\S+/staff/reset/\S+", body).group(0)).path
    new_password = "a-brand-new-password-2026"

    done = anonymous.post(path, data={"password": new_password, "password_confirm": new_password})

    assert done.status_code == 302
    assert not opens_staff_pages(signed_in)
    assert not opens_staff_pages(replay(app, cookie))


# --- the password salt -------------------------------------------------------------------------


def production(monkeypatch, **env: str) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-production-secret")
    monkeypatch.delenv("SECURITY_PASSWORD_SALT", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_production_refuses_to_start_without_a_password_salt(monkeypatch):
    production(monkeypatch)
    with pytest.raises(RuntimeError, match="SECURITY_PASSWORD_SALT must be set"):
        config.from_environment()


def test_production_refuses_a_password_salt_equal_to_the_secret_key(monkeypatch):
    production(monkeypatch, SECURITY_PASSWORD_SALT="a-production-secret")
    with pytest.raises(RuntimeError, match="must differ from SECRET_KEY"):
        config.from_environment()


def test_production_uses_the_password_salt_given(monkeypatch):
    production(monkeypatch, SECURITY_PASSWORD_SALT="a-long-random-salt")
    assert config.from_environment()["SECURITY_PASSWORD_SALT"] == "a-long-random-salt"


def test_development_has_a_fixed_salt_apart_from_the_secret(monkeypatch):
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.delenv("SECURITY_PASSWORD_SALT", raising=False)
    for secret in ("one-secret", "another-secret"):
        monkeypatch.setenv("SECRET_KEY", secret)
        settings = config.from_environment()
        assert settings["SECURITY_PASSWORD_SALT"] == config.DEV_PASSWORD_SALT != secret


def test_changing_the_secret_key_does_not_lock_staff_out(make_app, monkeypatch):
    # Settings from the environment, as a deployment reads them: no salt given.
    for name in ("SECRET_KEY", "SECURITY_PASSWORD_SALT"):
        monkeypatch.delitem(helpers.BASE_TEST_CONFIG, name)
    monkeypatch.delenv("SECURITY_PASSWORD_SALT", raising=False)
    monkeypatch.setenv("SECRET_KEY", "the-first-secret-key")
    first = make_staff_app(make_app)
    with first.app_context():
        make_staff("kim@example.com", RoleName.FRONT_DESK)
        db.session.commit()

    monkeypatch.setenv("SECRET_KEY", "a-rotated-secret-key")
    rotated = make_staff_app(make_app)  # same database

    assert rotated.config["SECRET_KEY"] == "a-rotated-secret-key"
    client = sign_in(rotated.test_client(), "kim@example.com", helpers.STAFF_PASSWORD)
    assert client.get("/staff/").status_code == 200


# --- staff pages' headers and the two-factor code page ------------------------------------------


def assert_staff_headers(response) -> None:
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_staff_pages_are_not_stored_nor_framed_signed_in_or_not(app):
    anonymous = app.test_client()
    for path in (STAFF_LOGIN, "/staff/reset", "/staff/", "/staff/no-such-page"):
        assert_staff_headers(anonymous.get(path))
    client = sign_in(app.test_client(), DESK_EMAIL)
    for path in ("/staff/", PATIENTS, "/staff/desk/patients/999999", "/staff/admin/"):
        assert_staff_headers(client.get(path))  # 200, 404 and 403 alike


def test_patient_pages_get_no_frame_ancestors_from_staff_rules(app):
    response = app.test_client().get("/")
    assert response.status_code == 200
    assert "frame-ancestors" not in response.headers.get("Content-Security-Policy", "")
    assert "X-Frame-Options" not in response.headers


def test_opening_the_two_factor_code_page_does_not_sign_out(app):
    client = sign_in(app.test_client(), DESK_EMAIL)
    response = client.get("/staff/tf-validate")
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/staff/tf-setup"
    assert client.get("/staff/tf-setup").status_code == 200
    assert opens_staff_pages(client)
    # A forged cross-site POST cannot do it either (it is refused before the view, or lands here).
    assert client.post("/staff/tf-validate", data={"code": "123456"}).status_code in (302, 400)
    assert opens_staff_pages(client)


def test_the_two_factor_code_page_without_a_sign_in_in_progress_is_harmless(app):
    response = app.test_client().get("/staff/tf-validate")
    assert response.status_code in (302, 400)


def test_a_form_sent_after_the_session_ended_returns_to_its_page_after_signing_in(app):
    """The return address was the form's POST address: a 405 after signing in again."""
    with time_machine.travel(START, tick=False) as traveller:
        client, _ = sign_in_saving_cookie(app)
        traveller.shift(timedelta(minutes=31))
        page = "http://localhost/staff/desk/week?date=2026-11-23"
        response = client.post("/staff/desk/time-off", data={"reason": "Dentist"},
                               headers={"Referer": page})
        assert response.status_code == 302
        login = urlsplit(response.location)
        assert login.path == STAFF_LOGIN and "next=/staff/desk/week?date%3D2026-11-23" in (
            login.query
        ), response.location
        response = client.post(response.location, data={"email": DESK_EMAIL,
                                                         "password": DEMO_PASSWORD})
        assert response.location == "/staff/desk/week?date=2026-11-23"
        assert client.get(response.location).status_code == 200


def test_a_form_from_elsewhere_returns_to_the_staff_start(app):
    with time_machine.travel(START, tick=False) as traveller:
        client, _ = sign_in_saving_cookie(app)
        traveller.shift(timedelta(minutes=31))
        response = client.post("/staff/desk/time-off", headers={"Referer": "https://evil.example/staff/x"})
        assert "next=/staff/start" in urlsplit(response.location).query

"""Staff sign-in and staff accounts: sessions, idle timeout, rate limit, password reset through
the outbox, two-factor sign-in, and an admin managing accounts through the pages.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from passlib.totp import TOTP
from sqlalchemy import func, select

from booking import config
from booking.accounts.models import RoleName, User
from booking.audit.models import AuditEvent
from booking.demo import DEMO_PASSWORD
from booking.extensions import db, limiter
from booking.notify.models import OutboxMessage
from tests.helpers import DEMO_STAFF, make_demo_app, sign_in

ADMIN_EMAIL = DEMO_STAFF[RoleName.ADMIN]
DESK_EMAIL = DEMO_STAFF[RoleName.FRONT_DESK]


def text(response) -> str:
    return response.get_data(as_text=True)


def outbox(app) -> list[OutboxMessage]:
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return rows


def user(app, email: str) -> User:
    with app.app_context():
        found = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge_all()
        return found


# --- signing in and out ----------------------------------------------------------------------


def test_anonymous_staff_page_sends_to_login_and_back(app):
    client = app.test_client()
    response = client.get("/staff/admin/services")
    assert response.status_code == 302
    assert response.location.startswith("/staff/login?next=")

    page = text(client.get(response.location))
    assert '<label for="email">' in page and '<label for="password">' in page
    assert "remember" not in page.lower()

    signed_in = client.post(response.location, data={"email": ADMIN_EMAIL,
                                                      "password": DEMO_PASSWORD})
    assert signed_in.location.endswith("/staff/admin/services")


def test_wrong_password_says_so_next_to_the_form_and_keeps_the_email(app):
    client = app.test_client()
    response = client.post("/staff/login", data={"email": ADMIN_EMAIL, "password": "nope-nope"})
    assert response.status_code == 200
    html = text(response)
    assert 'class="error-summary"' in html
    assert f'value="{ADMIN_EMAIL}"' in html
    assert client.get("/staff/").status_code == 302  # still signed out


def test_session_cookie_is_httponly_and_samesite_and_no_remember_cookie(app):
    client = app.test_client()
    response = client.post("/staff/login", data={
        "email": ADMIN_EMAIL, "password": DEMO_PASSWORD, "remember": "y",
    })
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert "Expires" not in session_cookie  # ends with the browser
    assert not any(c.startswith("remember_token=") for c in cookies)


def test_session_cookies_are_secure_in_production(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-production-secret")
    monkeypatch.setenv("SECURITY_PASSWORD_SALT", "a-production-password-salt")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    settings = config.from_environment()
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["SESSION_COOKIE_HTTPONLY"] is True
    assert settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert settings["SECURITY_DEFAULT_REMEMBER_ME"] is False


def test_sign_out_needs_a_post(app, admin):
    assert admin.get("/staff/logout").status_code == 405
    response = admin.post("/staff/logout")
    assert response.status_code == 302
    assert admin.get("/staff/").status_code == 302


def test_staff_home_links_only_the_pages_of_each_role(app, client_for):
    admin_home = text(client_for(RoleName.ADMIN).get("/staff/"))
    desk_home = text(client_for(RoleName.FRONT_DESK).get("/staff/"))
    assert 'href="/staff/admin/"' in admin_home
    assert 'href="/staff/admin/"' not in desk_home
    assert 'href="/staff/clinician/reviews"' not in desk_home
    assert 'href="/staff/clinician/reviews"' in admin_home


# --- idle timeout ----------------------------------------------------------------------------


@pytest.mark.parametrize(("idle_minutes", "signed_in"), [(29, True), (31, False)])
def test_staff_session_ends_after_30_idle_minutes(app, idle_minutes, signed_in):
    start = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as traveller:
        client = sign_in(app.test_client(), ADMIN_EMAIL)
        assert client.get("/staff/").status_code == 200
        traveller.shift(timedelta(minutes=20))
        assert client.get("/staff/").status_code == 200  # activity restarts the clock
        traveller.shift(timedelta(minutes=idle_minutes))
        response = client.get("/staff/admin/")
        if signed_in:
            assert response.status_code == 200
        else:
            assert response.status_code == 302
            assert response.location.startswith("/staff/login")
            assert "30 minutes without activity" in text(client.get(response.location))
            assert client.get("/staff/").status_code == 302  # and it stays signed out


# --- rate limit ------------------------------------------------------------------------------


@pytest.fixture
def limited_app(make_app):
    app = make_demo_app(make_app, RATELIMIT_ENABLED=True)
    with app.app_context():
        limiter.reset()
    yield app
    with app.app_context():
        limiter.reset()


def attempt(client, email: str, ip: str):
    return client.post("/staff/login", data={"email": email, "password": "wrong-password"},
                       environ_base={"REMOTE_ADDR": ip})


def test_login_is_limited_per_ip(limited_app):
    client = limited_app.test_client()
    for n in range(5):
        assert attempt(client, f"someone{n}@clinic.example", "10.0.0.1").status_code == 200
    refused = attempt(client, "someone9@clinic.example", "10.0.0.1")
    assert refused.status_code == 429
    assert "Too many requests" in text(refused)
    assert attempt(client, "someone9@clinic.example", "10.0.0.2").status_code == 200
    assert client.get("/staff/login", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 200


def test_login_is_limited_per_email_address(limited_app):
    client = limited_app.test_client()
    for n in range(5):
        assert attempt(client, ADMIN_EMAIL, f"10.0.1.{n}").status_code == 200
    assert attempt(client, ADMIN_EMAIL.upper(), "10.0.1.99").status_code == 429
    ok = client.post("/staff/login", data={"email": DESK_EMAIL, "password": DEMO_PASSWORD},
                     environ_base={"REMOTE_ADDR": "10.0.1.98"})
    assert ok.status_code == 302


# --- password reset --------------------------------------------------------------------------


def test_password_reset_email_goes_to_the_outbox_without_a_password(app):
    client = app.test_client()
    response = client.post("/staff/reset", data={"email": DESK_EMAIL})
    assert response.status_code == 200

    [message] = outbox(app)
    assert (message.recipient, message.kind) == (DESK_EMAIL, "staff_reset_instructions")
    assert DEMO_PASSWORD not in message.text_body + (message.html_body or "")
    link = re.search(r"http://\S+/staff/reset/\S+", message.text_body).group(0)
    assert link.startswith(app.config["PUBLIC_BASE_URL"])  # the public address, not the request's

    # The link works once: choose a new password, then sign in with it.
    path = urlsplit(link).path
    assert client.get(path).status_code == 200
    new_password = "a-brand-new-password-2026"
    done = client.post(path, data={"password": new_password, "password_confirm": new_password})
    assert done.status_code == 302
    assert new_password not in "".join(m.text_body for m in outbox(app))
    sign_in(app.test_client(), DESK_EMAIL, new_password)


def test_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(app):
    client = app.test_client()
    known = text(client.post("/staff/reset", data={"email": DESK_EMAIL}))
    unknown = text(client.post("/staff/reset", data={"email": "nobody@clinic.example"}))
    assert "Instructions to reset your password have been sent" in unknown
    assert 'class="error-summary"' not in unknown and 'class="error-summary"' not in known
    assert [m.recipient for m in outbox(app)] == [DESK_EMAIL]


def test_changing_ones_password_sends_a_notice_through_the_outbox(app):
    client = sign_in(app.test_client(), DESK_EMAIL)
    page = text(client.get("/staff/change"))
    assert '<label for="new_password">' in page
    new_password = "another-new-password-2026"

    response = client.post("/staff/change", data={
        "password": DEMO_PASSWORD, "new_password": new_password,
        "new_password_confirm": new_password,
    })

    assert response.status_code == 302
    [notice] = outbox(app)
    assert (notice.kind, notice.recipient) == ("staff_change_notice", DESK_EMAIL)
    assert new_password not in notice.text_body
    sign_in(app.test_client(), DESK_EMAIL, new_password)


def test_two_factor_changes_need_the_password_again_after_30_minutes(app):
    start = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as traveller:
        client = sign_in(app.test_client(), DESK_EMAIL)
        for _ in range(3):  # active all along: not idle, but the sign-in is 60 minutes old
            traveller.shift(timedelta(minutes=20))
            assert client.get("/staff/").status_code == 200
        response = client.get("/staff/tf-setup")
        assert response.status_code == 302 and "/staff/verify" in response.location
        assert "Confirm it is you" in text(client.get(response.location))
        verified = client.post(response.location, data={"password": DEMO_PASSWORD})
        assert verified.status_code == 302
        assert client.get("/staff/tf-setup").status_code == 200


# --- two-factor sign-in ----------------------------------------------------------------------


def code_from(page: str) -> str:
    key = re.search(r'<code class="setup-key">([^<]+)</code>', page).group(1)
    return TOTP(key=key.replace("-", ""), format="base32").generate().token


def test_two_factor_with_an_authenticator_app(app):
    client = sign_in(app.test_client(), DESK_EMAIL)
    assert "Turn on two-factor" in text(client.get("/staff/"))
    setup = client.post("/staff/tf-setup", data={"setup": "authenticator"})
    assert setup.status_code == 200
    page = text(setup)
    assert 'id="qrcode"' in page
    code = code_from(page)

    wrong = client.post("/staff/tf-validate", data={"code": "000000"})
    assert "error-summary" in text(wrong)
    assert client.post("/staff/tf-validate", data={"code": code}).status_code == 302
    assert user(app, DESK_EMAIL).tf_primary_method == "authenticator"

    client.post("/staff/logout")
    second = app.test_client()
    response = second.post("/staff/login", data={"email": DESK_EMAIL, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/staff/tf-validate"  # asked for the code
    assert "Enter your sign-in code" in text(second.get(response.location))
    assert second.get("/staff/").status_code == 302  # the password alone is not enough
    totp = TOTP(key=re.search(r'setup-key">([^<]+)<', page).group(1).replace("-", ""),
                format="base32")
    finished = second.post("/staff/tf-validate", data={"code": totp.generate().token})
    assert finished.status_code == 302
    assert second.get("/staff/").status_code == 200


# --- an admin manages staff accounts ---------------------------------------------------------


def test_admin_adds_an_account_that_gets_a_password_link(app, admin):
    response = admin.post("/staff/admin/accounts/new", data={
        "name": "Nina New", "email": "Nina@Clinic.example", "roles": ["front_desk"],
        "password_choice": "email", "temporary_password": "",
    })
    assert response.status_code == 302
    created = user(app, "nina@clinic.example")
    assert created.password is None
    [message] = outbox(app)
    assert message.recipient == "nina@clinic.example"
    assert "/staff/reset/" in message.text_body
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "staff.created"))
        assert event.subject_id == created.id
        assert event.details["roles"] == ["front_desk"]


def test_admin_adds_an_account_with_a_temporary_password(app, admin):
    response = admin.post("/staff/admin/accounts/new", data={
        "name": "Theo Temp", "email": "theo@clinic.example", "roles": ["practitioner"],
        "password_choice": "temporary", "temporary_password": "temporary-pass-2026",
    })
    assert response.status_code == 302
    assert outbox(app) == []
    sign_in(app.test_client(), "theo@clinic.example", "temporary-pass-2026")


def test_new_account_errors_show_next_to_fields(app, admin):
    with app.app_context():
        accounts = db.session.scalars(select(User.email).order_by(User.id)).all()
    response = admin.post("/staff/admin/accounts/new", data={
        "name": "Dup", "email": DESK_EMAIL, "password_choice": "temporary",
        "temporary_password": "short",
    })
    html = text(response)
    assert response.status_code == 422
    assert outbox(app) == []
    with app.app_context():
        assert db.session.scalars(select(User.email).order_by(User.id)).all() == accounts
        created = select(AuditEvent).where(AuditEvent.action == "staff.created")
        assert db.session.scalar(created) is None
    error = r'-error"><span class="visually-hidden">Error:</span> ([^<]*)<'
    assert "exists" in re.search(r'id="email' + error, html).group(1)
    assert "at least one role" in re.search(r'id="roles' + error, html).group(1)
    assert "at least 10 characters" in re.search(
        r'id="temporary_password' + error, html
    ).group(1)
    assert 'value="Dup"' in html
    with app.app_context():  # nothing was saved
        assert db.session.scalar(select(func.count(User.id)).where(User.name == "Dup")) == 0


def test_admin_cannot_remove_their_own_admin_role(app, admin):
    me = user(app, ADMIN_EMAIL)
    response = admin.post(f"/staff/admin/accounts/{me.id}", data={
        "name": "Renamed Meanwhile", "roles": ["front_desk"],
    })
    assert response.status_code == 422
    assert "cannot remove your own admin role" in text(response)
    assert user(app, ADMIN_EMAIL).name == me.name
    assert sorted(r.name for r in user(app, ADMIN_EMAIL).roles) == ["admin"]
    refused = admin.post(f"/staff/admin/accounts/{me.id}/deactivate", follow_redirects=True)
    assert "cannot deactivate your own account" in text(refused)
    assert user(app, ADMIN_EMAIL).active


def test_role_change_applies_at_the_next_page(app, admin, client_for):
    desk = client_for(RoleName.FRONT_DESK)
    assert desk.get("/staff/admin/").status_code == 403
    desk_user = user(app, DESK_EMAIL)
    response = admin.post(f"/staff/admin/accounts/{desk_user.id}", data={
        "name": desk_user.name, "roles": ["front_desk", "admin"],
    })
    assert response.status_code == 302
    assert desk.get("/staff/admin/").status_code == 200
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "staff.updated"))
        assert event.details["changes"]["roles"] == {
            "from": ["front_desk"], "to": ["admin", "front_desk"]
        }


def test_deactivated_staff_are_signed_out_and_cannot_sign_in(app, admin, client_for):
    desk = client_for(RoleName.FRONT_DESK)
    desk_id = user(app, DESK_EMAIL).id
    assert admin.post(f"/staff/admin/accounts/{desk_id}/deactivate").status_code == 302

    assert desk.get("/staff/").status_code == 302
    again = app.test_client().post("/staff/login", data={"email": DESK_EMAIL,
                                                         "password": DEMO_PASSWORD})
    assert again.status_code == 200  # the form again, not a redirect into the site

    assert admin.post(f"/staff/admin/accounts/{desk_id}/activate").status_code == 302
    sign_in(app.test_client(), DESK_EMAIL)
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.subject_type == "user")
            .order_by(AuditEvent.id)
        ).all()
    assert actions == ["staff.deactivated", "staff.reactivated"]


def test_admin_sends_a_password_link_and_turns_off_two_factor(app, admin):
    desk_id = user(app, DESK_EMAIL).id
    with app.app_context():
        row = db.session.get(User, desk_id)
        row.tf_primary_method = "authenticator"
        row.tf_totp_secret = "not-used-here"
        db.session.commit()

    link = admin.post(f"/staff/admin/accounts/{desk_id}/password-link")
    assert link.status_code == 302
    assert f"Emailed {DESK_EMAIL} a link to choose a new password." in text(
        admin.get(link.location)
    )
    off = admin.post(f"/staff/admin/accounts/{desk_id}/two-factor-off")
    assert off.status_code == 302
    assert f"Turned off two-factor sign-in for {DESK_EMAIL}." in text(admin.get(off.location))

    [message] = outbox(app)
    assert message.recipient == DESK_EMAIL
    assert "/staff/reset/" in message.text_body
    assert user(app, DESK_EMAIL).tf_primary_method is None

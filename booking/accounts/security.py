"""Staff sign-in: Flask-Security-Too over our users, with the clinic's own rules on top.

- emails (password reset, notices, two-factor rescue) are queued in the outbox;
- no "remember me": the session cookie is the only sign-in, and it ends after
  STAFF_IDLE_MINUTES without a request;
- sign-in, two-factor codes and reset requests are rate-limited per IP and per email address.
"""

from __future__ import annotations

import time

from flask import Flask, current_app, flash, request, session
from flask_limiter.util import get_remote_address
from flask_security import current_user, logout_user

from booking.accounts.datastore import user_datastore
from booking.accounts.forms import StaffLoginForm
from booking.extensions import email_limit_key, limiter, security

LAST_SEEN_KEY = "staff_last_seen"
IDLE_MESSAGE = "You were signed out after {minutes} minutes without activity. Please sign in again."

# Endpoints that check a secret a guesser could try again and again.
LIMITED_PER_IP = (
    "security.login",
    "security.verify",
    "security.two_factor_token_validation",
    "security.two_factor_rescue",
    "security.forgot_password",
    "security.reset_password",
)
LIMITED_PER_EMAIL = ("security.login", "security.forgot_password")


def init_security(app: Flask, mail_util_cls: type) -> None:
    """Bind Flask-Security to the app with the given mailer, idle timeout and rate limits.

    The mailer (the outbox's, from notify) is passed in by the app factory: accounts sit below
    notify and never import it.
    """
    app.config.setdefault("SECURITY_TOTP_ISSUER", app.config["CLINIC_NAME"])
    app.config.setdefault("SECURITY_TWO_FACTOR_RESCUE_MAIL", app.config["CLINIC_EMAIL"])
    # The mailer is a constructor-only option (init_app ignores it), and the Security object is
    # made in booking.extensions before the outbox can be imported: set it before binding.
    security._mail_util_cls = mail_util_cls
    security.init_app(app, user_datastore, login_form=StaffLoginForm)
    app.before_request(end_idle_staff_session)
    limit_sign_in(app)


def end_idle_staff_session() -> None:
    """Sign out a staff member whose last request was more than STAFF_IDLE_MINUTES ago.

    Checked on the server from a time kept in the signed session, so a copied cookie dies too.
    The session's own lifetime is left alone: patients' booking sessions must not expire so.
    """
    if request.endpoint == "static" or not current_user.is_authenticated:
        return
    now = int(time.time())
    minutes = current_app.config["STAFF_IDLE_MINUTES"]
    last_seen = session.get(LAST_SEEN_KEY)
    if last_seen is not None and now - int(last_seen) > minutes * 60:
        logout_user()
        session.pop(LAST_SEEN_KEY, None)
        flash(IDLE_MESSAGE.format(minutes=minutes), "warning")
        return
    session[LAST_SEEN_KEY] = now


def _sign_in_rate() -> str:
    return current_app.config["STAFF_LOGIN_RATE_LIMIT"]


def _email_key() -> str:
    return email_limit_key("email")


# Made once: applying the same limit objects again (one per app in tests) adds nothing twice.
_PER_IP = limiter.limit(_sign_in_rate, key_func=get_remote_address, methods=["POST"])
_PER_EMAIL = limiter.limit(_sign_in_rate, key_func=_email_key, methods=["POST"])


def limit_sign_in(app: Flask) -> None:
    """Wrap Flask-Security's views that check secrets in the sign-in rate limits (POST only)."""
    for endpoint in LIMITED_PER_IP:
        view = app.view_functions.get(endpoint)
        if view is None:
            continue
        if endpoint in LIMITED_PER_EMAIL:
            view = _PER_EMAIL(view)
        app.view_functions[endpoint] = _PER_IP(view)

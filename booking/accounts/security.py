"""Staff sign-in: Flask-Security-Too over our users, with the clinic's own rules on top.

- emails (password reset, notices, two-factor rescue) are queued in the outbox;
- no "remember me": the session cookie is the only sign-in, and it holds only the id of a
  session row on the server (booking.accounts.sessions), which sign-out and a password change
  delete and which ends after STAFF_IDLE_MINUTES without a request, counted from sign-in;
- staff pages are never stored by a browser or proxy nor shown inside another site's frame;
- a stray GET of the two-factor code page does not sign the user out;
- sign-in, two-factor codes and reset requests are rate-limited per IP and per email address.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, flash, redirect, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import user_logged_out
from flask_security import (
    current_user,
    logout_user,
    password_changed,
    password_reset,
    url_for_security,
    user_authenticated,
)
from flask_security.decorators import default_unauthn_handler

from booking.accounts.datastore import user_datastore
from booking.accounts.forms import StaffLoginForm
from booking.accounts.sessions import (
    SessionState,
    check_staff_session,
    end_other_sessions,
    end_staff_session,
    start_staff_session,
)
from booking.db import now_utc
from booking.extensions import email_limit_key, limiter, security

SESSION_KEY = "staff_session"
IDLE_MESSAGE = "You were signed out after {minutes} minutes without activity. Please sign in again."
ENDED_MESSAGE = "Your session has ended. Please sign in again."
STAFF_PREFIX = "/staff"
TWO_FACTOR_VALIDATION = "security.two_factor_token_validation"

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
    security.unauthn_handler(sign_in_again)
    app.before_request(end_idle_staff_session)
    app.after_request(protect_staff_page)
    guard_two_factor_validation(app)
    limit_sign_in(app)
    connect_session_signals()


def sign_in_again(mechanisms=None, headers=None):
    """A staff page asked for while signed out: the sign-in page, then back to that page. A form
    sent after the session ended goes back to the page it was sent from, never to its POST
    address (which answers only POST: a 405 after signing in)."""
    if request.method in ("GET", "HEAD") or request.is_json:
        return default_unauthn_handler(mechanisms, headers)
    flash(*current_app.config["SECURITY_MSG_UNAUTHENTICATED"])
    return redirect(url_for_security("login", next=page_sent_from()))


def page_sent_from() -> str:
    """The staff page a form was sent from (the Referer, if it is one of ours), else the start."""
    referrer = urlsplit(request.referrer or "")
    ours = referrer.netloc == request.host and referrer.path.startswith(f"{STAFF_PREFIX}/")
    if not ours:
        return url_for("staff.start")
    return referrer.path + (f"?{referrer.query}" if referrer.query else "")


def end_idle_staff_session() -> None:
    """Sign out a staff member whose session row is gone (signed out elsewhere, password
    changed) or idle for more than STAFF_IDLE_MINUTES.

    Checked on the server, so a saved copy of the cookie dies with the session. The Flask
    session's own lifetime is left alone: patients' booking sessions must not expire so.
    """
    if request.endpoint == "static" or not current_user.is_authenticated:
        return
    minutes = current_app.config["STAFF_IDLE_MINUTES"]
    state = check_staff_session(
        session.get(SESSION_KEY), current_user.id, now_utc(), timedelta(minutes=minutes)
    )
    if state is SessionState.LIVE:
        return
    logout_user()
    if state is SessionState.IDLE:
        flash(IDLE_MESSAGE.format(minutes=minutes), "warning")
    else:
        flash(ENDED_MESSAGE, "info")


def current_staff_session_id() -> str | None:
    """The signed-in staff member's session row id (checked live before every request)."""
    found = session.get(SESSION_KEY)
    return found if isinstance(found, str) and current_user.is_authenticated else None


def connect_session_signals() -> None:
    """Sign-in starts a session row, sign-out ends it, a password change or reset ends every
    other one of the user's (Flask-Security also rotates fs_uniquifier then). Connecting the
    same receivers again (one app per test) adds nothing."""
    user_authenticated.connect(_session_started)
    user_logged_out.connect(_session_ended)
    password_changed.connect(_password_changed)
    password_reset.connect(_password_changed)


def _session_started(sender, user, **extra) -> None:
    idle_limit = timedelta(minutes=current_app.config["STAFF_IDLE_MINUTES"])
    session[SESSION_KEY] = start_staff_session(user, now_utc(), idle_limit).id


def _session_ended(sender, user, **extra) -> None:
    end_staff_session(session.pop(SESSION_KEY, None))


def _password_changed(sender, user, **extra) -> None:
    end_other_sessions(user.id, keep=session.get(SESSION_KEY))


def protect_staff_page(response: Response) -> Response:
    """Staff pages hold patients' details: never cached, never framed by another site."""
    if request.path == STAFF_PREFIX or request.path.startswith(STAFF_PREFIX + "/"):
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        policy = response.headers.get("Content-Security-Policy")
        if not policy:
            response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
        elif "frame-ancestors" not in policy:
            response.headers["Content-Security-Policy"] = policy + "; frame-ancestors 'none'"
    return response


def guard_two_factor_validation(app: Flask) -> None:
    """Flask-Security's code page signs out a signed-in user who is not in the middle of
    setting up two-factor (it takes the request for an attack), so a stray GET of
    /staff/tf-validate (a link, a bookmark, another site's <img>) ended the session. Such a
    request goes to the two-factor set-up page instead."""
    view = app.view_functions.get(TWO_FACTOR_VALIDATION)
    if view is not None:
        app.view_functions[TWO_FACTOR_VALIDATION] = _outside_set_up_redirected(view)


def _outside_set_up_redirected(view: Callable) -> Callable:
    @wraps(view)
    def guarded(*args, **kwargs):
        if current_user.is_authenticated and session.get("tf_state") != "validating_profile":
            return redirect(url_for("security.two_factor_setup"))
        return view(*args, **kwargs)

    return guarded


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

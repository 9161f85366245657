"""Flask-Security forms adjusted for the clinic."""

from __future__ import annotations

from flask_security import LoginForm


class StaffLoginForm(LoginForm):
    """Sign-in without "remember me": a staff session ends with the browser or when idle."""

    remember = None  # WTForms drops a field set to None

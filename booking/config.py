"""Settings read from the environment, in one place."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET = "dev-only-secret-change-me"


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _database_url(env: str) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        # Heroku-style URLs name the old driver; we use psycopg 3.
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://") :]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return url
    return f"sqlite:///{ROOT / 'instance' / f'booking-{env}.sqlite3'}"


def from_environment() -> dict:
    """Build the Flask config mapping from environment variables."""
    env = os.environ.get("APP_ENV", "development")
    production = env == "production"
    secret = os.environ.get("SECRET_KEY", "")
    if production and not secret:
        raise RuntimeError("SECRET_KEY must be set when APP_ENV=production")
    secret = secret or DEV_SECRET
    return {
        "APP_ENV": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": _database_url(env),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Clinic defaults, used when the clinic row is first created (admins edit it later).
        "CLINIC_NAME": os.environ.get("CLINIC_NAME", "Riverside Back Pain Clinic"),
        "CLINIC_TIMEZONE": os.environ.get("CLINIC_TIMEZONE", "America/New_York"),
        "CLINIC_PHONE": os.environ.get("CLINIC_PHONE", "(555) 010-2030"),
        "CLINIC_EMAIL": os.environ.get("CLINIC_EMAIL", "hello@riverside-clinic.example"),
        "CLINIC_ADDRESS": os.environ.get(
            "CLINIC_ADDRESS", "12 Riverside Avenue, Suite 3, Springfield"
        ),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        # Mail (Flask-Mail)
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", False),
        "MAIL_USE_SSL": _bool("MAIL_USE_SSL", False),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": os.environ.get(
            "MAIL_DEFAULT_SENDER", "Riverside Back Pain Clinic <hello@riverside-clinic.example>"
        ),
        "MAIL_SUPPRESS_SEND": _bool("MAIL_SUPPRESS_SEND", not production),
        # Rate limits: memory on one machine, Redis when scaled out.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Forms
        "WTF_CSRF_TIME_LIMIT": None,
        # Session cookies
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        # Staff accounts (Flask-Security-Too)
        "SECURITY_PASSWORD_HASH": "argon2",
        "SECURITY_PASSWORD_SALT": os.environ.get("SECURITY_PASSWORD_SALT", secret),
        "SECURITY_URL_PREFIX": "/staff",
        "SECURITY_POST_LOGIN_VIEW": "/staff/",
        "SECURITY_POST_LOGOUT_VIEW": "/",
        "SECURITY_REGISTERABLE": False,
        "SECURITY_SEND_REGISTER_EMAIL": False,
        "SECURITY_TRACKABLE": False,
        "SECURITY_USERNAME_ENABLE": False,
        "SECURITY_PASSWORD_LENGTH_MIN": 10,
        "SECURITY_PASSWORD_CHECK_BREACHED": False,
    }

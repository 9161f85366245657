"""Settings read from the environment, in one place."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET = "dev-only-secret-change-me"
# Mixed into every staff password hash: changing it locks every staff member out, so it is
# set once and kept apart from SECRET_KEY (which may be rotated).
DEV_PASSWORD_SALT = "dev-only-password-salt-change-me"


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


def rate_limit_storage() -> str:
    """Where rate limits are counted: RATELIMIT_STORAGE_URI, memory:// by default."""
    return os.environ.get("RATELIMIT_STORAGE_URI") or "memory://"


def rate_limits_shared(storage_uri: str) -> bool:
    """Do all processes count in this storage? memory:// lives inside one process."""
    return not storage_uri.startswith("memory://")


def _password_salt(production: bool, secret: str) -> str:
    """SECURITY_PASSWORD_SALT: required in production and not SECRET_KEY; a fixed dev salt
    elsewhere."""
    salt = os.environ.get("SECURITY_PASSWORD_SALT", "")
    if production and not salt:
        raise RuntimeError(
            "SECURITY_PASSWORD_SALT must be set when APP_ENV=production (a long random value, "
            "kept for good: changing it makes every staff password stop working)"
        )
    if production and salt == secret:
        raise RuntimeError(
            "SECURITY_PASSWORD_SALT must differ from SECRET_KEY, so that SECRET_KEY can be "
            "changed without locking staff out"
        )
    return salt or DEV_PASSWORD_SALT


def from_environment() -> dict:
    """Build the Flask config mapping from environment variables."""
    env = os.environ.get("APP_ENV", "development")
    production = env == "production"
    secret = os.environ.get("SECRET_KEY", "")
    if production and not secret:
        raise RuntimeError("SECRET_KEY must be set when APP_ENV=production")
    secret = secret or DEV_SECRET
    salt = _password_salt(production, secret)
    return {
        "APP_ENV": env,
        "SECRET_KEY": secret,
        "SQLALCHEMY_DATABASE_URI": _database_url(env),
        # hide_parameters: a failed statement's message and SQL logging leave out its values
        # (names, dates of birth, contact details, intake answers).
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
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
        # Seconds an SMTP connect or reply may take before the attempt fails (and is retried).
        "MAIL_TIMEOUT": float(os.environ.get("MAIL_TIMEOUT", "10")),
        # The outbox worker gives a message up (status dead) after this many failed attempts.
        "OUTBOX_MAX_ATTEMPTS": int(os.environ.get("OUTBOX_MAX_ATTEMPTS", "8")),
        # The worker exits (non-zero) after this many passes in a row fail on the database,
        # backing off 1, 2, 4 ... 60 seconds between them.
        "OUTBOX_DB_FAILURE_LIMIT": int(os.environ.get("OUTBOX_DB_FAILURE_LIMIT", "10")),
        # Rate limits: memory inside one process (gunicorn.conf.py then runs one worker),
        # Redis when several processes or machines serve.
        "RATELIMIT_STORAGE_URI": rate_limit_storage(),
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", "booking"),
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        "RATELIMIT_HEADERS_ENABLED": True,
        "API_HOLD_RATE_LIMIT": os.environ.get("API_HOLD_RATE_LIMIT", "20 per minute"),
        "BOOKING_HOLD_RATE_LIMIT": os.environ.get("BOOKING_HOLD_RATE_LIMIT", "20 per minute"),
        # Live holds one client address (an IPv6 /64) and one email address may keep at once.
        "HOLDS_PER_CLIENT": int(os.environ.get("HOLDS_PER_CLIENT", "3")),
        "HOLDS_PER_EMAIL": int(os.environ.get("HOLDS_PER_EMAIL", "2")),
        # "Book a follow-up" (a one-time link by email), per IP address and per email address.
        "PATIENT_LINK_RATE_LIMIT": os.environ.get("PATIENT_LINK_RATE_LIMIT", "5 per minute"),
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
        "SECURITY_PASSWORD_SALT": salt,
        "SECURITY_URL_PREFIX": "/staff",
        "SECURITY_POST_LOGIN_VIEW": "/staff/start",
        "SECURITY_POST_LOGOUT_VIEW": "/",
        "SECURITY_REGISTERABLE": False,
        "SECURITY_SEND_REGISTER_EMAIL": False,
        "SECURITY_TRACKABLE": False,
        "SECURITY_USERNAME_ENABLE": False,
        "SECURITY_PASSWORD_LENGTH_MIN": 10,
        "SECURITY_PASSWORD_CHECK_BREACHED": False,
        # No remember-me cookie: a staff session lives in the session cookie only, and ends
        # after STAFF_IDLE_MINUTES without a request (booking.accounts.security).
        "SECURITY_DEFAULT_REMEMBER_ME": False,
        "STAFF_IDLE_MINUTES": int(os.environ.get("STAFF_IDLE_MINUTES", "30")),
        # Per IP and per email address, on sign-in, two-factor codes and reset requests.
        "STAFF_LOGIN_RATE_LIMIT": os.environ.get("STAFF_LOGIN_RATE_LIMIT", "5 per minute"),
        "SECURITY_LOGOUT_METHODS": ["POST"],
        "SECURITY_MSG_UNAUTHENTICATED": ("Please sign in to see staff pages.", "info"),
        # Say the same thing whether or not an address has an account.
        "SECURITY_RETURN_GENERIC_RESPONSES": True,
        # Check an address's form only: no DNS look-ups while someone waits for a page.
        "SECURITY_EMAIL_VALIDATOR_ARGS": {"check_deliverability": False},
        # Password reset by email (through the outbox) and changing one's own password.
        "SECURITY_RECOVERABLE": True,
        "SECURITY_CHANGEABLE": True,
        "SECURITY_RESET_PASSWORD_WITHIN": timedelta(days=1),
        "SECURITY_POST_CHANGE_VIEW": "/staff/",
        # Changing two-factor needs a password entered in the last 30 minutes (a password
        # change asks for the current one anyway).
        "SECURITY_FRESHNESS": timedelta(minutes=30),
        "SECURITY_FRESHNESS_GRACE_PERIOD": timedelta(minutes=5),
        # Two-factor sign-in with an authenticator app (TOTP), optional per staff member.
        "SECURITY_TWO_FACTOR": True,
        "SECURITY_TWO_FACTOR_ENABLED_METHODS": ["authenticator"],
        "SECURITY_TWO_FACTOR_REQUIRED": False,
        "SECURITY_TWO_FACTOR_ALWAYS_VALIDATE": True,
        "SECURITY_TWO_FACTOR_POST_SETUP_VIEW": "/staff/",
        # Encrypts the stored TOTP secrets; changing it invalidates every authenticator set up.
        "SECURITY_TOTP_SECRETS": {"1": os.environ.get("SECURITY_TOTP_SECRET", secret)},
    }

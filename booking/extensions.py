"""Flask extensions, created unbound and bound in create_app()."""

import hashlib

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_mail import Mail
from flask_migrate import Migrate
from flask_security import Security
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from booking.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
mail = Mail()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)
security = Security()


def email_limit_key(scope: str) -> str:
    """The rate-limit key for the email address in the posted form, hashed: Flask-Limiter
    writes its keys to the log (and to Redis), and an address is a contact detail."""
    email = (request.form.get("email") or "").strip().lower()
    return f"{scope}:{hashlib.sha256(email.encode()).hexdigest()[:32]}"

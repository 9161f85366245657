"""Creating staff accounts."""

from __future__ import annotations

from collections.abc import Iterable

from flask_security import hash_password
from flask_security.utils import password_complexity_validator, password_length_validator

from booking.accounts.datastore import user_datastore
from booking.accounts.models import RoleName, User


class StaffUserError(ValueError):
    """The account cannot be created as asked."""


def ensure_roles() -> None:
    for role in RoleName:
        user_datastore.find_or_create_role(role.value)


def create_staff_user(email: str, password: str, roles: Iterable[RoleName], name: str = "") -> User:
    email = email.strip().lower()
    if user_datastore.find_user(email=email) is not None:
        raise StaffUserError(f"A staff account for {email} already exists.")
    problems = password_length_validator(password) or password_complexity_validator(
        password, is_register=True
    )
    if problems:
        raise StaffUserError(" ".join(problems))
    ensure_roles()
    user = user_datastore.create_user(
        email=email, name=name, password=hash_password(password), roles=[r.value for r in roles]
    )
    user_datastore.db.session.flush()
    return user

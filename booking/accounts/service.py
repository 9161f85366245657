"""Creating and managing staff accounts."""

from __future__ import annotations

from collections.abc import Iterable

from flask_security import hash_password
from flask_security.recoverable import send_reset_password_instructions
from flask_security.utils import password_complexity_validator, password_length_validator
from sqlalchemy import select

from booking.accounts.datastore import user_datastore
from booking.accounts.models import RoleName, User
from booking.audit.service import record_audit


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


# --- staff accounts, as an admin manages them -------------------------------------------------


def staff_accounts() -> list[User]:
    """Every staff account, active ones first, by name."""
    return list(
        user_datastore.db.session.scalars(
            select(User).order_by(User.active.desc(), User.name, User.email)
        )
    )


def role_names(user: User) -> list[str]:
    return sorted(role.name for role in user.roles)


def create_staff_account(
    email: str, name: str, roles: Iterable[RoleName], temporary_password: str | None = None
) -> User:
    """Add a staff account: with a temporary password, or emailed a link to choose one."""
    roles = [RoleName(r) for r in roles]
    if temporary_password:
        user = create_staff_user(email, temporary_password, roles, name=name.strip())
    else:
        email = email.strip().lower()
        if user_datastore.find_user(email=email) is not None:
            raise StaffUserError(f"A staff account for {email} already exists.")
        ensure_roles()
        user = user_datastore.create_user(
            email=email, name=name.strip(), password=None, roles=[r.value for r in roles]
        )
        user_datastore.db.session.flush()
        send_reset_password_instructions(user)
    record_audit(
        "staff.created", "user", user.id, email=user.email, roles=role_names(user),
        password="temporary" if temporary_password else "emailed link",
    )
    return user


def update_staff_account(user: User, name: str, roles: Iterable[RoleName], acting: User) -> bool:
    """Rename and set roles; an admin cannot take away their own admin role. False if unchanged."""
    wanted = {RoleName(r).value for r in roles}
    if user.id == acting.id and RoleName.ADMIN.value not in wanted:
        raise StaffUserError("You cannot remove your own admin role. Ask another admin.")
    if not wanted:
        raise StaffUserError("Choose at least one role.")
    ensure_roles()
    before = role_names(user)
    changes: dict[str, object] = {}
    if sorted(wanted) != before:
        user.roles = [user_datastore.find_role(name) for name in sorted(wanted)]
        changes["roles"] = {"from": before, "to": sorted(wanted)}
    if name.strip() != user.name:
        changes["name"] = {"from": user.name, "to": name.strip()}
        user.name = name.strip()
    if not changes:
        return False
    user_datastore.db.session.flush()
    record_audit("staff.updated", "user", user.id, changes=changes)
    return True


def set_staff_active(user: User, active: bool, acting: User) -> None:
    """Deactivate (signed out at their next request, cannot sign in) or reactivate an account."""
    if user.id == acting.id and not active:
        raise StaffUserError("You cannot deactivate your own account.")
    if user.active == active:
        return
    if active:
        user_datastore.activate_user(user)
    else:
        user_datastore.deactivate_user(user)
    user_datastore.db.session.flush()
    record_audit("staff.reactivated" if active else "staff.deactivated", "user", user.id)


def send_password_link(user: User) -> None:
    """Email the staff member a link to choose a new password (through the outbox)."""
    if not user.active:
        raise StaffUserError("Reactivate the account before sending a password link.")
    send_reset_password_instructions(user)
    record_audit("staff.password_link_sent", "user", user.id)


def turn_off_two_factor(user: User) -> None:
    """For a lost phone: the staff member signs in with their password and may set it up again."""
    if not user.tf_primary_method:
        return
    user_datastore.tf_reset(user)
    user_datastore.db.session.flush()
    record_audit("staff.two_factor_turned_off", "user", user.id)

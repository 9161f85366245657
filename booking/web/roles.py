"""Role checks for staff pages: every staff view names the roles that may use it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_security import auth_required, current_user

from booking.accounts.models import RoleName

CLINICAL = (RoleName.ADMIN, RoleName.PRACTITIONER)
DESK = (RoleName.ADMIN, RoleName.FRONT_DESK, RoleName.PRACTITIONER)
ADMIN = (RoleName.ADMIN,)


def staff_required(*roles: RoleName) -> Callable:
    """Signed-in staff with one of `roles`; anonymous visitors go to the login page, others 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @auth_required("session")
        def wrapped(*args, **kwargs):
            if not current_user.has_any_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = frozenset(roles)  # read by the role-matrix test
        return wrapped

    return decorator

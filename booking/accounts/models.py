"""Staff accounts and roles (Flask-Security-Too)."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_security import RoleMixin, UserMixin
from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.db import UTCDateTime, now_utc
from booking.extensions import db


class RoleName(enum.StrEnum):
    ADMIN = "admin"
    FRONT_DESK = "front_desk"
    PRACTITIONER = "practitioner"


roles_users = Table(
    "roles_users",
    db.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("role.id", ondelete="CASCADE"), primary_key=True),
)


class Role(db.Model, RoleMixin):
    __tablename__ = "role"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    description: Mapped[str | None] = mapped_column(String(200))


class User(db.Model, UserMixin):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    fs_uniquifier: Mapped[str] = mapped_column(String(64), unique=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Two-factor (TOTP) fields Flask-Security reads when two-factor is enabled.
    tf_primary_method: Mapped[str | None] = mapped_column(String(64))
    tf_totp_secret: Mapped[str | None] = mapped_column(String(255))
    tf_phone_number: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    roles: Mapped[list[Role]] = relationship(secondary=roles_users, lazy="selectin")

    def has_any_role(self, *names: RoleName) -> bool:
        return any(self.has_role(name.value) for name in names)


class StaffSession(db.Model):
    """One sign-in of a staff member: its random id is all the session cookie holds of it.

    Deleted at sign-out and on a password change; refused when idle (last_seen_at too old).
    """

    __tablename__ = "staff_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

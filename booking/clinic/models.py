"""The clinic's own settings: one row, edited by admins."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from booking.extensions import db


class Clinic(db.Model):
    __tablename__ = "clinic"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("min_notice_minutes >= 0", name="min_notice_not_negative"),
        CheckConstraint("horizon_days >= 1", name="horizon_positive"),
        CheckConstraint("hold_minutes BETWEEN 1 AND 60", name="hold_minutes_range"),
        CheckConstraint("cancellation_window_hours >= 0", name="cancel_window_not_negative"),
        CheckConstraint("slot_step_minutes BETWEEN 5 AND 120", name="slot_step_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    phone: Mapped[str] = mapped_column(String(40))
    email: Mapped[str] = mapped_column(String(254))
    timezone: Mapped[str] = mapped_column(String(64))
    min_notice_minutes: Mapped[int] = mapped_column(default=120)
    horizon_days: Mapped[int] = mapped_column(default=60)
    hold_minutes: Mapped[int] = mapped_column(default=10)
    cancellation_window_hours: Mapped[int] = mapped_column(default=24)
    slot_step_minutes: Mapped[int] = mapped_column(default=30)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def min_notice(self) -> timedelta:
        return timedelta(minutes=self.min_notice_minutes)

    @property
    def horizon(self) -> timedelta:
        return timedelta(days=self.horizon_days)

    @property
    def hold_length(self) -> timedelta:
        return timedelta(minutes=self.hold_minutes)

    @property
    def cancellation_window(self) -> timedelta:
        return timedelta(hours=self.cancellation_window_hours)

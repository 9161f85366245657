"""Practitioners, services, working hours, time off, closures and appointments."""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.db import UTCDateTime, enum_column, now_utc
from booking.extensions import db

if TYPE_CHECKING:
    from booking.patients.models import Patient


class VisitKind(enum.StrEnum):
    FIRST_VISIT = "first_visit"
    FOLLOW_UP = "follow_up"

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {VisitKind.FIRST_VISIT: "First visit", VisitKind.FOLLOW_UP: "Follow-up"}


class AppointmentStatus(enum.StrEnum):
    HELD = "held"
    AWAITING_REVIEW = "awaiting_review"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    AppointmentStatus.HELD: "Held",
    AppointmentStatus.AWAITING_REVIEW: "Awaiting review",
    AppointmentStatus.CONFIRMED: "Confirmed",
    AppointmentStatus.CHECKED_IN: "Checked in",
    AppointmentStatus.COMPLETED: "Completed",
    AppointmentStatus.NO_SHOW: "No-show",
    AppointmentStatus.CANCELLED: "Cancelled",
    AppointmentStatus.EXPIRED: "Hold ended",
}

# The named sets of statuses; code says which set it means instead of listing statuses.
# Statuses that occupy the practitioner's time (and that calendars show). A held appointment past
# its expiry still counts for the database until it is marked expired; the services expire stale
# holds before writing.
ACTIVE_STATUSES = (
    AppointmentStatus.HELD,
    AppointmentStatus.AWAITING_REVIEW,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.CHECKED_IN,
    AppointmentStatus.COMPLETED,
    AppointmentStatus.NO_SHOW,
)
# Booked and still to happen: the patient or the desk may move or cancel it.
BOOKED_STATUSES = (AppointmentStatus.CONFIRMED, AppointmentStatus.AWAITING_REVIEW)
# A hold, live or lapsed: not yet a booking.
HOLD_STATUSES = (AppointmentStatus.HELD, AppointmentStatus.EXPIRED)
# The patient has the visit in their calendar: an .ics went out once it was confirmed.
IN_PATIENT_CALENDAR_STATUSES = (
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.CHECKED_IN,
    AppointmentStatus.COMPLETED,
)
ACTIVE_STATUS_SQL = ", ".join(f"'{s.value}'" for s in ACTIVE_STATUSES)


practitioner_services = Table(
    "practitioner_services",
    db.metadata,
    Column("practitioner_id", ForeignKey("practitioner.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("service.id", ondelete="CASCADE"), primary_key=True),
)


class Practitioner(db.Model):
    __tablename__ = "practitioner"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), unique=True
    )
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(120), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)

    services: Mapped[list[Service]] = relationship(
        secondary=practitioner_services, back_populates="practitioners"
    )
    hours: Mapped[list[WorkingHours]] = relationship(
        back_populates="practitioner",
        cascade="all, delete-orphan",
        order_by="(WorkingHours.weekday, WorkingHours.starts)",
    )


class Service(db.Model):
    __tablename__ = "service"
    __table_args__ = (
        CheckConstraint("minutes BETWEEN 5 AND 480", name="minutes_range"),
        CheckConstraint("buffer_before_minutes BETWEEN 0 AND 120", name="buffer_before_range"),
        CheckConstraint("buffer_after_minutes BETWEEN 0 AND 120", name="buffer_after_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    minutes: Mapped[int]
    buffer_before_minutes: Mapped[int] = mapped_column(default=0)
    buffer_after_minutes: Mapped[int] = mapped_column(default=0)
    kind: Mapped[VisitKind] = mapped_column(enum_column(VisitKind, "visit_kind"))
    active: Mapped[bool] = mapped_column(default=True)

    practitioners: Mapped[list[Practitioner]] = relationship(
        secondary=practitioner_services, back_populates="services"
    )


class WorkingHours(db.Model):
    """One interval of a practitioner's weekly hours, in the clinic's local wall-clock time."""

    __tablename__ = "working_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("ends > starts", name="ends_after_starts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(
        ForeignKey("practitioner.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int]  # 0 = Monday
    starts: Mapped[time]
    ends: Mapped[time]

    practitioner: Mapped[Practitioner] = relationship(back_populates="hours")


class TimeOff(db.Model):
    """A practitioner's absence or a blocked period (UTC instants)."""

    __tablename__ = "time_off"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_starts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(
        ForeignKey("practitioner.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(200), default="")


class ClinicClosure(db.Model):
    """Whole local days the clinic is closed (public holidays, training days)."""

    __tablename__ = "clinic_closure"
    __table_args__ = (CheckConstraint("last_day >= first_day", name="last_after_first"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    first_day: Mapped[date]
    last_day: Mapped[date]
    reason: Mapped[str] = mapped_column(String(200), default="")


class Appointment(db.Model):
    """A visit, or a hold on a time while a patient completes the booking.

    `occupied_from`/`occupied_until` is the visit plus its service's buffers: the time the
    practitioner cannot give anyone else. The database refuses two active appointments of one
    practitioner whose occupied times overlap (an exclusion constraint on PostgreSQL, triggers on
    SQLite; see the migrations).
    """

    __tablename__ = "appointment"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        CheckConstraint("occupied_from <= starts_at", name="occupied_covers_start"),
        CheckConstraint("occupied_until >= ends_at", name="occupied_covers_end"),
        CheckConstraint(
            "status <> 'held' OR hold_expires_at IS NOT NULL", name="hold_has_expiry"
        ),
        Index("ix_appointment_practitioner_occupied", "practitioner_id", "occupied_from"),
        Index("ix_appointment_status_hold", "status", "hold_expires_at"),
        # A patient has at most one live hold.
        Index(
            "uq_appointment_one_hold_per_patient",
            "patient_id",
            unique=True,
            sqlite_where=text("status = 'held'"),
            postgresql_where=text("status = 'held'"),
        ),
        ExcludeConstraint(
            (Column("practitioner_id"), "="),
            (func.tstzrange(Column("occupied_from"), Column("occupied_until"), "[)"), "&&"),
            using="gist",
            where=text(f"status IN ({ACTIVE_STATUS_SQL})"),
            name="appointment_no_overlap",
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(
        ForeignKey("practitioner.id", ondelete="RESTRICT")
    )
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="RESTRICT"))
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("patient.id", ondelete="RESTRICT"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    occupied_from: Mapped[datetime] = mapped_column(UTCDateTime())
    occupied_until: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[AppointmentStatus] = mapped_column(
        enum_column(AppointmentStatus, "appointment_status")
    )
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A random key kept in the patient's session: only its owner may continue a hold.
    hold_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(20), default="online")
    # Who holds a live hold, for the caps on live holds (booking.scheduling.hold_cap): keyed
    # hashes of the client's address and of the email given, never the address or email itself;
    # cleared when the hold is booked or given back.
    client_digest: Mapped[str | None] = mapped_column(String(32), index=True)
    email_digest: Mapped[str | None] = mapped_column(String(32), index=True)
    # iCalendar SEQUENCE: rises with every change the patient's calendar must follow.
    sequence: Mapped[int] = mapped_column(default=0)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc, onupdate=now_utc)

    practitioner: Mapped[Practitioner] = relationship()
    service: Mapped[Service] = relationship()
    patient: Mapped[Patient | None] = relationship()
    # The series the visit was booked in, if any; each visit stays its own appointment.
    series: Mapped[VisitSeries | None] = relationship(
        secondary="series_visit", back_populates="visits", viewonly=True
    )

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class VisitSeries(db.Model):
    """Visits booked together in one step: every N weeks with one practitioner (what was asked
    for; the visits themselves are appointments pointing here, each moved or cancelled alone)."""

    __tablename__ = "visit_series"
    __table_args__ = (
        CheckConstraint("every_weeks BETWEEN 1 AND 4", name="every_weeks_range"),
        CheckConstraint("visit_count BETWEEN 1 AND 12", name="visit_count_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patient.id", ondelete="RESTRICT"), index=True
    )
    practitioner_id: Mapped[int] = mapped_column(
        ForeignKey("practitioner.id", ondelete="RESTRICT")
    )
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="RESTRICT"))
    every_weeks: Mapped[int]
    visit_count: Mapped[int]  # the visits booked (some weeks may have been left out)
    source: Mapped[str] = mapped_column(String(20), default="online")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)

    visits: Mapped[list[Appointment]] = relationship(
        secondary="series_visit", back_populates="series", order_by="Appointment.starts_at"
    )
    practitioner: Mapped[Practitioner] = relationship()
    service: Mapped[Service] = relationship()


# Which visits a series booked: a table of its own, so the appointment table (and SQLite's
# no-overlap triggers on it) stays as it is.
series_visits = Table(
    "series_visit",
    db.metadata,
    Column("appointment_id", ForeignKey("appointment.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "series_id",
        ForeignKey("visit_series.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
)


class WaitlistStatus(enum.StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    BOOKED = "booked"
    WITHDRAWN = "withdrawn"


# Statuses of an entry that still wants to hear about freed times.
OPEN_WAITLIST_STATUSES = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)
ALL_WEEKDAYS = 0b1111111


class WaitlistEntry(db.Model):
    """A patient who asked for an earlier time: freed times that suit are offered by email.

    `weekdays` is a bit set (bit 0 = Monday); the window is local wall-clock time in the clinic
    zone, and a visit suits when it lies wholly inside it. When `appointment_id` names the visit
    the patient already has, only times before it are offered.
    """

    __tablename__ = "waitlist_entry"
    __table_args__ = (
        CheckConstraint(f"weekdays BETWEEN 1 AND {ALL_WEEKDAYS}", name="weekdays_range"),
        CheckConstraint("latest_end > earliest_start", name="window_order"),
        Index("ix_waitlist_entry_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patient.id", ondelete="CASCADE"), index=True
    )
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    # None: any practitioner who offers the service.
    practitioner_id: Mapped[int | None] = mapped_column(
        ForeignKey("practitioner.id", ondelete="CASCADE")
    )
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="SET NULL")
    )
    weekdays: Mapped[int] = mapped_column(default=ALL_WEEKDAYS)
    earliest_start: Mapped[time]
    latest_end: Mapped[time]
    status: Mapped[WaitlistStatus] = mapped_column(
        enum_column(WaitlistStatus, "waitlist_status"), default=WaitlistStatus.WAITING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    patient: Mapped[Patient] = relationship()
    service: Mapped[Service] = relationship()
    practitioner: Mapped[Practitioner | None] = relationship()
    appointment: Mapped[Appointment | None] = relationship()

    @property
    def weekday_numbers(self) -> list[int]:
        return [day for day in range(7) if self.weekdays & (1 << day)]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_WAITLIST_STATUSES

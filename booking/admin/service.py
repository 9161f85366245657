"""Admin changes to the clinic's set-up. Each one flushes and writes an audit event."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Any

from sqlalchemy import select

from booking.accounts.models import User
from booking.admin.hours import WEEKDAYS, Interval, filled, format_interval
from booking.audit.service import record_audit
from booking.clinic.models import Clinic
from booking.extensions import db
from booking.intake.models import ConsentText
from booking.scheduling.models import (
    ClinicClosure,
    Practitioner,
    Service,
    VisitKind,
    WorkingHours,
)

SERVICE_FIELDS = (
    "name", "slug", "description", "kind", "minutes",
    "buffer_before_minutes", "buffer_after_minutes", "active",
)
PRACTITIONER_FIELDS = ("name", "slug", "title", "bio", "active", "user_id")
POLICY_FIELDS = (
    "name", "address", "phone", "email", "timezone", "min_notice_minutes", "horizon_days",
    "hold_minutes", "cancellation_window_hours", "slot_step_minutes",
)
# Long free text: the audit log names the field but does not copy the text.
TEXT_FIELDS = frozenset({"description", "bio"})


def _plain(value: Any) -> Any:
    """A value as JSON can hold it."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date | time):
        return value.isoformat()
    return value


def apply_changes(row: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """Set the changed attributes of `row`; return what changed, for the audit log."""
    changes: dict[str, Any] = {}
    for name, new in values.items():
        old = getattr(row, name)
        if _plain(old) == _plain(new):
            continue
        setattr(row, name, new)
        if name in TEXT_FIELDS:
            changes[name] = "changed"
        else:
            changes[name] = {"from": _plain(old), "to": _plain(new)}
    return changes


def _ids(rows: Iterable[Any]) -> list[int]:
    return sorted(row.id for row in rows)


def _by_ids(model, ids: Iterable[int]) -> list:
    ids = list(ids)
    return list(db.session.scalars(select(model).where(model.id.in_(ids)))) if ids else []


def _clean_text(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}


# --- services --------------------------------------------------------------------------------


def save_service(
    service: Service | None, values: Mapping[str, Any], practitioner_ids: Iterable[int]
) -> Service:
    """Create (service None) or update a service and who offers it."""
    values = _clean_text({name: values[name] for name in SERVICE_FIELDS})
    values["kind"] = VisitKind(values["kind"])
    return _save_linked(Service, service, values, "practitioners", Practitioner, practitioner_ids)


# --- practitioners and their hours -----------------------------------------------------------


def save_practitioner(
    practitioner: Practitioner | None, values: Mapping[str, Any], service_ids: Iterable[int]
) -> Practitioner:
    """Create (practitioner None) or update a practitioner and the services they offer."""
    values = _clean_text({name: values[name] for name in PRACTITIONER_FIELDS})
    values["user_id"] = values["user_id"] or None
    return _save_linked(Practitioner, practitioner, values, "services", Service, service_ids)


def _save_linked(model, row, values: dict[str, Any], link: str, linked_model, linked_ids):
    """Create (row None) or update a row and its many-to-many `link`, auditing what changed.

    Services and practitioners are saved alike: fields, then who offers what.
    """
    created = row is None
    if created:
        row = model(**values)
        db.session.add(row)
        changes: dict[str, Any] = {}
    else:
        changes = apply_changes(row, values)
    linked = _by_ids(linked_model, linked_ids)
    if created or _ids(linked) != _ids(getattr(row, link)):
        if not created:
            changes[link] = {"from": _ids(getattr(row, link)), "to": _ids(linked)}
        setattr(row, link, linked)
    db.session.flush()
    subject = model.__tablename__
    if created:
        record_audit(f"{subject}.created", subject, row.id, name=row.name, **{link: _ids(linked)})
    elif changes:
        record_audit(f"{subject}.updated", subject, row.id, changes=changes)
    return row


@dataclass(frozen=True)
class PractitionerRow:
    practitioner: Practitioner
    account_email: str | None
    week: dict[str, list[str]]


def practitioner_overview() -> list[PractitionerRow]:
    """Every practitioner with their staff account's email and weekly hours, active first."""
    practitioners = db.session.scalars(
        select(Practitioner).order_by(Practitioner.active.desc(), Practitioner.name)
    ).all()
    emails = dict(db.session.execute(select(User.id, User.email)).all())
    return [
        PractitionerRow(
            practitioner=p,
            account_email=emails.get(p.user_id),
            week=describe_week((h.weekday, h.starts, h.ends) for h in p.hours),
        )
        for p in practitioners
    ]


def describe_week(rows: Iterable[tuple[int, time, time]]) -> dict[str, list[str]]:
    """{'Monday': ['08:00–12:00', '13:00–17:00'], ...} for the days that have hours."""
    week: dict[str, list[str]] = {}
    for weekday, starts, ends in sorted(rows):
        week.setdefault(WEEKDAYS[weekday], []).append(format_interval(starts, ends))
    return week


def replace_weekly_hours(
    practitioner: Practitioner, week: Mapping[int, list[Interval]]
) -> bool:
    """Replace the practitioner's weekly hours (already checked); False when nothing changed."""
    before = describe_week((h.weekday, h.starts, h.ends) for h in practitioner.hours)
    new_rows = [
        (weekday, starts, ends)
        for weekday, intervals in week.items()
        for starts, ends in filled(intervals)
    ]
    after = describe_week(new_rows)
    if before == after:
        return False
    practitioner.hours = [WorkingHours(weekday=d, starts=s, ends=e) for d, s, e in new_rows]
    db.session.flush()
    record_audit("practitioner.hours_changed", "practitioner", practitioner.id,
                 before=before, after=after)
    return True


# --- clinic closures -------------------------------------------------------------------------


def add_closure(first_day: date, last_day: date | None, reason: str) -> ClinicClosure:
    closure = ClinicClosure(first_day=first_day, last_day=last_day or first_day,
                            reason=reason.strip())
    db.session.add(closure)
    db.session.flush()
    record_audit("closure.added", "clinic_closure", closure.id,
                 first_day=closure.first_day.isoformat(), last_day=closure.last_day.isoformat())
    return closure


def remove_closure(closure: ClinicClosure) -> None:
    record_audit("closure.removed", "clinic_closure", closure.id,
                 first_day=closure.first_day.isoformat(), last_day=closure.last_day.isoformat())
    db.session.delete(closure)
    db.session.flush()


def closures_around(today: date) -> tuple[list[ClinicClosure], list[ClinicClosure]]:
    """(upcoming and current closures, soonest first; past closures, latest first)."""
    rows = db.session.scalars(select(ClinicClosure).order_by(ClinicClosure.first_day)).all()
    upcoming = [c for c in rows if c.last_day >= today]
    past = [c for c in reversed(rows) if c.last_day < today]
    return upcoming, past


# --- booking policy --------------------------------------------------------------------------


def update_policy(clinic: Clinic, values: Mapping[str, Any]) -> dict[str, Any]:
    """Save the clinic's details and booking policy; return what changed."""
    changes = apply_changes(clinic, _clean_text({name: values[name] for name in POLICY_FIELDS}))
    if changes:
        db.session.flush()
        record_audit("clinic.policy_updated", "clinic", clinic.id, changes=changes)
    return changes


# --- consent text versions -------------------------------------------------------------------


def consent_versions() -> list[ConsentText]:
    return list(
        db.session.scalars(
            select(ConsentText).order_by(ConsentText.created_at.desc(), ConsentText.id.desc())
        )
    )


def add_consent_version(version: str, text: str) -> ConsentText:
    """Add a consent text version and make it the only active one; old versions stay as they are."""
    for older in db.session.scalars(select(ConsentText).where(ConsentText.active.is_(True))):
        older.active = False
    consent = ConsentText(version=version.strip(), text=text.strip().replace("\r\n", "\n"),
                          active=True)
    db.session.add(consent)
    db.session.flush()
    record_audit("consent.version_added", "consent_text", consent.id, version=consent.version)
    return consent

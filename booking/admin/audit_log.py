"""Reading the audit log: newest first, filtered by subject, a page at a time."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import func, select

from booking import formatting
from booking.accounts.models import User
from booking.audit.models import AuditEvent
from booking.extensions import db

PER_PAGE = 50


@dataclass(frozen=True)
class AuditRow:
    occurred_at: datetime
    when: str  # in the clinic's zone
    actor: str
    action: str
    subject_type: str
    subject_id: int | None
    details: list[tuple[str, str]]


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    page: int
    pages: int
    total: int

    @property
    def previous_page(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None


def subject_types() -> list[str]:
    """The kinds of subject the log holds, for the filter."""
    return list(
        db.session.scalars(
            select(AuditEvent.subject_type).distinct().order_by(AuditEvent.subject_type)
        )
    )


def audit_page(
    zone: tzinfo, subject_type: str | None = None, subject_id: int | None = None, page: int = 1,
    per_page: int = PER_PAGE,
) -> AuditPage:
    """One page of events, newest first, optionally only those about one kind or one subject."""
    query = select(AuditEvent)
    if subject_type:
        query = query.where(AuditEvent.subject_type == subject_type)
    if subject_id is not None:
        query = query.where(AuditEvent.subject_id == subject_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    events = db.session.scalars(
        query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    actors = _actor_names({e.actor_id for e in events if e.actor_id is not None})
    rows = [
        AuditRow(
            occurred_at=e.occurred_at,
            when=formatting.timestamp(e.occurred_at.astimezone(zone)),
            actor=actors.get(e.actor_id, "deleted account") if e.actor_id else "patient or system",
            action=e.action,
            subject_type=e.subject_type,
            subject_id=e.subject_id,
            details=describe_details(e.details or {}),
        )
        for e in events
    ]
    return AuditPage(rows=rows, page=page, pages=pages, total=total)


def _actor_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    users = db.session.execute(select(User.id, User.email).where(User.id.in_(ids)))
    return {user_id: email for user_id, email in users}


def describe_details(details: dict[str, Any]) -> list[tuple[str, str]]:
    """An event's details as (name, readable value) pairs."""
    return [(name.replace("_", " "), _readable(value)) for name, value in details.items()]


def _readable(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"from", "to"}:
        return f"{_readable(value['from'])} → {_readable(value['to'])}"
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {_readable(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_readable(v) for v in value) if value else "none"
    if value is None:
        return "none"
    if isinstance(value, str):
        return value
    return json.dumps(value)

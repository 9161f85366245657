"""Writing the audit log: who saw or changed what, in the caller's transaction."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_security import current_user

from booking.audit.models import AuditEvent
from booking.extensions import db


def record_audit(
    action: str, subject_type: str, subject_id: int | None, **details: Any
) -> AuditEvent:
    """Add an audit event by the signed-in staff member (or the patient/system when none).

    `details` holds identifiers and changed field names only, never clinical answers.
    """
    actor = current_user if current_user and current_user.is_authenticated else None
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        details=details,
    )
    db.session.add(event)
    db.session.flush()
    return event


def record_view(
    action: str, subject_type: str, subject_id: int | None, **details: Any
) -> AuditEvent:
    """Record that someone saw health data. A view happened even when the request is then
    refused (a 4xx rolls its transaction back), so the request boundary writes it again."""
    event = record_audit(action, subject_type, subject_id, **details)
    g.setdefault("audited_views", []).append({
        "actor_id": event.actor_id,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "details": details,
        "occurred_at": event.occurred_at,
    })
    return event


def keep_views_after_rollback() -> None:
    """After the request's rollback: write its views again, in a transaction of their own."""
    views = g.pop("audited_views", [])
    if views:
        db.session.add_all(AuditEvent(**view) for view in views)
        db.session.commit()

"""Writing the audit log: who saw or changed what, in the caller's transaction."""

from __future__ import annotations

from typing import Any

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

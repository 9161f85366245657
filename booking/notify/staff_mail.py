"""Flask-Security's emails (password reset, notices, two-factor rescue) go through the outbox."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath
from typing import Any

from flask_security import MailUtil

from booking.notify.outbox import enqueue

KIND_LENGTH = 40


class OutboxMailUtil(MailUtil):
    """Queue each message in the request's transaction; the outbox worker sends it after commit."""

    def send_mail(
        self,
        template: str,
        subject: str,
        recipient: str | tuple[str, str],
        sender: str | tuple[str, str],
        body: str | None,
        html: str | None,
        **kwargs: Any,
    ) -> None:
        # Every message is its own (a new reset link each time): a random key never collides.
        enqueue(
            dedupe_key=f"staff-account:{uuid.uuid4().hex}",
            kind=staff_mail_kind(template),
            recipient=recipient[1] if isinstance(recipient, tuple) else str(recipient),
            subject=str(subject),
            text_body=body or "",
            html_body=html,
        )


def staff_mail_kind(template: str) -> str:
    """'security/email/reset_instructions' -> 'staff_reset_instructions'."""
    return f"staff_{PurePosixPath(template).name}"[:KIND_LENGTH]

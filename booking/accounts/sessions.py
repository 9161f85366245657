"""Staff sessions kept on the server: a row per sign-in, its random id in the session cookie.

A cookie opens staff pages only while its row exists and has been used within the idle limit,
so a copy saved before sign-out, a password change or the idle limit opens nothing.
"""

from __future__ import annotations

import enum
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete

from booking.accounts.models import StaffSession, User
from booking.extensions import db

# last_seen_at is written at most this often: one small UPDATE a minute, not one per request.
TOUCH_EVERY = timedelta(minutes=1)


class SessionState(enum.Enum):
    LIVE = "live"
    IDLE = "idle"  # no request for longer than the idle limit
    ENDED = "ended"  # signed out, password changed, or never started


def start_staff_session(user: User, now: datetime, idle_limit: timedelta) -> StaffSession:
    """A new session for a sign-in; the idle limit counts from `now`. Sessions left idle by
    anyone (a closed browser never signs out) are deleted on the way."""
    db.session.execute(delete(StaffSession).where(StaffSession.last_seen_at < now - idle_limit))
    row = StaffSession(
        id=secrets.token_urlsafe(32), user_id=user.id, created_at=now, last_seen_at=now
    )
    db.session.add(row)
    db.session.flush()
    return row


def check_staff_session(
    session_id: str | None, user_id: int, now: datetime, idle_limit: timedelta
) -> SessionState:
    """Whether the cookie's session is still live for this user; a live one is marked as seen."""
    row = db.session.get(StaffSession, session_id) if isinstance(session_id, str) else None
    if row is None or row.user_id != user_id:
        return SessionState.ENDED
    if now - row.last_seen_at > idle_limit:
        return SessionState.IDLE
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return SessionState.LIVE


def end_staff_session(session_id: str | None) -> None:
    if isinstance(session_id, str):
        db.session.execute(delete(StaffSession).where(StaffSession.id == session_id))


def end_other_sessions(user_id: int, keep: str | None) -> None:
    """End every session of the user but `keep` (the one that just changed the password)."""
    query = delete(StaffSession).where(StaffSession.user_id == user_id)
    if keep is not None:
        query = query.where(StaffSession.id != keep)
    db.session.execute(query)

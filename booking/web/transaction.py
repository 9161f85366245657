"""Work a request keeps even when its answer rolls the request back.

One transaction per request: it commits on a 2xx/3xx answer and rolls back on a 4xx/5xx
(booking/__init__.py). A few writes must outlive a refusal: what a patient typed on a page that
answers 422 or 409 is theirs and is kept. Such writes register here and are done again, in a
transaction of their own, after the rollback.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from flask import g

from booking.extensions import db


def keep_after_rollback(key: Hashable, write: Callable[[], None]) -> None:
    """Run `write` again after a rollback of this request (once per key: the latest wins)."""
    g.setdefault("kept_writes", {})[key] = write


def redo_kept_writes() -> None:
    """After the request's rollback: the kept writes, committed on their own."""
    writes = g.pop("kept_writes", {})
    if not writes:
        return
    for write in writes.values():
        write()
    db.session.commit()

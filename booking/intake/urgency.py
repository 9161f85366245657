"""Which appointments wait on an urgent review: the one rule every page and email asks.

A review flag marked urgent (one leg getting weaker, new or worse) means same day: the review
queue lists it first, the desk sees it at once, the staff alert says so, and the patient is told
the clinic will call today. All of them ask here, so they always agree.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import select

from booking.extensions import db
from booking.intake.models import Intake
from booking.intake.screening import Screening

logger = logging.getLogger(__name__)


def urgent_appointment_ids(appointment_ids: Iterable[int]) -> set[int]:
    """The appointments among `appointment_ids` whose latest intake raised an urgent review.

    The latest intake answered for an appointment (first-visit intake or check-in) is the one
    that decides, as a newer answer set replaces an older one. A stored screening that cannot
    be read counts as urgent: staff look at it today rather than never.
    """
    ids = {appointment_id for appointment_id in appointment_ids if appointment_id is not None}
    if not ids:
        return set()
    latest: dict[int, Intake] = {}
    for intake in db.session.scalars(
        select(Intake)
        .where(Intake.appointment_id.in_(ids))
        .order_by(Intake.submitted_at, Intake.id)
    ):
        latest[intake.appointment_id] = intake
    return {
        appointment_id for appointment_id, intake in latest.items() if _is_urgent(intake)
    }


def _is_urgent(intake: Intake) -> bool:
    try:
        return Screening.from_dict(intake.screening).urgent
    except (KeyError, TypeError, ValueError, AttributeError):
        # The id only: a stored screening holds health details.
        logger.warning("intake %s: stored screening unreadable; treated as urgent", intake.id)
        return True

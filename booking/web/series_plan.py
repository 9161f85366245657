"""The series a practitioner planned on a visit outcome, as a "Book this series" link to the
series pages (the desk's or the patient's), prefilled through the query string."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for

from booking.clinical.outcomes import SeriesSuggestion, suggested_series
from booking.db import now_utc


@dataclass(frozen=True)
class PlannedSeries:
    suggestion: SeriesSuggestion
    url: str


def plan_query(suggestion: SeriesSuggestion) -> dict[str, str]:
    """The series page's plan fields (SeriesForm's names) for the suggestion."""
    return {
        "service": str(suggestion.service.id) if suggestion.service else "",
        "practitioner": str(suggestion.practitioner.id),
        "first_day": suggestion.first_day.isoformat(),
        "time": suggestion.wall.strftime("%H:%M"),
        "every_weeks": str(suggestion.every_weeks),
        "count": str(suggestion.visits),
    }


def planned_series(patient_id: int, endpoint: str, /, **values) -> PlannedSeries | None:
    """The patient's planned series with its link to `endpoint`, or None without a plan."""
    suggestion = suggested_series(patient_id, now_utc())
    if suggestion is None:
        return None
    return PlannedSeries(suggestion, url_for(endpoint, **values, **plan_query(suggestion)))

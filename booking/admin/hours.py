"""PURE: checking a day's working-hours intervals (no Flask, no database)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

Interval = tuple[time | None, time | None]


@dataclass(frozen=True)
class IntervalProblem:
    """What is wrong with one interval: `index` in the day's list, `field` 'starts' or 'ends'."""

    index: int
    field: str
    message: str


def interval_problems(intervals: Sequence[Interval]) -> list[IntervalProblem]:
    """Problems with one day's intervals: half-filled, ending before starting, overlapping.

    Blank intervals (neither time) are ignored: they are rows nobody filled in. Intervals that
    touch (one ends at 12:00, the next starts at 12:00) do not overlap.
    """
    problems: list[IntervalProblem] = []
    complete: list[tuple[int, time, time]] = []
    for index, (starts, ends) in enumerate(intervals):
        if starts is None and ends is None:
            continue
        if starts is None:
            problems.append(IntervalProblem(index, "starts", "Enter the start time too."))
        elif ends is None:
            problems.append(IntervalProblem(index, "ends", "Enter the end time too."))
        elif ends <= starts:
            problems.append(IntervalProblem(index, "ends", "The end must be after the start."))
        else:
            complete.append((index, starts, ends))
    complete.sort(key=lambda item: (item[1], item[2]))
    # Compare each interval with the latest-ending one before it, not only its neighbour.
    latest: tuple[time, time] | None = None
    for index, starts, ends in complete:
        if latest is not None and starts < latest[1]:
            problems.append(
                IntervalProblem(
                    index,
                    "starts",
                    f"This overlaps {format_interval(*latest)}. "
                    "Intervals on one day must not overlap.",
                )
            )
        if latest is None or ends > latest[1]:
            latest = (starts, ends)
    return sorted(problems, key=lambda p: (p.index, p.field))


def format_interval(starts: time, ends: time) -> str:
    """'08:00–12:00'."""
    return f"{starts:%H:%M}–{ends:%H:%M}"


def filled(intervals: Sequence[Interval]) -> list[tuple[time, time]]:
    """The complete intervals of a day, in time order (call after interval_problems is empty)."""
    return sorted((s, e) for s, e in intervals if s is not None and e is not None)

"""Reading values people and programs type into URLs and forms: ids and days, safely.

Every page and the API read them through here, so out-of-range or odd input (a year past 9999,
a superscript digit, an id beyond the column) becomes "not given" or a clear error, never a 500.
"""

from __future__ import annotations

import re
from datetime import date

MAX_ID = 2**31 - 1  # an INTEGER column: larger numbers would make the database raise, not miss
# Days outside these are nobody's visit; the bounds keep day arithmetic far from date.max.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2200, 12, 31)
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # what a date input sends: 2026-11-23


def as_id(value: object) -> int | None:
    """The value as a row id, or None: not ASCII digits, or beyond what an id column holds."""
    text = str(value) if value is not None else ""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def parse_day(
    text: str | None, earliest: date = EARLIEST_DAY, latest: date = LATEST_DAY
) -> date | None:
    """An ISO day (2026-11-23) between earliest and latest, or None when absent or unreadable."""
    if not text or not ISO_DAY.fullmatch(text.strip()):
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:  # 2026-02-30, 0000-01-01
        return None
    return day if earliest <= day <= latest else None

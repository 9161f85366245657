"""Availability speed: one practitioner-day and all practitioners for 30 days, through the API.

Seeds 10 practitioners (Monday–Friday 09:00–17:00, one weekday off each), services of 60 and
30 minutes and 1,000 appointments over the next 30 weekdays, then prints the median and p95 of
in-process API requests and the SQL statements each request issues (also with 100 appointments,
to show the count does not grow with them).

    .venv/bin/python bench/availability.py [--runs 300] [--database-url URL]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event  # noqa: E402

from booking import create_app  # noqa: E402
from booking.clinic.service import get_clinic  # noqa: E402
from booking.db import now_utc  # noqa: E402
from booking.extensions import db  # noqa: E402
from booking.scheduling.models import (  # noqa: E402
    Appointment,
    AppointmentStatus,
    Practitioner,
    Service,
    VisitKind,
    WorkingHours,
)
from booking.scheduling.service import place_visit  # noqa: E402

PRACTITIONERS = 10
DAYS = 30


def seed(appointments: int) -> tuple[list[int], list[str]]:
    """The bench clinic; returns practitioner ids and the next 30 weekdays (ISO dates)."""
    clinic = get_clinic()
    clinic.min_notice_minutes = 0
    long = Service(slug="long", name="Long", minutes=60, kind=VisitKind.FIRST_VISIT)
    short = Service(slug="short", name="Short", minutes=30, kind=VisitKind.FOLLOW_UP)
    practitioners = []
    for n in range(PRACTITIONERS):
        p = Practitioner(name=f"P{n}", slug=f"p{n}", services=[long, short])
        day_off = n % 5
        p.hours = [
            WorkingHours(weekday=d, starts=datetime.strptime("09:00", "%H:%M").time(),
                         ends=datetime.strptime("17:00", "%H:%M").time())
            for d in range(5) if d != day_off
        ]
        practitioners.append(p)
    db.session.add_all([long, short, *practitioners])
    db.session.flush()
    zone = clinic.zone
    today = now_utc().astimezone(zone).date()
    weekdays = [d for d in (today + timedelta(days=i) for i in range(1, 60)) if d.weekday() < 5]
    weekdays = weekdays[:DAYS]
    rng = random.Random(7)
    placed, tries = 0, 0
    taken: set[tuple[int, datetime]] = set()
    while placed < appointments and tries < appointments * 20:
        tries += 1
        p = rng.choice(practitioners)
        day = rng.choice(weekdays)
        if day.weekday() == practitioners.index(p) % 5:
            continue
        start = datetime.combine(day, datetime.min.time(), zone) + timedelta(
            hours=9, minutes=30 * rng.randrange(0, 15)
        )
        if (p.id, start) in taken or (p.id, start - timedelta(minutes=30)) in taken:
            continue
        taken.add((p.id, start))
        visit = Appointment(
            practitioner_id=p.id, service_id=short.id, status=AppointmentStatus.CONFIRMED
        )
        place_visit(visit, short, start)
        db.session.add(visit)
        placed += 1
    db.session.commit()
    return [p.id for p in practitioners], [d.isoformat() for d in weekdays]


def measure(client, url: str, runs: int) -> tuple[float, float, int]:
    """Median and p95 in milliseconds, and the statements of one request."""
    for _ in range(20):
        assert client.get(url).status_code == 200, client.get(url).get_data(as_text=True)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1], count_statements(
        client, url
    )


def count_statements(client, url: str) -> int:
    count = 0

    def before(*_args):
        nonlocal count
        count += 1

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return count


def run(database_url: str, appointments: int, runs: int) -> dict[str, tuple[float, float, int]]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
        ids, weekdays = seed(appointments)
        client = app.test_client()
        one = f"/api/v1/availability?service=short&practitioner={ids[0]}&from={weekdays[1]}&days=1"
        every = f"/api/v1/availability?service=short&practitioner=any&from={weekdays[0]}&days=30"
        return {
            "one practitioner, one day": measure(client, one, runs),
            "all practitioners, 30 days": measure(client, every, runs),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--database-url", help="an empty database (default: a temporary SQLite)")
    args = parser.parse_args()
    for appointments in (1000, 100):
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
            results = run(url, appointments, args.runs if appointments == 1000 else 50)
        print(f"\n{appointments} appointments, {PRACTITIONERS} practitioners ({url.split(':')[0]})")
        for name, (median, p95, statements) in results.items():
            print(f"  {name:28s} median {median:7.2f} ms   p95 {p95:7.2f} ms   "
                  f"SQL statements {statements}")
        if args.database_url:
            break


if __name__ == "__main__":
    main()

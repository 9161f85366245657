"""No double booking under real parallelism: gunicorn workers, simultaneous requests, one winner.

Thirty threads wait at a barrier, then ask for the same time at once. Exactly one gets it; every
other answer is a clean "taken" (409), never a server error, on SQLite (BEGIN IMMEDIATE) and on
PostgreSQL (the exclusion constraint), and on PostgreSQL across two gunicorn instances too.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from booking.clinic.service import get_clinic
from booking.db import now_utc
from booking.extensions import db
from booking.scheduling.models import ACTIVE_STATUSES, Appointment, VisitKind
from tests.factories import make_practitioner, make_service
from tests.servers import GunicornServer, gunicorn

pytestmark = pytest.mark.slow

RACERS = 30
# Without the database's guard about half of single races double-book (measured by dropping the
# PostgreSQL constraint); three races in a row make a regression very likely to show.
ROUNDS = 3
EVERY_DAY = {day: [("09:00", "17:00")] for day in range(7)}
CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')

Send = Callable[[], requests.Response]


@dataclass
class Clinic:
    """The seeded clinic: one service, one practitioner, and the times everybody wants."""

    app: Flask
    service_id: int
    service_slug: str
    practitioner_id: int
    wanted: list[datetime]


@pytest.fixture
def clinic(make_app) -> Clinic:
    """One practitioner and one first-visit service (anyone may hold one), committed directly in
    the database before the race."""
    app = make_app()
    with app.app_context():
        zone = get_clinic().zone
        service = make_service(minutes=30, kind=VisitKind.FIRST_VISIT)
        practitioner = make_practitioner([service], hours=EVERY_DAY)
        db.session.commit()
        day = now_utc().astimezone(zone).date() + timedelta(days=2)
        wanted = [datetime.combine(day, time(10 + n), zone) for n in range(ROUNDS)]
        return Clinic(app, service.id, service.slug, practitioner.id, wanted)


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory) -> Iterator[GunicornServer]:
    """Four workers on the engine's test database, shared by this module's tests on it."""
    with gunicorn(database_url, tmp_path_factory.mktemp("gunicorn"), workers=4) as server:
        yield server


@pytest.fixture
def second_server(server, database_url: str, tmp_path: Path) -> Iterator[GunicornServer]:
    """Another instance on the same database: nothing shared with the first but the data."""
    with gunicorn(database_url, tmp_path, workers=4) as second:
        yield second


def race(prepare: Callable[[int], Send], racers: int = RACERS) -> list[requests.Response]:
    """Prepare each racer's request in its own thread, then send them all at the same moment."""
    barrier = threading.Barrier(racers)

    def run(index: int) -> requests.Response:
        send = prepare(index)
        barrier.wait(timeout=60)
        return send()

    with ThreadPoolExecutor(max_workers=racers) as pool:
        return list(pool.map(run, range(racers)))


def api_hold(
    servers: list[GunicornServer], clinic: Clinic, wanted: datetime
) -> Callable[[int], Send]:
    """Racer i posts the JSON hold to servers[i % len(servers)]."""
    body = {"service": clinic.service_id, "practitioner_id": clinic.practitioner_id,
            "start": wanted.isoformat()}

    def prepare(index: int) -> Send:
        url = f"{servers[index % len(servers)].url}/api/v1/holds"
        return lambda: requests.post(url, json=body, timeout=60)

    return prepare


def form_hold(server: GunicornServer, clinic: Clinic) -> Callable[[int], Send]:
    """Racer i opens the times page (session and CSRF token), then submits the slot's form."""
    def prepare(index: int) -> Send:
        browser = requests.Session()
        page = browser.get(f"{server.url}/book/{clinic.service_slug}/times", timeout=60)
        token = CSRF_INPUT.search(page.text)
        assert page.status_code == 200 and token, page.text[:500]
        form = {"csrf_token": token.group(1), "service": clinic.service_id,
                "practitioner": "any", "start": clinic.wanted[0].astimezone(UTC).isoformat()}
        url = f"{server.url}/book/hold"
        return lambda: browser.post(url, data=form, allow_redirects=False, timeout=60)

    return prepare


def outcome(responses: list[requests.Response]) -> Counter:
    return Counter(response.status_code for response in responses)


def active_appointments_at(clinic: Clinic, wanted: datetime) -> int:
    with clinic.app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(Appointment).where(
                Appointment.practitioner_id == clinic.practitioner_id,
                Appointment.starts_at == wanted,
                Appointment.status.in_(ACTIVE_STATUSES),
            )
        )


def assert_one_api_winner(
    responses: list[requests.Response], clinic: Clinic, wanted: datetime
) -> None:
    assert outcome(responses) == {201: 1, 409: RACERS - 1}, [r.text[:300] for r in responses]
    lost = [r.json() for r in responses if r.status_code == 409]
    assert all(body["error"] == "slot_taken" and body["alternatives"] for body in lost)
    taken = wanted.isoformat()
    assert all(taken not in [s["start"] for s in body["alternatives"]] for body in lost)
    assert active_appointments_at(clinic, wanted) == 1


def test_simultaneous_api_holds_for_one_time_have_one_winner(clinic, server):
    for wanted in clinic.wanted:
        responses = race(api_hold([server], clinic, wanted))
        assert_one_api_winner(responses, clinic, wanted)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_servers_sharing_postgresql_give_the_time_once(clinic, server, second_server):
    for wanted in clinic.wanted:
        responses = race(api_hold([server, second_server], clinic, wanted))
        assert_one_api_winner(responses, clinic, wanted)
        assert {r.url.split("/api/")[0] for r in responses} == {server.url, second_server.url}


def test_simultaneous_booking_form_holds_have_one_winner(clinic, server):
    responses = race(form_hold(server, clinic))
    assert outcome(responses) == {303: 1, 409: RACERS - 1}, [r.text[:300] for r in responses]
    winner = next(r for r in responses if r.status_code == 303)
    assert winner.headers["Location"].endswith("/book/details")
    assert active_appointments_at(clinic, clinic.wanted[0]) == 1

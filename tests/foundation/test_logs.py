"""What reaches the logs: no SQL values or row details after a failed insert, no secrets from
URLs in gunicorn's access log, and the suite-wide guard (tests/log_guard.py) really catches."""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests
from flask import Flask

from booking.extensions import db
from booking.intake.models import Intake
from booking.patients.models import Patient
from tests import log_guard
from tests.factories import make_patient
from tests.servers import (
    GUNICORN,
    GUNICORN_HOOKS,
    HOST,
    ROOT,
    GunicornServer,
    app_environment,
    free_port,
    wait_until_serving,
)

NAME = ("Wilhelmina", "Quarrendon")
BIRTH = date(1961, 8, 23)
EMAIL = "wilhelmina.quarrendon@example.org"
PHONE = "555 013 7788"
GOALS = "Carry my grandson up the lighthouse stairs"
# What a failed insert must not write anywhere: each value, and how a driver would print it.
PERSONAL = (*NAME, "1961-08-23", "1961, 8, 23", EMAIL, PHONE, GOALS, "medical_review")


class Captured(logging.Handler):
    """Every formatted line (with its traceback) of the loggers it is attached to."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(logging.Formatter().format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def captured_logs() -> Iterator[Captured]:
    """The app's log and SQLAlchemy's statement log (as `echo=True` would print it)."""
    handler = Captured()
    loggers = [logging.getLogger(), logging.getLogger("sqlalchemy.engine")]
    sql_level = loggers[1].level
    loggers[1].setLevel(logging.INFO)
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)
    loggers[1].setLevel(sql_level)


def failing_route(app: Flask, insert) -> None:
    """A page whose insert breaks a NOT NULL constraint: Flask logs the exception, as live."""

    def boom():
        insert()
        db.session.flush()
        return "unreachable"

    app.add_url_rule("/test-failing-insert", "test_failing_insert", boom)


def insert_patient_without_last_name() -> None:
    db.session.add(Patient(first_name=NAME[0], last_name=None, date_of_birth=BIRTH,
                           email=EMAIL, phone=PHONE))


def insert_intake_without_ruleset(patient_id: int):
    def insert() -> None:
        db.session.add(Intake(
            patient_id=patient_id, kind="first_visit", questionnaire_version="test",
            answers={"goals": GOALS, "date_of_birth": BIRTH.isoformat()},
            ruleset_version=None, tier="medical_review",
            screening={"tier": "medical_review", "flags": [{"answer": GOALS}]},
        ))

    return insert


@pytest.mark.parametrize("row", ["patient", "intake"])
def test_a_failed_insert_logs_no_personal_or_health_detail(make_app, captured_logs, row):
    app = make_app(TESTING=False, PROPAGATE_EXCEPTIONS=False)  # a 500 page, as in production
    if row == "patient":
        failing_route(app, insert_patient_without_last_name)
    else:
        with app.app_context():
            patient = make_patient(first_name=NAME[0], last_name=NAME[1], date_of_birth=BIRTH,
                                   email=EMAIL, phone=PHONE)
            db.session.commit()
            failing_route(app, insert_intake_without_ruleset(patient.id))
    captured_logs.lines.clear()

    response = app.test_client().get("/test-failing-insert")

    assert response.status_code == 500
    logged = captured_logs.text
    assert "IntegrityError" in logged and "INSERT INTO" in logged  # the failure was logged
    assert "SQL parameters hidden" in logged
    for detail in PERSONAL:
        assert detail not in logged


# --- gunicorn's access log ------------------------------------------------------------------

LOGGER_CLASS = "booking.access_log.MaskedAccessLogger"
SECRET = "s3cr3tT0ken"
SECRET_URLS = {
    f"/visit/{SECRET}1": "/visit/***",
    f"/visit/{SECRET}2/calendar.ics": "/visit/***/calendar.ics",
    f"/visit/{SECRET}3/questions/pain?date=2026-03-08": "/visit/***/questions/pain?date=2026-03-08",
    f"/calendar/{SECRET}4.ics": "/calendar/***.ics",
    f"/returning/link/{SECRET}5": "/returning/link/***",
    f"/book/resume/7/{SECRET}6": "/book/resume/7/***",
    f"/staff/reset/{SECRET}7": "/staff/reset/***",
    f"/staff/desk/patients?q={EMAIL}": "/staff/desk/patients?q=***",
}


def start_masked_gunicorn(database_url: str, log_dir: Path) -> GunicornServer:
    """One gunicorn worker with the masking logger and the access log on stdout, as wired in
    production."""
    port = free_port()
    hooks = log_dir / "gunicorn_hooks.py"
    hooks.write_text(GUNICORN_HOOKS)
    log_path = log_dir / "gunicorn.log"
    command = [
        str(GUNICORN), "--config", str(hooks), "--workers", "1", "--bind", f"{HOST}:{port}",
        "--no-control-socket", "--logger-class", LOGGER_CLASS, "--access-logfile", "-",
        "wsgi:app",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=app_environment(database_url),
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = GunicornServer(f"http://{HOST}:{port}", process, log_path)
    try:
        wait_until_serving(server, 1, 60)
    except BaseException:
        server.stop()
        raise
    return server


def wait_for_log_line(server: GunicornServer, text: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while text not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.slow
def test_the_access_log_masks_tokens_and_typed_queries(database_url, tmp_path):
    server = start_masked_gunicorn(database_url, tmp_path)
    try:
        for url in SECRET_URLS:
            requests.get(server.url + url, timeout=30, allow_redirects=False)
        # A page's address also travels as the Referer of what it loads.
        requests.get(server.url + "/static/css/site.css", timeout=30,
                     headers={"Referer": f"{server.url}/visit/{SECRET}8"})
        # The worker logs a request after answering it; a quick stop could cut the last line.
        wait_for_log_line(server, "GET /static/css/site.css")
    finally:
        server.stop()

    log = server.log()
    for masked in SECRET_URLS.values():
        assert f"GET {masked} HTTP/1.1" in log, log
    assert f"{server.url}/visit/***" in log  # the Referer, masked
    assert SECRET not in log
    assert EMAIL not in log


# --- the suite-wide guard -------------------------------------------------------------------


def test_the_log_guard_catches_a_contact_detail_in_any_logger():
    log_guard.GUARD.take_leaks()
    logging.getLogger("booking.anything").debug("booked for ann.quixotelby@example.com")
    logging.getLogger("booking.anything").info("goals: Dig the vegetable beds again")
    logging.getLogger("sqlalchemy.engine.Engine").info("(datetime.date(1980, 5, 17),)")

    leaks = log_guard.GUARD.take_leaks()  # taken, so this test itself passes

    assert len(leaks) == 3, leaks
    assert "ann.quixotelby@example.com" in leaks[0]

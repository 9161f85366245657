"""Migration 0007 keeps the calls already made: each call-back marked as called becomes one
answered attempt (same time, caller and note); open call-backs get none. On both engines, on a
database of its own upgraded from empty to 0006 and then to 0007.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import insert, inspect, select

from booking import create_app
from booking.accounts.models import User
from booking.extensions import db
from booking.intake.models import CallBack, CallBackAttempt, Intake
from booking.patients.models import Patient
from tests.helpers import BASE_TEST_CONFIG, skip_or_fail

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
CALLED_AT = datetime(2026, 11, 23, 15, 40, tzinfo=UTC)


@pytest.fixture(params=("sqlite", "postgresql"))
def empty_url(request, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database (not the session's migrated one)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migration-0007.sqlite3'}"
        return
    name = f"booking_migration_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        skip_or_fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({error})")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    yield f"{base}/{name}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def insert_row(model, **values) -> int:
    """A row written with SQL (the 0006 schema has no call_back_attempt for the ORM to load)."""
    return db.session.execute(insert(model.__table__).values(**values)).inserted_primary_key[0]


def test_called_call_backs_become_one_answered_attempt(empty_url):
    app = create_app({**BASE_TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": empty_url})
    with app.app_context():
        upgrade(revision="0006_clinical")
        assert "call_back_attempt" not in inspect(db.engine).get_table_names()
        dana = insert_row(User, email="dana@example.com", name="Dana", fs_uniquifier="dana")
        patient = insert_row(Patient, first_name="Ben", last_name="Walker",
                             date_of_birth=date(1985, 9, 14), email="ben@example.com",
                             phone="555")
        intakes = [
            insert_row(Intake, patient_id=patient, kind="first_visit", questionnaire_version="v",
                       answers={}, ruleset_version="r", tier="emergency", screening={})
            for _ in range(3)
        ]
        called = insert_row(CallBack, patient_id=patient, intake_id=intakes[0],
                            called_at=CALLED_AT, called_by_id=dana, note="Ben is at the ER.")
        no_note = insert_row(CallBack, patient_id=patient, intake_id=intakes[1],
                             called_at=CALLED_AT, called_by_id=None, note=None)
        still_open = insert_row(CallBack, patient_id=patient, intake_id=intakes[2])
        db.session.commit()

        upgrade()
        db.session.expire_all()
        attempts = db.session.scalars(
            select(CallBackAttempt).order_by(CallBackAttempt.call_back_id)
        ).all()
        assert [
            (a.call_back_id, a.attempted_at, a.by_id, a.answered, a.note) for a in attempts
        ] == [
            (called, CALLED_AT, dana, True, "Ben is at the ER."),
            (no_note, CALLED_AT, None, True, "Called (no note was recorded)."),
        ]
        assert db.session.get(CallBack, still_open).attempts == []
        assert db.session.get(CallBack, called).called_at == CALLED_AT  # still "reached"
        db.session.commit()

        downgrade(revision="0006_clinical")
        assert "call_back_attempt" not in inspect(db.engine).get_table_names()
        db.session.remove()
        db.engine.dispose()

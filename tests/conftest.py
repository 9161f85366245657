"""Fixtures: the app over both database engines, a clean database per test, a test client."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from sqlalchemy import text

from booking import create_app
from booking.extensions import db
from tests.helpers import BASE_TEST_CONFIG, skip_or_fail

# Fails a test during which a health answer or contact detail reaches any log line.
pytest_plugins = ["tests.log_guard"]

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
ENGINES = ("sqlite", "postgresql")


def migrate(url: str) -> None:
    from flask_migrate import upgrade

    app = create_app({**BASE_TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("db") / "booking-test.sqlite3"
    url = f"sqlite:///{path}"
    migrate(url)
    return url


def postgres_url_for(name: str) -> str:
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    name = f"booking_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        skip_or_fail(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({error.__class__.__name__}); "
            "start it or set TEST_POSTGRES_URL to run the PostgreSQL cases"
        )
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = postgres_url_for(name)
    migrate(url)
    yield url
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=ENGINES)
def database_url(request: pytest.FixtureRequest) -> str:
    """Each database-facing test runs once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")


def clean_database() -> None:
    tables = [t.name for t in db.metadata.sorted_tables]
    if db.engine.dialect.name == "postgresql":
        quoted = ", ".join(f'"{t}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    else:
        for table in reversed(tables):
            db.session.execute(text(f'DELETE FROM "{table}"'))
    db.session.commit()


@pytest.fixture
def make_app(database_url: str):
    """Build an app on the test database, with config overrides; the database starts empty."""
    apps: list[Flask] = []

    def build(**overrides) -> Flask:
        app = create_app({**BASE_TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, **overrides})
        if not apps:
            with app.app_context():
                clean_database()
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app) -> Flask:
    return make_app()


@pytest.fixture
def app_ctx(app: Flask):
    """An application context for tests that work with the database directly."""
    with app.app_context():
        yield app


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()

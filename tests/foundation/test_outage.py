"""With the database unreachable, pages answer a styled 503 with Retry-After (JSON under
/api/), drawn from the configuration alone: PostgreSQL on a port where nothing listens, SQLite
in a folder that does not exist."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from booking import create_app
from tests.helpers import BASE_TEST_CONFIG
from tests.servers import HOST, free_port

CLINIC = {"CLINIC_NAME": "Harbourside Spine Clinic", "CLINIC_PHONE": "(555) 014-8800",
          "CLINIC_ADDRESS": "3 Quay Lane, Portbury"}
PAGES = ["/", "/book/", "/visit/some-token", "/returning/", "/staff/login"]
API = ["/api/v1/services", "/api/v1/availability?service=1&date=2026-12-10"]


def unreachable_database(engine: str, tmp_path: Path) -> str:
    if engine == "sqlite":
        return f"sqlite:///{tmp_path / 'no-such-folder' / 'booking.sqlite3'}"
    return f"postgresql+psycopg://postgres@{HOST}:{free_port()}/test"


@pytest.fixture(params=["sqlite", "postgresql"])
def app_without_database(request: pytest.FixtureRequest, tmp_path: Path) -> Flask:
    url = unreachable_database(request.param, tmp_path)
    # As in production: errors become pages, they do not propagate to the test.
    return create_app({**BASE_TEST_CONFIG, **CLINIC, "SQLALCHEMY_DATABASE_URI": url,
                       "TESTING": False})


@pytest.mark.parametrize("path", PAGES)
def test_pages_say_briefly_unavailable_with_the_clinics_phone(app_without_database, path):
    response = app_without_database.test_client().get(path)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "We are briefly unavailable" in html
    assert "Please try again in a few minutes." in html
    assert CLINIC["CLINIC_NAME"] in html and CLINIC["CLINIC_PHONE"] in html
    assert "/static/css/site.css" in html  # the site's own look, not a bare error


def test_a_form_post_gets_the_same_page(app_without_database):
    response = app_without_database.test_client().post(
        "/returning/", data={"email": "someone@example.org"}
    )

    assert response.status_code == 503
    assert "We are briefly unavailable" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", API)
def test_the_api_answers_503_in_its_error_shape(app_without_database, path):
    response = app_without_database.test_client().get(path)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert response.get_json() == {"error": "we are briefly unavailable", "status": 503}

"""The site answers: home page, health check, error pages."""

from __future__ import annotations

import pytest

from booking import create_app
from booking.config import from_environment
from tests.helpers import BASE_TEST_CONFIG


def test_home_page_shows_the_clinic_and_the_emergency_notice(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Riverside Back Pain Clinic" in page
    assert "call 911" in page
    assert "numbness between your legs" in page
    assert "4 to 6" in page  # how many sessions to expect
    assert '<meta name="viewport"' in page


def test_healthz_checks_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database(tmp_path):
    app = create_app(
        {**BASE_TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/db.sqlite3"}
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"


def test_unknown_page_gets_the_sites_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "We could not find that page" in page
    assert "Riverside Back Pain Clinic" in page


def test_api_errors_are_json(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.is_json


@pytest.mark.parametrize(
    ("method", "path", "allowed", "json"),
    [
        ("GET", "/staff/admin/closures/1/remove", {"POST", "OPTIONS"}, False),
        ("DELETE", "/", {"GET", "HEAD", "OPTIONS"}, False),
        ("GET", "/api/v1/holds", {"POST", "OPTIONS"}, True),
        ("PUT", "/api/v1/services", {"GET", "HEAD", "OPTIONS"}, True),
    ],
)
def test_a_405_keeps_its_allow_header(client, method, path, allowed, json):
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert set(response.headers.get("Allow", "").split(", ")) == allowed
    assert response.is_json == json
    if not json:
        assert "That action is not allowed here" in response.get_data(as_text=True)


@pytest.mark.parametrize("code", [400, 403, 404, 409, 429, 500])
def test_error_pages_in_the_sites_style(make_app, code):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get(f"/fail-{code}")
    def fail():
        if code == 500:
            raise RuntimeError("boom")
        from flask import abort

        abort(code)

    response = app.test_client().get(f"/fail-{code}")
    assert response.status_code == code
    page = response.get_data(as_text=True)
    assert f"Error {code}" in page
    assert "boom" not in page  # no stack traces or internals shown


def test_staff_pages_need_a_login(client):
    response = client.get("/staff/")
    assert response.status_code in (302, 401)


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        from_environment()


@pytest.mark.parametrize(
    "given, expected",
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.sqlite3", "sqlite:////tmp/x.sqlite3"),
    ],
)
def test_database_url_from_the_environment(monkeypatch, given, expected):
    monkeypatch.setenv("DATABASE_URL", given)
    assert from_environment()["SQLALCHEMY_DATABASE_URI"] == expected


def test_session_cookies_are_secure_in_production(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("SECURITY_PASSWORD_SALT", "y" * 32)
    config = from_environment()
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"

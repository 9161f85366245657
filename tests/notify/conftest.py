"""Fixtures for the outbox: a real SMTP server and an app that sends to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.smtp import SENDER, SMTPServer


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(make_app, smtp_server: SMTPServer) -> Flask:
    """An app on the test database whose mail really goes to `smtp_server`."""
    return make_app(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp_server.port,
        MAIL_SUPPRESS_SEND=False,
        MAIL_DEFAULT_SENDER=SENDER,
    )


@pytest.fixture
def mail_ctx(mail_app: Flask) -> Iterator[Flask]:
    """An application context of `mail_app`, for tests that work with the database directly."""
    with mail_app.app_context():
        yield mail_app

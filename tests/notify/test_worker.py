"""The outbox worker as operations see it: a silent SMTP server, SIGTERM, its log lines, and a
database that is not there. Real processes (`flask outbox work`), real sockets, both engines."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from booking.db import now_utc
from booking.extensions import db
from booking.notify.models import OutboxMessage, OutboxStatus
from booking.notify.outbox import LEASE, SendReport, enqueue, send_due
from tests.servers import ROOT, app_environment, free_port
from tests.smtp import HOST, SENDER, SMTPServer

PATIENT = "worker.patient@example.com"
SUBJECT = "Your visit on Tuesday"
BODY = "Dear Wanda, see you soon."
# Long enough that only SIGTERM, not the timeout, can end a send within the test's patience.
LONG_MAIL_TIMEOUT = "600"
PATIENCE = 30  # seconds a process gets to do what it must; a hang fails instead of blocking


class SilentSMTPServer:
    """Accepts connections and never says a word, like a wedged mail relay."""

    def __init__(self) -> None:
        self.listener = socket.create_server((HOST, 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = threading.Event()
        self.connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed
                return
            self.connections.append(connection)
            self.accepted.set()

    def close(self) -> None:
        self.listener.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def silent_smtp() -> Iterator[SilentSMTPServer]:
    server = SilentSMTPServer()
    yield server
    server.close()


def queue(app: Flask, count: int = 1) -> list[int]:
    """Queue `count` emails due now and commit; return their ids."""
    with app.app_context():
        rows = [
            enqueue(dedupe_key=f"worker-{n}", kind="confirmation", recipient=PATIENT,
                    subject=SUBJECT, text_body=BODY)
            for n in range(count)
        ]
        db.session.commit()
        return [row.id for row in rows]


def rows(app: Flask) -> list[OutboxMessage]:
    with app.app_context():
        found = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        db.session.expunge_all()
        return list(found)


def start_worker(database_url: str, log_path: Path, **env: str) -> subprocess.Popen:
    """`flask outbox work` as its own process, its output (stdout and stderr) in `log_path`."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "outbox", "work", "--poll", "0.2"],
            cwd=ROOT, env=app_environment(database_url, **env), stdout=log,
            stderr=subprocess.STDOUT,
        )


def mail_env(port: int, timeout: str = "10") -> dict[str, str]:
    return {
        "MAIL_SERVER": HOST, "MAIL_PORT": str(port), "MAIL_SUPPRESS_SEND": "false",
        "MAIL_DEFAULT_SENDER": SENDER, "MAIL_TIMEOUT": timeout,
    }


def wait_for(condition: Callable[[], bool], what: str, process: subprocess.Popen | None = None,
             log_path: Path | None = None) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if process is not None and process.poll() is not None:
            pytest.fail(f"the worker exited ({process.returncode}) before {what}:\n"
                        f"{log_path.read_text() if log_path else ''}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {PATIENCE} s")
        time.sleep(0.05)


def stop(process: subprocess.Popen) -> int:
    """SIGTERM; the exit code, or a failure if the worker does not exit."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(PATIENCE)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail("the worker ignored SIGTERM")


# --- a silent SMTP server -------------------------------------------------------------------


def test_a_silent_smtp_server_times_out_and_the_message_is_retried(make_app, silent_smtp):
    app = make_app(MAIL_SERVER=HOST, MAIL_PORT=silent_smtp.port, MAIL_SUPPRESS_SEND=False,
                   MAIL_DEFAULT_SENDER=SENDER, MAIL_TIMEOUT=0.5)
    queue(app)
    now = now_utc()
    reports: list[SendReport] = []

    def one_pass() -> None:
        with app.app_context():
            reports.append(send_due(now))

    sender = threading.Thread(target=one_pass, daemon=True)  # a hang must fail, not block
    sender.start()
    sender.join(PATIENCE)

    assert reports == [SendReport(failed=1)], "the send did not time out"
    (row,) = rows(app)
    assert silent_smtp.accepted.is_set()
    assert row.status is OutboxStatus.PENDING
    assert row.attempts == 1
    assert "timed out" in row.last_error
    assert row.next_attempt_at == now + timedelta(minutes=1)


@pytest.mark.slow
def test_sigterm_stops_a_worker_stuck_on_a_silent_smtp_server_and_hands_its_batch_back(
    make_app, database_url, silent_smtp, tmp_path
):
    app = make_app()
    ids = queue(app, count=3)
    log_path = tmp_path / "worker.log"
    worker = start_worker(database_url, log_path, **mail_env(silent_smtp.port, LONG_MAIL_TIMEOUT))
    try:
        wait_for(silent_smtp.accepted.is_set, "SMTP connection", worker, log_path)
        claimed_at = now_utc()
    finally:
        code = stop(worker)

    assert code == 0, log_path.read_text()
    assert "Outbox worker stopped." in log_path.read_text()
    handed_back = rows(app)
    assert [row.id for row in handed_back] == ids
    for row in handed_back:
        # Not sent, no attempt counted, and due again now rather than when the lease ends.
        assert row.status is OutboxStatus.PENDING
        assert row.attempts == 0
        assert row.next_attempt_at < claimed_at + LEASE - timedelta(minutes=1)

    # The next worker sends them.
    smtp = SMTPServer()
    smtp.start()
    try:
        mail_app = make_app(MAIL_SERVER=HOST, MAIL_PORT=smtp.port, MAIL_SUPPRESS_SEND=False,
                            MAIL_DEFAULT_SENDER=SENDER)
        with mail_app.app_context():
            assert send_due() == SendReport(sent=3)
        assert len(smtp.messages) == 3
    finally:
        smtp.stop()


# --- what the worker logs -------------------------------------------------------------------


@pytest.mark.slow
def test_the_worker_logs_each_pass_at_info_with_counts_only(make_app, database_url, tmp_path):
    app = make_app()
    queue(app, count=2)
    smtp = SMTPServer()
    smtp.start()
    log_path = tmp_path / "worker.log"
    worker = start_worker(database_url, log_path, **mail_env(smtp.port))
    try:
        wait_for(lambda: "outbox pass: sent 2" in log_path.read_text(), "pass line", worker,
                 log_path)
    finally:
        code = stop(worker)
        smtp.stop()

    log = log_path.read_text()
    assert code == 0, log
    assert "INFO" in log and "outbox pass: sent 2, failed 0, dead 0, skipped 0" in log
    assert len(smtp.messages) == 2
    for detail in (PATIENT, "worker.patient", SUBJECT, "Wanda"):
        assert detail not in log


# --- no database ----------------------------------------------------------------------------


def unreachable_database(engine: str, tmp_path: Path) -> str:
    if engine == "sqlite":
        return f"sqlite:///{tmp_path / 'no-such-folder' / 'booking.sqlite3'}"
    return f"postgresql://postgres@{HOST}:{free_port()}/test"  # nothing listens there


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_worker_without_its_database_gives_up_with_a_clear_line(engine, tmp_path):
    log_path = tmp_path / "worker.log"
    worker = start_worker(unreachable_database(engine, tmp_path), log_path,
                          OUTBOX_DB_FAILURE_LIMIT="3")
    try:
        code = worker.wait(PATIENCE)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
        pytest.fail(f"the worker kept retrying:\n{log_path.read_text()}")

    log = log_path.read_text()
    assert code != 0, log
    assert log.count("outbox pass failed (OperationalError)") == 2, log
    assert "next try in 1s" in log and "next try in 2s" in log  # backing off
    assert "outbox worker giving up: 3 passes in a row failed (OperationalError); " \
           "check DATABASE_URL" in log, log

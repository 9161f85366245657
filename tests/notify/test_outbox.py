"""The outbox against a real SMTP server (aiosmtpd) on SQLite and PostgreSQL: nothing is lost,
nothing goes out twice."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import Flask
from icalendar import Calendar
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from booking.db import now_utc
from booking.extensions import db
from booking.notify import outbox
from booking.notify.ics import CalendarEvent, Method, appointment_uid, event_calendar
from booking.notify.models import OutboxMessage, OutboxStatus
from booking.notify.outbox import (
    SendReport,
    enqueue,
    register_refresh,
    register_still_applies,
    send_due,
)
from tests.smtp import SENDER, SMTPServer

ROOT = Path(__file__).resolve().parents[2]
PATIENT = "pat.ient@example.com"
SUBJECT = "Your first visit is booked"
TEXT = "See you on Monday at 9:00."
HTML = "<p>See you on <strong>Monday</strong> at 9:00.</p>"


def queue(key: str = "appointment:1:confirmed:0", **fields) -> OutboxMessage | None:
    """Enqueue a believable confirmation; fields override the defaults."""
    values = dict(
        dedupe_key=key,
        kind="confirmation",
        recipient=PATIENT,
        subject=SUBJECT,
        text_body=TEXT,
        html_body=HTML,
    )
    values.update(fields)
    return enqueue(**values)


def queue_committed(count: int = 1, **fields) -> datetime:
    """Queue `count` messages, commit them, and return a moment at which they are all due."""
    for n in range(count):
        subject = f"Message {n}" if count > 1 else SUBJECT
        queue(f"test:{n}", **{"subject": subject, **fields})
    db.session.commit()
    return now_utc()


def only_row() -> OutboxMessage:
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage)).one()


def received_once(server: SMTPServer) -> EmailMessage:
    assert len(server.messages) == 1
    return server.messages[0]


@pytest.fixture
def no_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start each test with empty still-applies and refresh registries; restore the real ones."""
    monkeypatch.setattr(outbox, "_still_applies", {})
    monkeypatch.setattr(outbox, "_refresh", {})


# --- what arrives ---------------------------------------------------------------------------


def test_sent_message_arrives_with_headers_and_both_parts(mail_ctx, smtp_server):
    now = queue_committed()

    assert send_due(now) == SendReport(sent=1)

    received = received_once(smtp_server)
    assert received["From"] == SENDER
    assert received["To"] == PATIENT
    assert received["Subject"] == SUBJECT
    assert received.get_body(("plain",)).get_content().strip() == TEXT
    assert received.get_body(("html",)).get_content().strip() == HTML
    row = only_row()
    assert row.status is OutboxStatus.SENT
    assert row.sent_at == now
    assert row.attempts == 0
    assert row.last_error is None


def test_ics_attachment_arrives_as_a_calendar_request(mail_ctx, smtp_server):
    start = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    invite = CalendarEvent(
        uid=appointment_uid(7, "clinic.example"),
        sequence=0,
        start=start,
        end=start + timedelta(hours=1),
        zone="America/New_York",
        summary="First visit",
        location="12 Riverside Avenue",
        organizer_email="clinic@example.com",
        attendee_email=PATIENT,
    )
    now = queue_committed(ics=event_calendar(invite, Method.REQUEST).decode())

    send_due(now)

    received = received_once(smtp_server)
    [attachment] = list(received.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "REQUEST"
    assert attachment.get_content_charset() == "utf-8"
    assert attachment.get_filename() == "invite.ics"
    calendar = Calendar.from_ical(attachment.get_content())
    assert calendar["METHOD"] == "REQUEST"
    [event] = calendar.events
    assert str(event["UID"]) == "appointment-7@clinic.example"
    assert event.start == start
    assert received.get_body(("plain",)).get_content().strip() == TEXT


def test_content_type_names_the_method_of_the_ics():
    cancel = "BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\nEND:VCALENDAR\r\n"
    assert outbox.ics_content_type(cancel) == "text/calendar; method=CANCEL; charset=utf-8"
    assert outbox.ics_content_type("BEGIN:VCALENDAR\r\n") == "text/calendar; charset=utf-8"


# --- queueing once --------------------------------------------------------------------------


def test_duplicate_key_is_queued_once_and_the_transaction_stays_usable(mail_ctx):
    first = queue()
    assert first is not None and first.id is not None  # flushed, not committed

    assert queue() is None
    # The caller carries on in the same transaction and commits its own work.
    queue("appointment:1:reminder:0", kind="reminder")
    db.session.commit()

    keys = db.session.scalars(select(OutboxMessage.dedupe_key).order_by(OutboxMessage.id)).all()
    assert keys == ["appointment:1:confirmed:0", "appointment:1:reminder:0"]
    assert queue() is None  # and in a later transaction too
    db.session.rollback()


def test_enqueue_does_not_commit(mail_ctx):
    queue()
    db.session.rollback()
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0


def test_other_integrity_errors_are_not_swallowed(mail_ctx):
    queue("kept")
    with pytest.raises(IntegrityError):
        queue("no-such-appointment", appointment_id=999_999)
    db.session.commit()  # the savepoint kept the caller's earlier row
    assert only_row().dedupe_key == "kept"


# SQLite's BEGIN IMMEDIATE lets only one writer in, so only PostgreSQL can race.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_racing_enqueues_of_one_key_queue_it_once(mail_app, database_url):
    """The loser of a race meets the unique key inside its savepoint and carries on."""
    first_inserted = threading.Event()
    results: dict[str, object] = {}

    def winner() -> None:
        with mail_app.app_context():
            results["winner"] = queue("race")
            first_inserted.set()
            time.sleep(0.5)  # the loser is now blocked on the unique index
            db.session.commit()

    def loser() -> None:
        with mail_app.app_context():
            first_inserted.wait(5)
            results["loser"] = queue("race")
            queue("loser-own-work")
            db.session.commit()

    errors: list[str] = []

    def record(context) -> None:
        errors.append(type(context.original_exception).__name__)

    with mail_app.app_context():
        engine = db.engine
    event.listen(engine, "handle_error", record)
    threads = [threading.Thread(target=winner), threading.Thread(target=loser)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(15)
    finally:
        event.remove(engine, "handle_error", record)
    assert results["winner"] is not None
    assert results["loser"] is None
    assert errors == ["UniqueViolation"]  # the race really happened, inside the savepoint
    with mail_app.app_context():
        keys = set(db.session.scalars(select(OutboxMessage.dedupe_key)))
    assert keys == {"race", "loser-own-work"}


# --- timing ---------------------------------------------------------------------------------


def test_messages_not_yet_due_are_not_sent(mail_ctx, smtp_server):
    later = now_utc() + timedelta(hours=1)
    queue(send_after=later)
    db.session.commit()

    assert send_due(later - timedelta(seconds=1)) == SendReport()
    assert smtp_server.messages == []
    assert send_due(later) == SendReport(sent=1)
    assert len(smtp_server.messages) == 1


def test_backoff_doubles_from_one_minute_up_to_an_hour():
    minutes = [outbox.retry_delay(n) / timedelta(minutes=1) for n in range(1, 10)]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert outbox.retry_delay(10_000) == timedelta(hours=1)


# --- SMTP down ------------------------------------------------------------------------------


def test_smtp_down_then_up_delivers_exactly_once(mail_ctx, smtp_server):
    now = queue_committed()
    smtp_server.stop()

    assert send_due(now) == SendReport(failed=1)

    row = only_row()
    assert row.status is OutboxStatus.PENDING
    assert row.attempts == 1
    assert row.next_attempt_at == now + timedelta(minutes=1)
    assert row.last_error.startswith("ConnectionRefusedError")
    smtp_server.start()  # same port
    assert send_due(now + timedelta(seconds=59)) == SendReport()  # still backing off
    assert smtp_server.messages == []

    assert send_due(now + timedelta(minutes=1)) == SendReport(sent=1)
    assert send_due(now + timedelta(hours=3)) == SendReport()
    assert received_once(smtp_server)["Subject"] == SUBJECT
    row = only_row()
    assert row.status is OutboxStatus.SENT
    assert row.attempts == 1


def test_message_is_dead_after_the_default_eight_attempts(mail_ctx, smtp_server):
    moment = queue_committed()
    smtp_server.stop()
    reports = []
    for _ in range(8):
        reports.append(send_due(moment))
        moment += timedelta(hours=2)

    assert reports == [SendReport(failed=1)] * 7 + [SendReport(dead=1)]
    row = only_row()
    assert row.status is OutboxStatus.DEAD
    assert row.attempts == 8
    smtp_server.start()
    assert send_due(moment + timedelta(days=1)) == SendReport()
    assert smtp_server.messages == []


def test_max_attempts_comes_from_config(make_app, smtp_server):
    smtp_server.stop()
    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, MAIL_SUPPRESS_SEND=False,
                   OUTBOX_MAX_ATTEMPTS=2)
    with app.app_context():
        now = queue_committed()
        assert send_due(now) == SendReport(failed=1)
        assert send_due(now + timedelta(minutes=1)) == SendReport(dead=1)
        assert only_row().last_error.startswith("ConnectionRefusedError")


def test_a_claimed_message_waits_for_its_lease_when_the_worker_dies(mail_ctx, smtp_server):
    now = queue_committed()
    outbox._claim_due(now, batch=50)  # a worker claims it and dies before sending

    assert send_due(now + outbox.LEASE - timedelta(seconds=1)) == SendReport()
    assert send_due(now + outbox.LEASE) == SendReport(sent=1)
    assert len(smtp_server.messages) == 1


# --- still applies? -------------------------------------------------------------------------


def test_message_that_no_longer_applies_is_not_sent(mail_ctx, smtp_server, no_checks):
    seen: list[tuple[int, str]] = []

    def cancelled(message: OutboxMessage) -> bool:
        seen.append((message.id, message.kind))
        return False

    register_still_applies("reminder", cancelled)
    reminder = queue("appointment:1:reminder:0", kind="reminder")
    queue("appointment:1:confirmed:0", kind="confirmation")
    db.session.commit()
    reminder_id = reminder.id

    assert send_due(now_utc()) == SendReport(sent=1, skipped=1)

    assert seen == [(reminder_id, "reminder")]
    assert [m["Subject"] for m in smtp_server.messages] == [SUBJECT]
    dead = db.session.get(OutboxMessage, reminder_id, populate_existing=True)
    assert dead.status is OutboxStatus.DEAD
    assert dead.last_error == "no longer applies"
    assert dead.sent_at is None


def test_message_that_still_applies_is_sent(mail_ctx, smtp_server, no_checks):
    register_still_applies("reminder", lambda message: True)
    now = queue_committed(kind="reminder")
    assert send_due(now) == SendReport(sent=1)
    assert len(smtp_server.messages) == 1


def test_a_failing_check_counts_as_a_failed_attempt(mail_ctx, smtp_server, no_checks):
    def broken(message: OutboxMessage) -> bool:
        raise LookupError("appointment gone")

    register_still_applies("reminder", broken)
    now = queue_committed(kind="reminder")

    assert send_due(now) == SendReport(failed=1)
    assert smtp_server.messages == []
    assert only_row().last_error == "LookupError: appointment gone"


def test_a_refresh_rewrites_the_message_right_before_it_is_sent(mail_ctx, smtp_server, no_checks):
    seen: list[str] = []

    def refresh(message: OutboxMessage) -> None:
        seen.append(message.kind)
        message.subject = "Written at sending"
        message.text_body = "What we know now."
        message.html_body = None

    register_still_applies("after_care", lambda message: True)
    register_refresh("after_care", refresh)
    queue("appointment:1:after-care:0", kind="after_care", subject="Queued at booking")
    queue("appointment:1:confirmed:0")  # other kinds are sent as queued
    db.session.commit()
    now = now_utc()

    assert send_due(now) == SendReport(sent=2)
    assert seen == ["after_care"]
    by_subject = {m["Subject"]: m for m in smtp_server.messages}
    assert set(by_subject) == {"Written at sending", SUBJECT}
    assert by_subject["Written at sending"].get_body(("plain",)).get_content().strip() == (
        "What we know now."
    )
    db.session.expire_all()
    rewritten = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.kind == "after_care")
    )
    assert (rewritten.subject, rewritten.status) == ("Written at sending", OutboxStatus.SENT)


def test_no_refresh_for_a_message_that_no_longer_applies(mail_ctx, smtp_server, no_checks):
    seen: list[int] = []
    register_still_applies("after_care", lambda message: False)
    register_refresh("after_care", lambda message: seen.append(message.id))
    now = queue_committed(kind="after_care")

    assert send_due(now) == SendReport(skipped=1)
    assert seen == []
    assert smtp_server.messages == []


def test_a_failing_refresh_counts_as_a_failed_attempt(mail_ctx, smtp_server, no_checks):
    def broken(message: OutboxMessage) -> None:
        message.subject = "half written"
        raise LookupError("outcome unreadable")

    register_refresh("after_care", broken)
    now = queue_committed(kind="after_care")

    assert send_due(now) == SendReport(failed=1)
    assert smtp_server.messages == []
    row = only_row()
    assert row.last_error == "LookupError: outcome unreadable"
    assert row.subject == SUBJECT  # the half-written body was rolled back
    assert row.status is OutboxStatus.PENDING


# --- several workers ------------------------------------------------------------------------


def run_workers(app: Flask, count: int, passes: Callable[[], None]) -> list[BaseException]:
    """Run `passes` in `count` threads, each with its own app context and session."""
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def worker() -> None:
        with app.app_context():
            try:
                start.wait(10)
                passes()
            except BaseException as error:  # reported to the test below
                errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return errors


def test_concurrent_workers_send_every_message_exactly_once(mail_app, smtp_server):
    with mail_app.app_context():
        queue_committed(40)
    sent_by: Counter[int] = Counter()

    def drain() -> None:
        while (report := send_due(batch=3)).total:
            sent_by[threading.get_ident()] += report.sent

    assert run_workers(mail_app, 3, drain) == []

    subjects = Counter(m["Subject"] for m in smtp_server.messages)
    message_ids = Counter(m["Message-ID"] for m in smtp_server.messages)
    assert subjects == Counter({f"Message {n}": 1 for n in range(40)})
    assert set(message_ids.values()) == {1}
    assert sum(sent_by.values()) == 40
    with mail_app.app_context():
        statuses = db.session.scalars(select(OutboxMessage.status)).all()
    assert statuses == [OutboxStatus.SENT] * 40


def worker_process(database_url: str, smtp_port: int) -> subprocess.Popen:
    """Start `flask outbox work` as its own process on the test database."""
    env = {
        **os.environ,
        "APP_ENV": "testing",
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "MAIL_SUPPRESS_SEND": "false",
        "MAIL_DEFAULT_SENDER": SENDER,
        "RATELIMIT_ENABLED": "false",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "outbox", "work", "--poll", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.slow
def test_two_worker_processes_send_each_message_once_and_stop_on_sigterm(
    mail_app, smtp_server, database_url
):
    workers = [worker_process(database_url, smtp_server.port) for _ in range(2)]
    try:
        with mail_app.app_context():
            queue_committed(40)
        delivered = wait_until(lambda: len(smtp_server.messages) >= 40, seconds=60)
        time.sleep(1)  # a few more polls: nothing further may arrive
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        outputs = [worker.communicate(timeout=30)[0].decode() for worker in workers]

    assert delivered, outputs
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    assert all("Outbox worker stopped." in output for output in outputs), outputs
    subjects = Counter(m["Subject"] for m in smtp_server.messages)
    assert subjects == Counter({f"Message {n}": 1 for n in range(40)})


def test_work_loop_stops_when_asked(mail_ctx, smtp_server):
    queue_committed()
    deadline = time.monotonic() + 20

    outbox.work(
        poll_seconds=0.05,
        stop=lambda: bool(smtp_server.messages) or time.monotonic() > deadline,
    )

    assert len(smtp_server.messages) == 1


# --- the command, the console, the logs -----------------------------------------------------


def test_send_due_command_sends_and_prints_the_counts(mail_app, smtp_server):
    with mail_app.app_context():
        queue_committed()

    result = mail_app.test_cli_runner().invoke(args=["outbox", "send-due"])

    assert result.exit_code == 0, result.output
    assert "sent 1, failed 0, dead 0, skipped 0" in result.output
    assert len(smtp_server.messages) == 1


def test_development_prints_suppressed_mail_to_the_console(make_app, smtp_server, capsys):
    app = make_app(APP_ENV="development", MAIL_SUPPRESS_SEND=True,
                   MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    with app.app_context():
        now = queue_committed()
        assert send_due(now) == SendReport(sent=1)
        assert only_row().status is OutboxStatus.SENT

    printed = capsys.readouterr().out
    assert f"To: {PATIENT}" in printed
    assert f"Subject: {SUBJECT}" in printed
    assert TEXT in printed
    assert smtp_server.messages == []


def test_logs_name_id_and_kind_but_no_patient_detail(mail_ctx, smtp_server, caplog, monkeypatch):
    # Alembic's fileConfig (run by the migrating fixtures) disables loggers that already exist.
    monkeypatch.setattr(logging.getLogger("booking.notify.outbox"), "disabled", False)
    caplog.set_level(logging.DEBUG, logger="booking.notify.outbox")
    now = queue_committed()
    smtp_server.stop()
    send_due(now)
    smtp_server.start()
    send_due(now + timedelta(hours=1))

    logged = "\n".join(record.getMessage() for record in caplog.records)
    row = only_row()
    assert f"outbox message {row.id} (confirmation)" in logged
    for detail in (PATIENT, SUBJECT, TEXT, "Monday"):
        assert detail not in logged

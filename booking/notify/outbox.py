"""The outbox: queue an email in the caller's transaction; a worker sends it after the commit.

Rows are claimed with a lease (``next_attempt_at`` pushed into the future and committed), so
no database lock is held during SMTP I/O and several workers can run side by side: on
PostgreSQL the claim uses ``FOR UPDATE SKIP LOCKED``; on SQLite every write transaction is
``BEGIN IMMEDIATE`` (booking/db.py), so one worker claims at a time. A worker that dies
mid-send leaves the row pending; it is retried when the lease runs out.

Right before sending, the worker runs the kind's still-applies check (a message that no longer
applies is not sent) and then the kind's refresh hook, which may rewrite the subject and bodies
from what is known now (after-care: whether needles were used at the visit). Both run in the
transaction that holds the claimed row, so a refreshed body is committed with the row and a
retry refreshes it again; the row itself, its key and its single sending are unchanged.
"""

from __future__ import annotations

import logging
import re
import signal
import smtplib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

import click
from flask import current_app
from flask_mail import Connection, Message
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from booking.db import now_utc
from booking.extensions import db
from booking.notify.models import OutboxMessage, OutboxStatus

logger = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=1)
NO_LONGER_APPLIES = "no longer applies"
ICS_FILENAME = "invite.ics"
_METHOD_LINE = re.compile(r"^METHOD:([A-Za-z-]+)\s*$", re.MULTILINE)
_ERROR_LENGTH = 200
WORKER_BATCH = 50
_SLEEP_STEP = 0.2
DEFAULT_MAIL_TIMEOUT = 10.0
DEFAULT_DB_FAILURE_LIMIT = 10
FIRST_DB_BACKOFF = 1.0
LONGEST_DB_BACKOFF = 60.0

StillApplies = Callable[[OutboxMessage], bool]
Refresh = Callable[[OutboxMessage], None]
_still_applies: dict[str, StillApplies] = {}
_refresh: dict[str, Refresh] = {}


@dataclass(frozen=True)
class SendReport:
    """What one pass did: sent; failed (will retry); dead (gave up); skipped (not sent)."""

    sent: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        """Return how many claimed messages the pass handled."""
        return self.sent + self.failed + self.dead + self.skipped


class _Outcome(Enum):
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class _Claim:
    """A message this worker holds until ``lease_until``; the lease proves it is still ours."""

    id: int
    kind: str
    lease_until: datetime


# --- queueing -------------------------------------------------------------------------------


def enqueue(
    *,
    dedupe_key: str,
    kind: str,
    recipient: str,
    subject: str,
    text_body: str,
    html_body: str | None = None,
    ics: str | bytes | None = None,
    appointment_id: int | None = None,
    send_after: datetime | None = None,
) -> OutboxMessage | None:
    """Queue an email in the caller's transaction (flush, no commit); None if the key exists."""
    if _key_exists(dedupe_key):
        return None
    message = OutboxMessage(
        dedupe_key=dedupe_key,
        kind=kind,
        recipient=recipient,
        subject=subject,
        text_body=text_body,
        html_body=html_body,
        ics=ics.decode("utf-8") if isinstance(ics, bytes) else ics,
        appointment_id=appointment_id,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=send_after or now_utc(),
    )
    try:
        # A savepoint, so that losing a race for the key leaves the caller's transaction usable.
        with db.session.begin_nested():
            db.session.add(message)
    except IntegrityError:
        if _key_exists(dedupe_key):
            return None
        raise  # some other constraint (e.g. an unknown appointment): the caller's bug
    return message


def _key_exists(dedupe_key: str) -> bool:
    """Return whether a message with this dedupe key is queued (autoflushes the caller's rows)."""
    found = db.session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
    )
    return found is not None


def register_still_applies(kind: str, check: StillApplies) -> None:
    """Register the check the worker runs right before sending a message of this kind."""
    _still_applies[kind] = check


def register_refresh(kind: str, refresh: Refresh) -> None:
    """Register the hook the worker runs right before sending a message of this kind, after
    its still-applies check: it may rewrite the row's subject, bodies and .ics from what is
    known at sending time. A hook that raises counts as a failed attempt (retried later).
    """
    _refresh[kind] = refresh


def retry_delay(attempts: int) -> timedelta:
    """Return the wait after the given number of failed attempts: 1, 2, 4 ... 60 minutes."""
    if attempts < 1:
        return FIRST_RETRY
    # Capping the exponent first keeps a huge attempt count from overflowing timedelta.
    return min(FIRST_RETRY * 2 ** min(attempts - 1, 10), LONGEST_RETRY)


# --- sending --------------------------------------------------------------------------------


def send_due(
    now: datetime | None = None, batch: int = 50, stop: StopFlag | None = None
) -> SendReport:
    """Send up to `batch` due messages once; commits, so call it outside a request.

    When `stop` is raised mid-batch (SIGTERM), the messages not sent yet are handed back at
    once (due now, no attempt counted) instead of waiting out their lease.
    """
    now = now or now_utc()
    stop = stop or StopFlag()
    claims = _claim_due(now, batch)
    counts = dict.fromkeys(_Outcome, 0)
    for index, claim in enumerate(claims):
        try:
            if stop():
                raise SendInterrupted
            counts[_deliver(claim, now, stop)] += 1
        except SendInterrupted:
            _release(claims[index:])
            break
    return SendReport(
        sent=counts[_Outcome.SENT],
        failed=counts[_Outcome.FAILED],
        dead=counts[_Outcome.DEAD],
        skipped=counts[_Outcome.SKIPPED],
    )


def _claim_due(now: datetime, batch: int) -> list[_Claim]:
    """Lease up to `batch` due messages to this worker and commit, so no lock outlives it."""
    due = (
        select(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING)
        .where(OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    lease_until = now + LEASE
    with _transaction():
        rows = db.session.scalars(due).all()
        for row in rows:
            row.next_attempt_at = lease_until
        claims = [_Claim(row.id, row.kind, lease_until) for row in rows]
    return claims


def _deliver(claim: _Claim, now: datetime, stop: StopFlag) -> _Outcome:
    """Check, send and record one claimed message; SMTP runs outside any transaction."""
    try:
        email = _prepare(claim)
    except Exception as error:  # a broken check or refresh must not stop the other messages
        return _record_failure(claim, now, error)
    if isinstance(email, _Outcome):
        return email
    try:
        _send(email, stop)
    except SendInterrupted:
        raise
    except Exception as error:  # SMTP down, refused, timed out: retry later
        return _record_failure(claim, now, error)
    return _record_sent(claim, now)


def _release(claims: list[_Claim]) -> None:
    """Hand claimed messages back, due now and no attempt counted, for the next worker."""
    if not claims:
        return
    with _transaction():
        for claim in claims:
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == claim.id)
                .where(OutboxMessage.status == OutboxStatus.PENDING)
                .where(OutboxMessage.next_attempt_at == claim.lease_until)
                .values(next_attempt_at=now_utc())
            )
    logger.info("outbox worker stopping: %d claimed message(s) handed back", len(claims))


def _prepare(claim: _Claim) -> Message | _Outcome:
    """Return the email to send, or the outcome when the message is not ours or not wanted."""
    with _transaction():
        row = _still_ours(claim)
        if row is None:
            _log(claim, "lease lost, left to the other worker")
            return _Outcome.SKIPPED
        check = _still_applies.get(row.kind)
        if check is not None and not check(row):
            row.status = OutboxStatus.DEAD
            row.last_error = NO_LONGER_APPLIES
            _log(claim, "dead: no longer applies")
            return _Outcome.SKIPPED
        refresh = _refresh.get(row.kind)
        if refresh is not None:
            refresh(row)
        return build_email(row)


def _record_sent(claim: _Claim, now: datetime) -> _Outcome:
    """Mark the message sent."""
    with _transaction():
        row = _still_ours(claim)
        if row is None:
            # Sent, but the lease ran out and another worker owns the row now: say so loudly.
            logger.warning(
                "outbox message %s (%s) sent after its lease ran out", claim.id, claim.kind
            )
            return _Outcome.SENT
        row.status = OutboxStatus.SENT
        row.sent_at = now
        row.last_error = None
    _log(claim, "sent")
    return _Outcome.SENT


def _record_failure(claim: _Claim, now: datetime, error: Exception) -> _Outcome:
    """Count a failed attempt: retry after a backoff, or give up after the last attempt."""
    db.session.rollback()  # the failure may have come from inside a transaction
    with _transaction():
        row = _still_ours(claim)
        if row is None:
            return _Outcome.SKIPPED
        row.attempts += 1
        row.last_error = _describe(error)
        if row.attempts >= _max_attempts():
            row.status = OutboxStatus.DEAD
            outcome = _Outcome.DEAD
        else:
            row.next_attempt_at = now + retry_delay(row.attempts)
            outcome = _Outcome.FAILED
        attempts = row.attempts
    # The class name only: SMTP errors can quote addresses, and logs must hold no patient data.
    _log(claim, f"{outcome.value} after attempt {attempts} ({type(error).__name__})")
    return outcome


def _still_ours(claim: _Claim) -> OutboxMessage | None:
    """Return the row locked for this transaction if it is pending under our lease, else None."""
    return db.session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.id == claim.id)
        .where(OutboxMessage.status == OutboxStatus.PENDING)
        .where(OutboxMessage.next_attempt_at == claim.lease_until)
        .with_for_update()
    )


@contextmanager
def _transaction() -> Iterator[None]:
    """Run a short unit of work: commit on success, roll back on error."""
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def _max_attempts() -> int:
    """Return the configured number of attempts before a message is dead."""
    return int(current_app.config.get("OUTBOX_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))


def _describe(error: Exception) -> str:
    """Return the error's class and a short message for last_error (never the email body)."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}"[:_ERROR_LENGTH]


def _log(claim: _Claim, status: str) -> None:
    """Log id, kind and status only: subjects and bodies can carry health details."""
    logger.info("outbox message %s (%s): %s", claim.id, claim.kind, status)


# --- the email ------------------------------------------------------------------------------


def build_email(row: OutboxMessage) -> Message:
    """Return the Flask-Mail message for an outbox row, with its .ics attached when there is one."""
    email = Message(
        subject=row.subject,
        recipients=[row.recipient],
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        body=row.text_body,
        html=row.html_body,
    )
    if row.ics:
        email.attach(ICS_FILENAME, ics_content_type(row.ics), row.ics.encode("utf-8"))
    return email


def ics_content_type(ics: str) -> str:
    """Return the attachment's content type, naming the iTIP method that mail clients act on."""
    match = _METHOD_LINE.search(ics)
    if match is None:
        return "text/calendar; charset=utf-8"
    return f"text/calendar; method={match.group(1).upper()}; charset=utf-8"


def _send(email: Message, stop: StopFlag) -> None:
    """Hand the email to SMTP; in development with sending suppressed, show it instead.

    A stop request interrupts the SMTP conversation, from connecting to QUIT.
    """
    config = current_app.config
    if config.get("MAIL_SUPPRESS_SEND") and config.get("APP_ENV") == "development":
        _show_in_console(email)
    state = current_app.extensions["mail"]
    with stop.interruptible(), TimedConnection(state, _mail_timeout()) as connection:
        email.send(connection)


def _mail_timeout() -> float:
    return float(current_app.config.get("MAIL_TIMEOUT", DEFAULT_MAIL_TIMEOUT))


class TimedConnection(Connection):
    """Flask-Mail's SMTP connection with a timeout on connecting and on every reply.

    Flask-Mail 0.10 opens smtplib.SMTP without one, so a server that accepts and never
    answers would hold the worker for good.
    """

    def __init__(self, state, timeout: float) -> None:
        super().__init__(state)
        self.timeout = timeout

    def configure_host(self) -> smtplib.SMTP:
        smtp_class = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = smtp_class(self.mail.server, self.mail.port, timeout=self.timeout)
        host.set_debuglevel(int(self.mail.debug))
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        if self.host is None:
            return
        if exc_type is None:
            self.host.quit()
        else:
            self.host.close()  # after a failure QUIT could wait on the same silent server


def _show_in_console(email: Message) -> None:
    """Print what would have gone out, so a developer can read it (development only)."""
    click.echo(
        f"----- email (not sent: MAIL_SUPPRESS_SEND) -----\n"
        f"To: {', '.join(map(str, email.recipients))}\n"
        f"Subject: {email.subject}\n\n"
        f"{email.body}\n"
        f"-----------------------------------------------"
    )


# --- the worker -----------------------------------------------------------------------------


class SendInterrupted(Exception):
    """A stop request (SIGTERM) cut a send short; the batch's rest is handed back."""


class WorkerGaveUp(RuntimeError):
    """The database failed too many passes in a row: exit, so a supervisor notices."""


def work(poll_seconds: float = 5.0, stop: Callable[[], bool] | None = None) -> None:
    """Send due messages until SIGTERM/SIGINT or `stop()`; sleeps `poll_seconds` when idle.

    Raises WorkerGaveUp after OUTBOX_DB_FAILURE_LIMIT failed passes in a row.
    """
    stopping = StopFlag(stop)
    failures = _FailureCount(_db_failure_limit())
    with stopping.on_signals():
        logger.info("outbox worker started (poll every %gs)", poll_seconds)
        while not stopping():
            report = _pass_safely(stopping, failures)
            if failures.count:
                stopping.sleep(failures.backoff())
            # A full batch suggests more are due: go again at once instead of sleeping.
            elif report.total < WORKER_BATCH:
                stopping.sleep(poll_seconds)
        logger.info("outbox worker stopped")


def _pass_safely(stopping: StopFlag, failures: _FailureCount) -> SendReport:
    """Run one pass and log its counts; a failed pass is counted, and too many in a row end
    the worker."""
    try:
        report = send_due(batch=WORKER_BATCH, stop=stopping)
    except Exception as error:
        db.session.rollback()
        failures.add(error)
        return SendReport()
    failures.reset()
    _log_pass(report)
    return report


def _log_pass(report: SendReport) -> None:
    """Counts only: addresses, subjects and bodies never reach the log."""
    level = logging.INFO if report.total else logging.DEBUG
    logger.log(
        level,
        "outbox pass: sent %d, failed %d, dead %d, skipped %d",
        report.sent, report.failed, report.dead, report.skipped,
    )


def _db_failure_limit() -> int:
    return int(current_app.config.get("OUTBOX_DB_FAILURE_LIMIT", DEFAULT_DB_FAILURE_LIMIT))


class _FailureCount:
    """Passes failed in a row (the database down or missing), with the backoff between them."""

    def __init__(self, limit: int) -> None:
        self.limit = max(limit, 1)
        self.count = 0

    def add(self, error: Exception) -> None:
        """Count a failed pass; raise WorkerGaveUp when it is one too many."""
        self.count += 1
        # The class only: database errors can quote statements and values.
        name = type(error).__name__
        if self.count >= self.limit:
            logger.error(
                "outbox worker giving up: %d passes in a row failed (%s); check DATABASE_URL "
                "and that the database is up and migrated", self.count, name,
            )
            raise WorkerGaveUp(f"{self.count} passes in a row failed ({name})")
        logger.error(
            "outbox pass failed (%s), %d of %d in a row; next try in %gs",
            name, self.count, self.limit, self.backoff(),
        )

    def reset(self) -> None:
        self.count = 0

    def backoff(self) -> float:
        """Seconds before the next try: 1, 2, 4 ... 60."""
        return min(FIRST_DB_BACKOFF * 2 ** min(self.count - 1, 10), LONGEST_DB_BACKOFF)


class StopFlag:
    """Whether the worker should stop: a signal arrived or the caller's stop() says so.

    While a send is in flight (`interruptible`), a signal also interrupts it, so a silent SMTP
    server cannot hold the worker until the mail timeout runs out.
    """

    def __init__(self, stop: Callable[[], bool] | None = None) -> None:
        self._stop = stop
        self._signalled = False
        self._sending = False

    def __call__(self) -> bool:
        return self._signalled or (self._stop is not None and self._stop())

    def sleep(self, seconds: float) -> None:
        """Sleep in short steps so a stop request is honoured promptly."""
        deadline = time.monotonic() + seconds
        while not self() and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(_SLEEP_STEP, left))

    @contextmanager
    def interruptible(self) -> Iterator[None]:
        """Let a signal raise SendInterrupted inside this block (the SMTP conversation)."""
        self._sending = True
        try:
            yield
        finally:
            self._sending = False

    @contextmanager
    def on_signals(self) -> Iterator[None]:
        """Catch SIGTERM and SIGINT while the worker runs; restore the old handlers after."""
        previous = {}
        try:
            for number in (signal.SIGTERM, signal.SIGINT):
                previous[number] = signal.signal(number, self._on_signal)
        except ValueError:
            pass  # not the main thread: only stop() can end the loop
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def _on_signal(self, number: int, _frame: object) -> None:
        logger.info("outbox worker got signal %s; stopping", number)
        self._signalled = True
        if self._sending:
            # Mid-send: give the message up now; it is handed back and retried, not lost.
            raise SendInterrupted

"""`flask outbox work` and `flask outbox send-due`: the email worker."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import AppGroup

from booking.notify import outbox

outbox_cli = AppGroup("outbox", help="Send the queued emails.")


@outbox_cli.command("work")
@click.option(
    "--poll",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds to wait between passes when nothing is due.",
)
def work_command(poll: float) -> None:
    """Send due emails until stopped with SIGTERM or Ctrl-C."""
    _log_at_info()
    click.echo(f"Outbox worker running (poll every {poll:g}s); Ctrl-C to stop.")
    try:
        outbox.work(poll_seconds=poll)
    except outbox.WorkerGaveUp as error:
        raise click.ClickException(f"Outbox worker gave up: {error}.") from error
    click.echo("Outbox worker stopped.")


def _log_at_info() -> None:
    """Show the app's INFO lines (each pass's counts) on stderr: Flask's logger stops at
    WARNING unless debugging, and adds its stderr handler when nothing else handles it."""
    logger = current_app.logger
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)


@outbox_cli.command("send-due")
@click.option(
    "--batch",
    default=50,
    show_default=True,
    type=click.IntRange(min=1),
    help="The most messages to send in this pass.",
)
def send_due_command(batch: int) -> None:
    """Send the emails that are due now, once, and print the counts."""
    report = outbox.send_due(batch=batch)
    click.echo(
        f"sent {report.sent}, failed {report.failed}, dead {report.dead}, "
        f"skipped {report.skipped}"
    )

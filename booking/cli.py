"""Flask commands: seed-demo, create-user."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from booking.accounts.models import RoleName
from booking.demo import seed_demo_clinic
from booking.extensions import db


def register(app: Flask) -> None:
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_user_command)
    from booking.notify.cli import outbox_cli

    app.cli.add_command(outbox_cli)


@click.command("seed-demo")
@with_appcontext
@click.option("--if-empty", is_flag=True, help="Do nothing when practitioners exist already.")
def seed_demo_command(if_empty: bool) -> None:
    """Create a believable demo clinic: practitioners, hours, services and a week of visits."""
    from booking.scheduling.models import Practitioner

    if if_empty and db.session.scalar(select(Practitioner.id).limit(1)) is not None:
        click.echo("The database already has a clinic; nothing seeded.")
        return
    summary = seed_demo_clinic()
    db.session.commit()
    click.echo(summary)


@click.command("create-user")
@with_appcontext
@click.argument("email")
@click.option("--name", default="", help="The person's name as staff see it.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([r.value for r in RoleName]),
    help="Role(s): admin, front_desk, practitioner. Repeat for several.",
)
@click.password_option(help="Password (asked for when not given).")
def create_user_command(email: str, name: str, roles: tuple[str, ...], password: str) -> None:
    """Create a staff account with one or more roles."""
    from booking.accounts.service import StaffUserError, create_staff_user

    try:
        user = create_staff_user(email, password, [RoleName(r) for r in roles], name=name)
    except StaffUserError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Created {user.email} with role(s): {', '.join(roles)}")

"""`flask seed-demo` and `flask create-user`."""

from __future__ import annotations

from datetime import timedelta

from flask_security import verify_password
from sqlalchemy import func, select

from booking.accounts.models import User
from booking.db import now_utc
from booking.extensions import db
from booking.scheduling.models import Appointment, Practitioner, Service, VisitKind
from tests.helpers import sign_in


def test_seed_demo_creates_a_believable_clinic(app, runner):
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        practitioners = db.session.scalars(select(Practitioner)).all()
        assert len(practitioners) == 3
        weekly_hours = {
            tuple((h.weekday, h.starts, h.ends) for h in p.hours)
            for p in practitioners
        }
        assert len(weekly_hours) == 3  # different hours each
        services = {s.slug: s for s in db.session.scalars(select(Service))}
        assert services["first-visit"].minutes == 60
        assert services["first-visit"].kind == VisitKind.FIRST_VISIT
        assert services["follow-up"].minutes == 30
        assert services["acupuncture"].minutes == 45
        visits = db.session.scalars(select(Appointment)).all()
        assert len(visits) >= 10
        now = now_utc()
        assert all(now < v.starts_at < now + timedelta(days=9) for v in visits)
        assert all(v.service in v.practitioner.services for v in visits)
        # Demo visits sit on the booking grid, as visits booked online would.
        assert all(v.starts_at.minute % 30 == 0 for v in visits)


def test_seed_demo_if_empty_leaves_an_existing_clinic_alone(app, runner):
    runner.invoke(args=["seed-demo", "--if-empty"])
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "nothing seeded" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Practitioner.id))) == 3


def test_create_user_makes_a_staff_account_that_can_sign_in(app, runner):
    result = runner.invoke(
        args=["create-user", "desk@example.com", "--role", "front_desk", "--password",
              "long-enough-password"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "desk@example.com"))
        assert user.has_role("front_desk")
        assert user.password != "long-enough-password"
        assert user.password.startswith("$argon2")
        assert verify_password("long-enough-password", user.password)
    client = sign_in(app.test_client(), "desk@example.com", "long-enough-password")
    assert client.get("/staff/").status_code == 200


def test_create_user_refuses_a_duplicate_and_a_short_password(runner):
    args = ["create-user", "a@example.com", "--role", "admin", "--password"]
    assert runner.invoke(args=[*args, "long-enough-password"]).exit_code == 0
    duplicate = runner.invoke(args=[*args, "another-long-password"])
    assert duplicate.exit_code != 0
    assert "already exists" in duplicate.output
    short = runner.invoke(
        args=["create-user", "b@example.com", "--role", "admin", "--password", "short"]
    )
    assert short.exit_code != 0

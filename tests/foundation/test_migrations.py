"""Migrations upgrade an empty database on both engines and match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from booking.extensions import db


def test_migrated_schema_has_every_table(app_ctx):
    tables = set(inspect(db.engine).get_table_names())
    assert {t.name for t in db.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables


def test_models_and_migrations_agree(app_ctx):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "target_metadata": db.metadata}
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == []

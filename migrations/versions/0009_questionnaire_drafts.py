"""questionnaire drafts; who entered an intake

A booked first visit's questionnaire (the patient's link, or the desk by phone) keeps its
answers in progress in `questionnaire_draft`, one row per appointment, never in the cookie.
`intake.entered_by_id` names the staff member who typed the answers, set at insert.

Intakes stay immutable (0003): PostgreSQL's trigger compares whole rows, so it covers the new
column as it is. On SQLite the batch operation rebuilds the intake table, which drops its
trigger; it is created again here with the new column in its list. The foreign key is RESTRICT
(staff accounts are deactivated, not deleted): a SET NULL would be an update the trigger refuses.

Revision ID: 0009_questionnaire_drafts
Revises: 0007_callback_attempts
Create Date: 2026-12-02 08:41:47.684953

"""
from alembic import op
import sqlalchemy as sa

import booking.db
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0009_questionnaire_drafts'
down_revision = '0007_callback_attempts'
branch_labels = None
depends_on = None

# Every column of intake except appointment_id, as of this revision (see 0003).
OTHER_COLUMNS = (
    "id",
    "patient_id",
    "kind",
    "questionnaire_version",
    "answers",
    "ruleset_version",
    "tier",
    "screening",
    "no_needling",
    "consent_version",
    "consent_name",
    "consent_at",
    "submitted_at",
    "entered_by_id",
)


def sqlite_trigger(columns):
    unchanged = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in columns)
    return f"""
CREATE TRIGGER intake_immutable BEFORE UPDATE ON intake
WHEN NOT (
    OLD.appointment_id IS NOT NULL AND NEW.appointment_id IS NULL
    AND {unchanged}
)
BEGIN
    SELECT RAISE(ABORT, 'intake_immutable: a stored intake cannot change');
END
"""


def sqlite_foreign_keys(on: bool) -> None:
    """SQLite rebuilds a table to alter it; with other tables' rows pointing at it, the old
    table can be dropped only with foreign keys off, which SQLite allows only between
    transactions. Alembic's autocommit block gives that moment."""
    with op.get_context().autocommit_block():
        op.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def upgrade():
    json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
    op.create_table('questionnaire_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('answers', json, nullable=False),
    sa.Column('done_steps', json, nullable=False),
    sa.Column('consent_name', sa.String(length=200), nullable=True),
    sa.Column('updated_at', booking.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_questionnaire_draft_appointment_id_appointment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questionnaire_draft')),
    sa.UniqueConstraint('appointment_id', name=op.f('uq_questionnaire_draft_appointment_id'))
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        sqlite_foreign_keys(False)
        op.execute("DROP TRIGGER IF EXISTS intake_immutable")
    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entered_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_intake_entered_by_id_user'), 'user', ['entered_by_id'], ['id'], ondelete='RESTRICT')
    if sqlite:
        op.execute(sqlite_trigger(OTHER_COLUMNS))
        sqlite_foreign_keys(True)


def downgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        sqlite_foreign_keys(False)
        op.execute("DROP TRIGGER IF EXISTS intake_immutable")
    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_intake_entered_by_id_user'), type_='foreignkey')
        batch_op.drop_column('entered_by_id')
    if sqlite:
        op.execute(sqlite_trigger(OTHER_COLUMNS[:-1]))
        sqlite_foreign_keys(True)

    op.drop_table('questionnaire_draft')

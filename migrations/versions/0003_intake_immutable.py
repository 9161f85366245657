"""stored intakes never change: the database refuses UPDATE of intake rows

The one update allowed is the one the database makes itself: the foreign key
intake.appointment_id is ON DELETE SET NULL, so deleting an appointment sets it to NULL.
The triggers therefore let through exactly "appointment_id becomes NULL, nothing else
changes", and refuse everything else (including relinking an intake to another appointment).
Deleting an intake is not refused (records retention and erasure requests need it).

Revision ID: 0003_intake_immutable
Revises: 0002_consent_callback_hold
Create Date: 2026-11-22 10:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0003_intake_immutable'
down_revision = '0002_consent_callback_hold'
branch_labels = None
depends_on = None

# Every column of intake except appointment_id, as of this revision. SQLite's trigger lists
# them; a later migration that adds a column to intake must recreate the SQLite trigger.
# (PostgreSQL compares whole rows, so it needs no list.)
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
)

SQLITE_UNCHANGED = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in OTHER_COLUMNS)
SQLITE_TRIGGER = f"""
CREATE TRIGGER intake_immutable BEFORE UPDATE ON intake
WHEN NOT (
    OLD.appointment_id IS NOT NULL AND NEW.appointment_id IS NULL
    AND {SQLITE_UNCHANGED}
)
BEGIN
    SELECT RAISE(ABORT, 'intake_immutable: a stored intake cannot change');
END
"""

POSTGRES_FUNCTION = """
CREATE FUNCTION intake_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Allowed: the database's own ON DELETE SET NULL of appointment_id, nothing else changed.
    IF OLD.appointment_id IS NOT NULL AND NEW.appointment_id IS NULL
       AND (to_jsonb(NEW) - 'appointment_id') = (to_jsonb(OLD) - 'appointment_id') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'intake_immutable: a stored intake cannot change'
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$
"""
POSTGRES_TRIGGER = (
    "CREATE TRIGGER intake_immutable BEFORE UPDATE ON intake "
    "FOR EACH ROW EXECUTE FUNCTION intake_refuse_update()"
)


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    elif dialect == "sqlite":
        op.execute(SQLITE_TRIGGER)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS intake_immutable ON intake")
        op.execute("DROP FUNCTION IF EXISTS intake_refuse_update()")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS intake_immutable")

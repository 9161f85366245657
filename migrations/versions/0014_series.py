"""series: visits booked together (every N weeks with one practitioner)

Each visit stays its own appointment; `series_visit` links it to its series. A table of its own
rather than a column on appointment: adding a foreign key column there would make Alembic copy
the table on SQLite, losing its no-overlap triggers.

Revision ID: 0014_series
Revises: 0013_staff_sessions
Create Date: 2026-12-02 13:40:00.000000

"""
from alembic import op
import sqlalchemy as sa

import booking.db


# revision identifiers, used by Alembic.
revision = '0014_series'
down_revision = '0013_staff_sessions'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('visit_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('every_weeks', sa.Integer(), nullable=False),
    sa.Column('visit_count', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('created_at', booking.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('every_weeks BETWEEN 1 AND 4', name=op.f('ck_visit_series_every_weeks_range')),
    sa.CheckConstraint('visit_count BETWEEN 1 AND 12', name=op.f('ck_visit_series_visit_count_range')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_visit_series_patient_id_patient'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'], name=op.f('fk_visit_series_practitioner_id_practitioner'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_visit_series_service_id_service'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_series'))
    )
    op.create_index(op.f('ix_visit_series_patient_id'), 'visit_series', ['patient_id'], unique=False)
    op.create_table('series_visit',
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_series_visit_appointment_id_appointment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['series_id'], ['visit_series.id'], name=op.f('fk_series_visit_series_id_visit_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('appointment_id', name=op.f('pk_series_visit'))
    )
    op.create_index(op.f('ix_series_visit_series_id'), 'series_visit', ['series_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_series_visit_series_id'), table_name='series_visit')
    op.drop_table('series_visit')
    op.drop_index(op.f('ix_visit_series_patient_id'), table_name='visit_series')
    op.drop_table('visit_series')

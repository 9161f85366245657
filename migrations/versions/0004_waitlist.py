"""waitlist: patients who asked for an earlier time, offered freed times by email

Revision ID: 0004_waitlist
Revises: 0003_intake_immutable
Create Date: 2026-11-21 20:26:40.265977

"""
from alembic import op
import sqlalchemy as sa

import booking.db


# revision identifiers, used by Alembic.
revision = '0004_waitlist'
down_revision = '0003_intake_immutable'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('waitlist_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=True),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('weekdays', sa.Integer(), nullable=False),
    sa.Column('earliest_start', sa.Time(), nullable=False),
    sa.Column('latest_end', sa.Time(), nullable=False),
    sa.Column('status', sa.Enum('waiting', 'offered', 'booked', 'withdrawn', name='waitlist_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('created_at', booking.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('offered_at', booking.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('latest_end > earliest_start', name=op.f('ck_waitlist_entry_window_order')),
    sa.CheckConstraint('weekdays BETWEEN 1 AND 127', name=op.f('ck_waitlist_entry_weekdays_range')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_waitlist_entry_appointment_id_appointment'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_waitlist_entry_patient_id_patient'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'], name=op.f('fk_waitlist_entry_practitioner_id_practitioner'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_waitlist_entry_service_id_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entry'))
    )
    with op.batch_alter_table('waitlist_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waitlist_entry_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index('ix_waitlist_entry_status_created', ['status', 'created_at'], unique=False)



def downgrade():
    with op.batch_alter_table('waitlist_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_waitlist_entry_status_created')
        batch_op.drop_index(batch_op.f('ix_waitlist_entry_patient_id'))

    op.drop_table('waitlist_entry')

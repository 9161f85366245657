"""booking drafts: online bookings in progress kept server-side

The online booking (visit, held time, contact details, the questionnaire so far) moves out of
the session cookie into `booking_draft`; the cookie keeps only a random token, whose SHA-256 is
stored here. A draft expires with its hold plus a grace period; when its booking ends it is
emptied and keeps only where it ended (the visit, or the emergency intake).

Revision ID: 0012_booking_drafts
Revises: 0011_hold_client
Create Date: 2026-12-02 12:32:48.650345

"""
from alembic import op
import sqlalchemy as sa

import booking.db
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0012_booking_drafts'
down_revision = '0011_hold_client'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('booking_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('practitioner', sa.String(length=20), nullable=False),
    sa.Column('hold_id', sa.Integer(), nullable=True),
    sa.Column('hold_key', sa.String(length=64), nullable=True),
    sa.Column('patient_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('questionnaire', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('booked_appointment_id', sa.Integer(), nullable=True),
    sa.Column('emergency_intake_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', booking.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', booking.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['booked_appointment_id'], ['appointment.id'], name=op.f('fk_booking_draft_booked_appointment_id_appointment'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['emergency_intake_id'], ['intake.id'], name=op.f('fk_booking_draft_emergency_intake_id_intake'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['hold_id'], ['appointment.id'], name=op.f('fk_booking_draft_hold_id_appointment'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_booking_draft_patient_id_patient'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_booking_draft_service_id_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_draft')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_booking_draft_token_hash'))
    )
    with op.batch_alter_table('booking_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_draft_expires_at'), ['expires_at'], unique=False)



def downgrade():
    with op.batch_alter_table('booking_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_draft_expires_at'))

    op.drop_table('booking_draft')

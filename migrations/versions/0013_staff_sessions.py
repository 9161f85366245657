"""staff sessions: a row per staff sign-in; a practitioner's access to a colleague's patient

The session cookie holds a staff_session id; sign-out and a password change delete rows, and
the access given with a reason ends with its session (CASCADE).

Revision ID: 0013_staff_sessions
Revises: 0012_booking_drafts
Create Date: 2026-12-02 12:33:13.917514

"""
from alembic import op
import sqlalchemy as sa

import booking.db


# revision identifiers, used by Alembic.
revision = '0013_staff_sessions'
down_revision = '0012_booking_drafts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('staff_session',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', booking.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', booking.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_staff_session_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_session'))
    )
    with op.batch_alter_table('staff_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_session_user_id'), ['user_id'], unique=False)

    op.create_table('patient_access',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_session_id', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('granted_at', booking.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_patient_access_patient_id_patient'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_session_id'], ['staff_session.id'], name=op.f('fk_patient_access_staff_session_id_staff_session'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_access')),
    sa.UniqueConstraint('staff_session_id', 'patient_id', name=op.f('uq_patient_access_staff_session_id'))
    )


def downgrade():
    op.drop_table('patient_access')
    with op.batch_alter_table('staff_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_session_user_id'))

    op.drop_table('staff_session')

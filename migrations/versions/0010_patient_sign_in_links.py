"""patient sign-in links: one-time links by email for returning patients

Only the SHA-256 of each token is stored (unique); a link belongs to one patient and goes with
them (CASCADE).

Revision ID: 0010_patient_sign_in_links
Revises: 0009_questionnaire_drafts
Create Date: 2026-11-22 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import booking.db


# revision identifiers, used by Alembic.
revision = '0010_patient_sign_in_links'
down_revision = '0009_questionnaire_drafts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('patient_sign_in_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('created_at', booking.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', booking.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', booking.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_patient_sign_in_link_patient_id_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_sign_in_link')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_patient_sign_in_link_token_hash'))
    )
    with op.batch_alter_table('patient_sign_in_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_sign_in_link_patient_id'), ['patient_id'], unique=False)


def downgrade():
    with op.batch_alter_table('patient_sign_in_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_sign_in_link_patient_id'))

    op.drop_table('patient_sign_in_link')

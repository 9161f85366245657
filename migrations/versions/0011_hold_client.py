"""hold client: keyed hashes of who holds a live hold, for the caps on live holds

`client_digest` is an HMAC-SHA256 (with SECRET_KEY, 128 bits) of the client's address (an IPv6
/64), `email_digest` of the email given on the details step: never the address or the email.

Revision ID: 0011_hold_client
Revises: 0010_patient_sign_in_links
Create Date: 2026-12-02 12:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_hold_client'
down_revision = '0010_patient_sign_in_links'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_digest', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('email_digest', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_appointment_client_digest'), ['client_digest'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointment_email_digest'), ['email_digest'], unique=False)


def downgrade():
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appointment_email_digest'))
        batch_op.drop_index(batch_op.f('ix_appointment_client_digest'))
        batch_op.drop_column('email_digest')
        batch_op.drop_column('client_digest')

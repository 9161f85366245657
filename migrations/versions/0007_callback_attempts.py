"""call-back attempts: every try at calling a patient back, answered or not

A call-back stays open until an answered attempt sets call_back.called_at (as before). An
answered attempt needs a note (CHECK); an unanswered one may have none. Existing call-backs
marked as called become one answered attempt each, with the call's time, caller and note.

Revision ID: 0007_callback_attempts
Revises: 0006_clinical
Create Date: 2026-11-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import booking.db


# revision identifiers, used by Alembic.
revision = '0007_callback_attempts'
down_revision = '0006_clinical'
branch_labels = None
depends_on = None

# Said for a call marked as called without a note (the form always asked for one).
NO_NOTE = 'Called (no note was recorded).'


def upgrade():
    attempt = op.create_table('call_back_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_back_id', sa.Integer(), nullable=False),
    sa.Column('attempted_at', booking.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('answered', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.CheckConstraint('NOT answered OR length(trim(note)) > 0', name=op.f('ck_call_back_attempt_answered_note_given')),
    sa.ForeignKeyConstraint(['by_id'], ['user.id'], name=op.f('fk_call_back_attempt_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['call_back_id'], ['call_back.id'], name=op.f('fk_call_back_attempt_call_back_id_call_back'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_back_attempt'))
    )
    with op.batch_alter_table('call_back_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_back_attempt_call_back_id'), ['call_back_id'], unique=False)

    # Each call-back already marked as called: one answered attempt, as it was recorded.
    call_back = sa.table(
        'call_back',
        sa.column('id', sa.Integer()),
        sa.column('called_at', booking.db.UTCDateTime(timezone=True)),
        sa.column('called_by_id', sa.Integer()),
        sa.column('note', sa.Text()),
    )
    note = sa.func.coalesce(sa.func.nullif(sa.func.trim(call_back.c.note), ''), NO_NOTE)
    op.execute(
        attempt.insert().from_select(
            ['call_back_id', 'attempted_at', 'by_id', 'answered', 'note'],
            sa.select(
                call_back.c.id,
                call_back.c.called_at,
                call_back.c.called_by_id,
                sa.true(),
                note,
            ).where(call_back.c.called_at.is_not(None)).order_by(call_back.c.id),
        )
    )


def downgrade():
    # Unanswered attempts go; who reached the patient, when and the note stay on call_back.
    with op.batch_alter_table('call_back_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_back_attempt_call_back_id'))

    op.drop_table('call_back_attempt')

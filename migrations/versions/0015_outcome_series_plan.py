"""outcome series plan: a visit outcome may plan a series (every N weeks, K visits)

Two nullable columns on visit_outcome, both or neither, with range checks. The checks need a
table copy on SQLite (batch mode); visit_outcome carries no triggers to lose.

Revision ID: 0015_outcome_series_plan
Revises: 0014_series
Create Date: 2026-12-02 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_outcome_series_plan'
down_revision = '0014_series'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('visit_outcome', schema=None) as batch_op:
        batch_op.add_column(sa.Column('series_every_weeks', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('series_visits', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_visit_outcome_series_every_weeks_range'),
            'series_every_weeks BETWEEN 1 AND 4',
        )
        batch_op.create_check_constraint(
            op.f('ck_visit_outcome_series_visits_range'), 'series_visits BETWEEN 2 AND 12'
        )
        batch_op.create_check_constraint(
            op.f('ck_visit_outcome_series_plan_whole'),
            '(series_every_weeks IS NULL) = (series_visits IS NULL)',
        )


def downgrade():
    with op.batch_alter_table('visit_outcome', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_visit_outcome_series_plan_whole'), type_='check')
        batch_op.drop_constraint(op.f('ck_visit_outcome_series_visits_range'), type_='check')
        batch_op.drop_constraint(
            op.f('ck_visit_outcome_series_every_weeks_range'), type_='check'
        )
        batch_op.drop_column('series_visits')
        batch_op.drop_column('series_every_weeks')

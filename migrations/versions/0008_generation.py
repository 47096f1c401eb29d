"""generation counters for derived state

The accounts generation (names, roles and companies shown in every view) starts at 0; reports
keep their change counters. Nothing to migrate.

Revision ID: 0008_generation
Revises: 0007
Create Date: 2026-12-01 21:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008_generation'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('generation',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_generation'))
    )


def downgrade():
    op.drop_table('generation')

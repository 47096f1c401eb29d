"""languages: each user's chosen language, each report's language of record

user_account.language: the language the user chose (en, de, zh); empty means the browser's
Accept-Language decides. report.language: the language the report is written in, set when the
complaint is opened (D0); existing reports were written in English.

Revision ID: 0011_language
Revises: 0008_generation
Create Date: 2026-12-01 22:15:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0011_language'
down_revision = '0010_kpis'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=5), nullable=True))
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=5), nullable=True))
    op.execute("UPDATE report SET language = 'en' WHERE language IS NULL")


def downgrade():
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('language')

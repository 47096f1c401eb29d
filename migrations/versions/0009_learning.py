"""learning across reports: the full-text index

`search_doc` holds the words of each part of a report (header, D0-D8, actions, comments); on
SQLite an FTS5 table over it is kept by triggers, on PostgreSQL a tsvector column under a GIN
index. The index of the existing reports is built here (`flask search reindex` rebuilds it).

Revision ID: 0009_learning
Revises: 0008_generation
Create Date: 2026-12-01 22:30:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


revision = '0009_learning'
down_revision = '0008_generation'
branch_labels = None
depends_on = None


def upgrade():
    from app.models import search

    bind = op.get_bind()
    op.create_table('search_doc',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('part', sa.String(length=10), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('tsv', postgresql.TSVECTOR().with_variant(sa.Text(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_search_doc_report_id_report'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_doc')),
    sa.UniqueConstraint('report_id', 'part', name='uq_search_doc_report_part')
    )
    op.create_index('ix_search_doc_tsv', 'search_doc', ['tsv'], unique=False, postgresql_using='gin')
    if bind.dialect.name == 'sqlite':
        for statement in search.SQLITE_DDL:
            op.execute(statement)
    search.reindex(bind)


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('DROP TABLE IF EXISTS search_fts')
    op.drop_index('ix_search_doc_tsv', table_name='search_doc', postgresql_using='gin')
    op.drop_table('search_doc')

"""learning across reports: the full-text index, the effectiveness watch

`search_doc` holds the words of each part of a report (header, D0-D8, actions, comments); on
SQLite an FTS5 table over it is kept by triggers, on PostgreSQL a tsvector column under a GIN
index. The index of the existing reports is built here (`flask search reindex` rebuilds it).
`effectiveness_watch`: the watch after closure; reports closed before have none.

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
    op.create_table('effectiveness_watch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.Column('until', sa.Date(), nullable=False),
    sa.Column('criterion', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=15), nullable=False),
    sa.Column('recurrences', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('reminded_at', sa.DateTime(), nullable=True),
    sa.Column('due_notified_at', sa.DateTime(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('signed_name', sa.String(length=200), nullable=True),
    sa.Column('meaning', sa.String(length=100), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_effectiveness_watch_decided_by_id_user_account')),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_effectiveness_watch_report_id_report'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['started_by_id'], ['user_account.id'], name=op.f('fk_effectiveness_watch_started_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_effectiveness_watch'))
    )
    op.create_index(op.f('ix_effectiveness_watch_report_id'), 'effectiveness_watch', ['report_id'], unique=False)
    op.create_index(op.f('ix_effectiveness_watch_status'), 'effectiveness_watch', ['status'], unique=False)
    op.create_index(op.f('ix_effectiveness_watch_until'), 'effectiveness_watch', ['until'], unique=False)


def downgrade():
    op.drop_table('effectiveness_watch')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('DROP TABLE IF EXISTS search_fts')
    op.drop_index('ix_search_doc_tsv', table_name='search_doc', postgresql_using='gin')
    op.drop_table('search_doc')

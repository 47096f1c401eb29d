"""KPI milestones: when a report first reached containment (left D3) and its root cause (left D4);
indexes for the KPI queries

Filled for existing reports from the audit trail: the first `stage.advanced` or `review.approved`
event of the discipline.

Revision ID: 0010_kpis
Revises: 0008_generation
Create Date: 2026-12-01 22:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010_kpis'
down_revision = '0009_learning'
branch_labels = None
depends_on = None

MILESTONES = {'contained_at': 'D3', 'root_cause_at': 'D4'}
INDEXES = {
    'report': [('ix_report_oem_created', ['oem_id', 'created_at']), ('ix_report_supplier_created', ['supplier_id', 'created_at']),
               ('ix_report_closed', ['closed_at']), ('ix_report_contained', ['contained_at']), ('ix_report_root_cause', ['root_cause_at'])],
    'review': [('ix_review_kind_decided', ['kind', 'decided_at'])],
}


def upgrade():
    for column in MILESTONES:
        op.add_column('report', sa.Column(column, sa.DateTime(), nullable=True))
    for column, code in MILESTONES.items():
        op.execute(sa.text(
            f"UPDATE report SET {column} = (SELECT MIN(e.at) FROM audit_event e WHERE e.report_id = report.id "
            f"AND e.action IN ('stage.advanced', 'review.approved') AND e.discipline = '{code}')"
        ))
    for table, indexes in INDEXES.items():
        for name, columns in indexes:
            op.create_index(name, table, columns)


def downgrade():
    for table, indexes in INDEXES.items():
        for name, _columns in indexes:
            op.drop_index(name, table_name=table)
    with op.batch_alter_table('report') as batch:
        for column in MILESTONES:
            batch.drop_column(column)

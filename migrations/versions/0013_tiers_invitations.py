"""tiers and invitations: cascaded reports, the company setting, invitations

Reports get `parent_id` (the report a cascade was opened from) and `cascade_discipline`;
companies get `allow_invitations` (default on, for the companies there are too); a new table
holds invitations (only a hash of each link's key), another the supplier links a platform
administrator records (a Tier-1 and its sub-suppliers). Existing data is kept as it is: a report's
`oem_id` is its customer, whatever the company's kind.

Revision ID: 0013_tiers_invitations
Revises: 0008_generation
Create Date: 2026-12-01 22:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0013_tiers_invitations'
down_revision = '0012_webhooks'
branch_labels = None
depends_on = None


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def upgrade():
    # Plain ALTERs (no batch rebuild of report: other tables reference it).
    if _sqlite():
        op.execute('ALTER TABLE "report" ADD COLUMN parent_id INTEGER CONSTRAINT fk_report_parent_id_report REFERENCES "report" (id)')
    else:
        op.add_column('report', sa.Column('parent_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_report_parent_id_report', 'report', 'report', ['parent_id'], ['id'])
    op.add_column('report', sa.Column('cascade_discipline', sa.String(length=2), nullable=True))
    op.create_index('ix_report_parent_id', 'report', ['parent_id'], unique=False)
    op.add_column('company', sa.Column('allow_invitations', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.create_table('invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.Enum('admin', 'quality_lead', 'engineer', 'viewer', name='invitation_role', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['company.id'], name=op.f('fk_invitation_company_id_company')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_invitation_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], name=op.f('fk_invitation_report_id_report'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_invitation_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_invitation_token_hash'))
    )
    op.create_index(op.f('ix_invitation_report_id'), 'invitation', ['report_id'], unique=False)
    op.create_table('supplier_link',
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['company.id'], name=op.f('fk_supplier_link_customer_id_company')),
    sa.ForeignKeyConstraint(['supplier_id'], ['company.id'], name=op.f('fk_supplier_link_supplier_id_company')),
    sa.PrimaryKeyConstraint('customer_id', 'supplier_id', name=op.f('pk_supplier_link'))
    )
    op.create_index(op.f('ix_supplier_link_supplier_id'), 'supplier_link', ['supplier_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_supplier_link_supplier_id'), table_name='supplier_link')
    op.drop_table('supplier_link')
    op.drop_index(op.f('ix_invitation_report_id'), table_name='invitation')
    op.drop_table('invitation')
    with op.batch_alter_table('company', schema=None) as batch_op:
        batch_op.drop_column('allow_invitations')
    op.drop_index('ix_report_parent_id', table_name='report')
    if not _sqlite():
        op.drop_constraint('fk_report_parent_id_report', 'report', type_='foreignkey')
        op.drop_column('report', 'parent_id')
        op.drop_column('report', 'cascade_discipline')

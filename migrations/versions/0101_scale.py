"""scale: stored results per period and settings; publications keep a compact id set

Revision ID: 0101_scale
Revises: 0101_workspace
Create Date: 2026-11-29 21:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0101_scale'
down_revision = '0101_workspace'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stored_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('settings_hash', sa.String(length=64), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('data_version', sa.String(length=64), nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('seconds', sa.Float(), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('computing_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['period_id'], ['survey_period.id'], name=op.f('fk_stored_result_period_id_survey_period')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stored_result')),
    sa.UniqueConstraint('period_id', 'settings_hash', name=op.f('uq_stored_result_period_id'))
    )
    with op.batch_alter_table('publication', schema=None) as batch_op:
        batch_op.add_column(sa.Column('used_responses', sa.LargeBinary(), nullable=True))
    # The latest status change of a period (exclusion, restore) is read from the index.
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.create_index('ix_response_period_status_at', ['period_id', 'status_at'], unique=False)


def downgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_index('ix_response_period_status_at')
    with op.batch_alter_table('publication', schema=None) as batch_op:
        batch_op.drop_column('used_responses')
    op.drop_table('stored_result')

"""a period's excluded responses from a small partial index

Revision ID: 0102_not_valid
Revises: 0101_scale
Create Date: 2026-11-30 01:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0102_not_valid'
down_revision = '0101_scale'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.create_index(
            'ix_response_period_not_valid',
            ['period_id', 'status'],
            unique=False,
            postgresql_where=sa.text("status <> 'valid'"),
            sqlite_where=sa.text("status <> 'valid'"),
        )


def downgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_index('ix_response_period_not_valid')

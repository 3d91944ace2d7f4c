"""previous QR nonce of a counter: a rotation can be undone for a while

Revision ID: 0101_workspace
Revises: 0101_comments
Create Date: 2026-11-29 21:55:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0101_workspace'
down_revision = '0101_comments'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('counter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('previous_nonce', sa.String(length=24), nullable=True))


def downgrade():
    with op.batch_alter_table('counter', schema=None) as batch_op:
        batch_op.drop_column('previous_nonce')

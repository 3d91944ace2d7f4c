"""comments: a folded search key of each response's comment, and its partial indexes

Revision ID: 0101_comments
Revises: 0100_integrity
Create Date: 2026-11-29 21:45:00.000000

"""
from alembic import op
import sqlalchemy as sa

from survey.textsearch import COMMENT, comment_key


# revision identifiers, used by Alembic.
revision = '0101_comments'
down_revision = '0100_integrity'
branch_labels = None
depends_on = None

WHERE = sa.text("comment_key IS NOT NULL")
BATCH = 5_000


def upgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('comment_key', sa.Text(), nullable=True))
    # Fill the key of the responses stored before: those with a comment only, in id
    # batches, so a big table is never held in memory.
    bind = op.get_bind()
    response = sa.table(
        'response',
        sa.column('id', sa.BigInteger),
        sa.column('extra', sa.JSON),
        sa.column('comment_key', sa.Text),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(response.c.id, response.c.extra)
            .where(response.c.id > last)
            .order_by(response.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1].id
        keys = [
            {'key_id': row.id, 'key': comment_key(row.extra)}
            for row in rows
            if isinstance(row.extra, dict) and row.extra.get(COMMENT)
        ]
        if keys:
            bind.execute(
                response.update()
                .where(response.c.id == sa.bindparam('key_id'))
                .values(comment_key=sa.bindparam('key')),
                keys,
            )
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.create_index(
            'ix_response_comment_unit', ['period_id', 'unit_id', 'id'], unique=False,
            postgresql_include=['comment_key', 'answers'], postgresql_where=WHERE, sqlite_where=WHERE,
        )
        batch_op.create_index(
            'ix_response_comment', ['period_id', 'id'], unique=False,
            postgresql_include=['comment_key', 'answers'], postgresql_where=WHERE, sqlite_where=WHERE,
        )


def downgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_index('ix_response_comment')
        batch_op.drop_index('ix_response_comment_unit')
        batch_op.drop_column('comment_key')

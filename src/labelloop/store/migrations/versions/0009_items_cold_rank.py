"""items.cold_rank: the cluster cold start's queue order before a project has any model

A project whose items no model can score yet (an image project before its first label: there
is no zero-shot image model offline) gets its first batches from k-means cold start: one
typical item per cluster, spread over the pool. ``cold_rank`` (1 = first) holds that order
for the queue's items without a suggestion; NULL for the others, which follow by id.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 19:00:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('items') as batch:
        batch.add_column(sa.Column('cold_rank', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('items') as batch:
        batch.drop_column('cold_rank')

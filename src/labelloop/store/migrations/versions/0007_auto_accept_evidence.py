"""auto-accept evidence on annotations

An ``auto`` annotation keeps what admitted it: ``confidence``, the model's probability of the
label when auto-accept took it (its suggestion is deleted then), and ``threshold``, the
auto-accept threshold it met. Both are NULL for other sources and for auto labels written
before this revision.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:10:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('annotations') as batch:
        batch.add_column(sa.Column('confidence', sa.Float(), nullable=True))
        batch.add_column(sa.Column('threshold', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('annotations') as batch:
        batch.drop_column('threshold')
        batch.drop_column('confidence')

"""queue indexes

Indexes for the per-request queries of the annotation loop, which otherwise scan a whole project:
the gold items of a project (a partial index: gold items are few), an annotator's answers (the
queue's gold-draw seed) and the answers since a date (changes since the last training).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:20:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

GOLD = sa.text('gold IS NOT NULL')


def upgrade() -> None:
    op.create_index('ix_items_project_gold', 'items', ['project_id'], unique=False,
                    sqlite_where=GOLD, postgresql_where=GOLD)
    op.create_index('ix_annotations_project_annotator', 'annotations',
                    ['project_id', 'annotator'], unique=False)
    op.create_index('ix_annotations_project_created', 'annotations',
                    ['project_id', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_annotations_project_created', table_name='annotations')
    op.drop_index('ix_annotations_project_annotator', table_name='annotations')
    op.drop_index('ix_items_project_gold', table_name='items')

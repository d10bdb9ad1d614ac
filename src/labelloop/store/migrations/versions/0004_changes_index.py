"""changes index

The count of answers since the last training runs on every submit. An index on
(project_id, created_at, source) holds every column it reads, so the count is one range over the
index and reads no table rows; it replaces the (project_id, created_at) index.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 13:00:00.000000
"""

from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_annotations_project_created_source', 'annotations',
                    ['project_id', 'created_at', 'source'], unique=False)
    op.drop_index('ix_annotations_project_created', table_name='annotations')


def downgrade() -> None:
    op.create_index('ix_annotations_project_created', 'annotations',
                    ['project_id', 'created_at'], unique=False)
    op.drop_index('ix_annotations_project_created_source', table_name='annotations')

"""annotator latest index

``next`` reads an annotator's latest answer in the project (it seeds the gold draw). With the id
as the index's last column that is one step down the index; on (project_id, annotator) alone it
was a count over all of the annotator's answers, a cost that grew with every answer. The new
index replaces that one: every query that used it reads the same prefix.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 19:30:00.000000
"""

from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_annotations_project_annotator_id', 'annotations',
                    ['project_id', 'annotator', 'id'], unique=False)
    op.drop_index('ix_annotations_project_annotator', table_name='annotations')


def downgrade() -> None:
    op.create_index('ix_annotations_project_annotator', 'annotations',
                    ['project_id', 'annotator'], unique=False)
    op.drop_index('ix_annotations_project_annotator_id', table_name='annotations')

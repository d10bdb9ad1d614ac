"""comments on items and per-project label hotkeys

``comments`` holds the notes members leave on an item (author, text, time), listed beside its
history in the web app; ``label_hotkeys`` the key that picks each label on the annotate page,
when a project's admin set them (a project without rows uses 1-9, 0 for its first ten labels).
Both go with their project or item (``ON DELETE CASCADE``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 12:20:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'comments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('author', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_comments_item_id', 'comments', ['item_id', 'id'], unique=False)
    op.create_table(
        'label_hotkeys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=False),
        sa.Column('key', sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(['project_id'], ['projects.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('project_id', 'key', name='uq_label_hotkeys_key'),
        sa.UniqueConstraint('project_id', 'label', name='uq_label_hotkeys_label'),
    )


def downgrade() -> None:
    op.drop_table('label_hotkeys')
    op.drop_index('ix_comments_item_id', table_name='comments')
    op.drop_table('comments')

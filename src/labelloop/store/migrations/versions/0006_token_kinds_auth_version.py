"""token kinds and auth version

API tokens and browser sessions share ``api_tokens``; a ``kind`` column tells them apart so
both can be listed and revoked, and an optional ``label`` names a token. ``users.auth_version``
changes whenever what a user may do changes (role, superuser flag, password): the server checks
it on every request, so a change takes effect on the next one in every process. Rows written
before this revision are all of kind ``token`` (a session's hash cannot be told from a token's).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 19:20:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('api_tokens') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=10), nullable=False,
                                   server_default='token'))
        batch.add_column(sa.Column('label', sa.String(length=100), nullable=True))
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('auth_version', sa.Integer(), nullable=False,
                                   server_default='0'))
    op.create_index('ix_api_tokens_user_id', 'api_tokens', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_api_tokens_user_id', table_name='api_tokens')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('auth_version')
    with op.batch_alter_table('api_tokens') as batch:
        batch.drop_column('label')
        batch.drop_column('kind')

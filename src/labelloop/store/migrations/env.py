"""Alembic environment: migrations run on the connection labelloop hands over."""

from alembic import context

from labelloop.store.tables import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
context.run_migrations()

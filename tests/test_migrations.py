"""A workspace made by an older labelloop opens in a newer one: migrations keep the data."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

import labelloop
from labelloop.store import db


def _upgrade(engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_first_schema_upgrades_with_data(tmp_path: Path):
    folder = tmp_path / "old"
    folder.mkdir()
    engine = create_engine(f"sqlite:///{folder / 'labelloop.db'}")
    _upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO projects "
                "(id, name, task, label_schema, backbone, settings, created_at) "
                "VALUES (1, 'old', 'text-classification', "
                '\'{"task": "text-classification", "labels": ["a", "b"], '
                "\"multi_label\": false, \"descriptions\": {}}', 'fake', '{}', '2025-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO items (id, project_id, external_id, data, content_hash, created_at) "
                "VALUES (1, 1, 'x', '{\"text\": \"hello\"}', 'h1', '2025-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO annotations "
                "(project_id, item_id, value, source, annotator, is_current, created_at) "
                "VALUES (1, 1, '[\"a\"]', 'human', 'ann', 1, '2025-01-01')"
            )
        )
    engine.dispose()

    ws = labelloop.open_workspace(folder)
    try:
        status = ws.status("old")
        assert (status.items, status.labelled, status.label_counts) == (1, 1, {"a": 1, "b": 0})
    finally:
        ws.close()
    check = create_engine(f"sqlite:///{folder / 'labelloop.db'}")
    with check.connect() as conn:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        blind = conn.execute(text("SELECT blind FROM annotations")).scalar()
    check.dispose()
    scripts = ScriptDirectory(str(Path(db.__file__).parent / "migrations"))
    assert head == scripts.get_current_head()
    assert blind in (0, False)


def test_migrations_build_the_schema_the_tables_declare(workspace):
    """A table, column or index added to ``store/tables.py`` without a migration (or the
    other way round) shows up here, on SQLite and on PostgreSQL."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from labelloop.store.tables import Base

    with workspace.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []

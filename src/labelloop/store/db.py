"""Engines, sessions and schema migrations.

The embedded default is a SQLite file in WAL mode; team mode is PostgreSQL by URL. Every schema
change is an alembic migration, applied when a workspace is opened, so a workspace made by an older
version of labelloop opens in a newer one.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from labelloop.errors import InvalidInput

__all__ = ["analyze", "create_db_engine", "migrate", "session_scope", "sqlite_url"]

_MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def create_db_engine(url: str) -> Engine:
    """Create an engine for ``url`` (SQLite file or PostgreSQL), configured for concurrent use."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInput(f"not a database URL: {url!r}", field="db") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and "mode=memory" not in url:
            _private_sqlite_file(Path(parsed.database))
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=20,
            max_overflow=20,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)
    raise InvalidInput(
        f"unsupported database {parsed.get_backend_name()!r}: use a SQLite path or a "
        "postgresql+psycopg:// URL",
        field="db",
    )


def _private_sqlite_file(path: Path) -> None:
    """Make the SQLite file ``path`` (created empty if missing) and its ``-wal``/``-shm``
    readable by its owner only (0600): it holds password hashes and session token hashes.

    SQLite creates the ``-wal`` and ``-shm`` files with the database file's own permissions, so
    creating that one 0600, before SQLite does with 0644 under the usual umask, covers all
    three; a file made by an earlier version loses its group and other bits here.
    """
    if not path.parent.is_dir():
        return  # SQLite reports the missing folder itself
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
            if mode & 0o077:
                file.chmod(mode & 0o700)
        except FileNotFoundError:
            continue
        except PermissionError:  # someone else's file: SQLite opens it or says why not
            log.warning("cannot make %s private (mode %o)", file, mode)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling is disabled so that BEGIN IMMEDIATE below takes the
    # write lock up front: two writers then queue on busy_timeout instead of failing with
    # "database is locked" when a read transaction tries to upgrade.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def migrate(engine: Engine) -> None:
    """Bring the database schema up to the newest migration (a no-op when it is current)."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise InvalidInput(
            f"cannot open the database {engine.url.render_as_string(hide_password=True)}: "
            f"{exc.orig}",
            field="db",
        ) from None
    log.debug("schema at head; tables: %s", inspect(engine).get_table_names())


def analyze(session: Session, *tables: str) -> None:
    """Refresh the planner statistics of the tables named ``tables`` after a bulk write.

    Autovacuum may be off, or not yet run after a bulk write: without statistics PostgreSQL
    plans the queue as a sort of the whole pool and a 900-hash lookup as a scan of all items,
    seconds each. ``ANALYZE`` runs inside the caller's transaction, so it samples the rows the
    transaction wrote (their statistics reach other sessions at commit). On SQLite it does
    nothing: its planner already walks the right indexes without ``sqlite_stat1`` (``next`` over
    100,000 items takes as long with it as without), and statistics could only move those plans.
    """
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        return
    for table in tables:
        session.execute(text(f"ANALYZE {dialect.identifier_preparer.quote(table)}"))


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


T = TypeVar("T")
IN_CHUNK = 900
"""Most values bound in one ``IN (...)`` list: SQLite allows 999 parameters per statement."""


def in_chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    """``values`` in slices of :data:`IN_CHUNK`, for ``column.in_(chunk)`` over long lists."""
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]

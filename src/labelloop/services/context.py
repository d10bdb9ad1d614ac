"""What every use-case works in: one workspace's database, artifacts folder and embedding cache.

The public Python API is :class:`labelloop.services.workspace.Workspace`, which adds a typed
method per use-case to this context; use-cases themselves take a :class:`WorkspaceContext`, so
nothing below the API imports it.

"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy.orm import Session, sessionmaker

from labelloop.store import Artifacts, create_db_engine, migrate, session_scope, sqlite_url
from labelloop.store.raw import RawTransaction

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["WorkspaceContext"]


class WorkspaceContext:
    """A workspace's database (engine and transactions), artifacts and embedding cache.

    Open one with :func:`labelloop.open_workspace`, which returns the :class:`Workspace` API.
    """

    def __init__(self, path: Path, *, database_url: str | None = None) -> None:
        self.path = path
        self.path.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url or sqlite_url(path / "labelloop.db")
        self.engine: Engine = create_db_engine(self.database_url)
        migrate(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.artifacts = Artifacts(path / "artifacts")
        self._cache: Any = None
        sqlite = self.engine.dialect.name == "sqlite"
        self._local_lock: threading.RLock | None = threading.RLock() if sqlite else None

    @property
    def media_root(self) -> Path:
        """``<workspace>/media``: relative media paths of items resolve against it."""
        return self.path / "media"

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the database connections (the workspace's files stay as they are)."""
        self.engine.dispose()

    def embedding_cache(self) -> Any:
        """The workspace's embedding cache (one per workspace and process)."""
        if self._cache is None:
            from labelloop.backbones import EmbeddingCache

            self._cache = EmbeddingCache(self.artifacts.embeddings)
        return self._cache

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One database transaction; commits on success, rolls back on any exception.

        On SQLite every transaction takes the write lock up front (``BEGIN IMMEDIATE``); threads of
        this process also queue on an in-process lock first, so they wait their turn in order
        instead of SQLite's busy handler, which polls with sleeps of up to 100 ms and gives long
        tail latencies under concurrent requests.
        """
        if self._local_lock is None:
            with session_scope(self.sessions) as session:
                yield session
            return
        with self._local_lock, session_scope(self.sessions) as session:
            yield session

    @contextmanager
    def raw_transaction(self) -> Iterator[RawTransaction]:
        """One transaction on the database driver's own cursor, for the request hot path
        (``next``, submit): the statements are SQLAlchemy's, without its execution layer
        (:mod:`labelloop.store.raw`). Commits on success, rolls back on any exception; on SQLite
        it queues on the same in-process lock as :meth:`transaction`.
        """
        with self._local_lock or nullcontext():
            connection = self.engine.raw_connection()
            try:
                transaction = RawTransaction(connection.driver_connection, self.engine.dialect)
                transaction.begin()
                try:
                    yield transaction
                    transaction.commit()
                except BaseException:
                    transaction.rollback()
                    raise
            finally:
                connection.close()

"""The workspace: a database plus an artifacts folder, and the Python API over every use-case.

Example:
    >>> import labelloop
    >>> ws = labelloop.open_workspace("labelloop-data")          # doctest: +SKIP
    >>> ws.create_project("news", labels=["World", "Sports"])     # doctest: +SKIP
    >>> ws.import_file("news", "pool.csv", label_field="label")   # doctest: +SKIP
    >>> ws.status("news").labelled                                # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from labelloop.errors import InvalidInput
from labelloop.store import Artifacts, create_db_engine, migrate, session_scope, sqlite_url
from labelloop.store.raw import RawTransaction

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["DEFAULT_WORKSPACE", "Workspace", "open_workspace"]

DEFAULT_WORKSPACE = "labelloop-data"


class Workspace:
    """A labelloop workspace. Open one with :func:`open_workspace`.

    Every method is one transaction: it either completes or leaves the workspace as it was.
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

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
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

    # -- projects -------------------------------------------------------------------------------
    def create_project(self, name: str, **options: Any) -> Any:
        from labelloop.services.projects import create_project

        return create_project(self, name, **options)

    def list_projects(self) -> Any:
        from labelloop.services.projects import list_projects

        return list_projects(self)

    def project(self, name: str) -> Any:
        from labelloop.services.projects import project_info

        return project_info(self, name)

    def update_project(self, name: str, **options: Any) -> Any:
        from labelloop.services.projects import update_project

        return update_project(self, name, **options)

    def status(self, name: str) -> Any:
        from labelloop.services.projects import project_status

        return project_status(self, name)

    # -- data in and out ------------------------------------------------------------------------
    def import_file(self, name: str, path: str | Path, **options: Any) -> Any:
        from labelloop.services.importing import import_file

        return import_file(self, name, Path(path), **options)

    def export(self, name: str, out: str | Path, **options: Any) -> Any:
        from labelloop.services.exporting import export_project

        return export_project(self, name, Path(out), **options)

    # -- the model ------------------------------------------------------------------------------
    def train(self, name: str, **options: Any) -> Any:
        from labelloop.services.training import train

        return train(self, name, **options)

    def predict(self, name: str, **options: Any) -> Any:
        from labelloop.services.training import predict

        return predict(self, name, **options)

    def models(self, name: str) -> Any:
        from labelloop.services.registry import list_models

        return list_models(self, name)

    def promote(self, name: str, version: int) -> Any:
        from labelloop.services.registry import promote

        return promote(self, name, version)

    def rollback(self, name: str) -> Any:
        from labelloop.services.registry import rollback

        return rollback(self, name)

    def evaluate(self, name: str, path: str | Path, **options: Any) -> Any:
        from labelloop.services.evaluation import evaluate

        return evaluate(self, name, Path(path), **options)

    def rank_backbones(self, name: str, **options: Any) -> Any:
        from labelloop.services.evaluation import rank_backbones

        return rank_backbones(self, name, **options)

    # -- annotation -----------------------------------------------------------------------------
    def next_items(self, name: str, **options: Any) -> Any:
        from labelloop.services.queue import next_items

        return next_items(self, name, **options)

    def submit(self, name: str, item_id: int, value: list[str] | str, **options: Any) -> Any:
        from labelloop.services.annotating import submit

        return submit(self, name, item_id, value, **options)

    def skip(self, name: str, item_id: int, **options: Any) -> Any:
        from labelloop.services.annotating import skip

        return skip(self, name, item_id, **options)

    def undo(self, name: str, item_id: int, **options: Any) -> Any:
        from labelloop.services.annotating import undo

        return undo(self, name, item_id, **options)

    # -- quality --------------------------------------------------------------------------------
    def qa_report(self, name: str, **options: Any) -> Any:
        from labelloop.services.qa import qa_report

        return qa_report(self, name, **options)


def open_workspace(
    path: str | os.PathLike[str] | None = None, *, database_url: str | None = None
) -> Workspace:
    """Open (creating if needed) the workspace at ``path``.

    ``path`` is a folder (default ``$LABELLOOP_WORKSPACE`` or ``./labelloop-data``) holding the
    SQLite database and the artifacts. A ``postgresql+psycopg://`` URL may be given instead of a
    path, or as ``database_url`` (default ``$LABELLOOP_DATABASE_URL``): the database then lives
    there and the folder keeps only the artifacts.
    """
    if path is not None and str(path).startswith(("postgresql", "sqlite:")):
        database_url, path = str(path), None
    folder = Path(path or os.environ.get("LABELLOOP_WORKSPACE") or DEFAULT_WORKSPACE)
    if folder.exists() and not folder.is_dir():
        raise InvalidInput(f"workspace {str(folder)!r} is a file, not a folder", field="workspace")
    database_url = database_url or os.environ.get("LABELLOOP_DATABASE_URL") or None
    return Workspace(folder, database_url=database_url)

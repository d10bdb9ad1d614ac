"""Core statements run on the database driver's own cursor: the request hot path's transactions.

SQLAlchemy builds and compiles every statement here, and its types convert every value, but
running a prebuilt statement through its execution layer costs more than the database takes to
run it. Measured on SQLite for ``next``'s first read (``benchmarks/raw_statements.py``): about
100 us through a ``Connection`` against 30 us here, and 380 us against 104 us for a transaction
of that one statement. ``next`` and submit run some six statements each.

A :class:`RawTransaction` takes a pooled DBAPI connection, compiles each statement once per
dialect (and per length of each expanding ``IN`` list), and caches the SQL string with the order
of its parameters and SQLAlchemy's own bind and result processors, so values go in and come out
exactly as through SQLAlchemy. Its :meth:`~RawTransaction.execute` takes the same statements and
parameter dicts as ``Connection.execute`` and returns rows with the same attribute access, so a
repository function written against :class:`Executor` runs on either.

Build the statements once (module constants, or ``functools.cache`` per shape) and bind the
values: plans are kept per statement object, so a statement built per call is compiled per call.
"""

from __future__ import annotations

import weakref
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Dialect, Insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

__all__ = ["Executor", "RawResult", "RawTransaction"]

_Processor = Callable[[Any], Any] | None


class Executor(Protocol):
    """What the hot path's repository functions need: a SQLAlchemy ``Connection`` (for callers
    inside an ORM session, ``session.connection()``) or a :class:`RawTransaction`."""

    @property
    def dialect(self) -> Dialect: ...

    def execute(self, statement: Any, parameters: Any = None, /) -> Any: ...


@dataclass
class _Plan:
    """One statement compiled for one dialect and one set of expanding-list lengths."""

    sql: str
    # per parameter in the SQL: (name, user key or None, index into an expanding list or -1,
    # processor, value already processed when the key is None)
    binds: tuple[tuple[str, str | None, int, _Processor, Any], ...]
    positional: bool
    row: Any  # a namedtuple class, or None for a statement that returns no rows
    types: tuple[Any, ...]  # the result columns' types
    # the result columns' processors, set at the first run: some depend on the type code the
    # driver reports (PostgreSQL's numerics)
    processors: tuple[_Processor, ...] | None = None

    def parameters(self, params: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        values = []
        for _name, key, index, process, fixed in self.binds:
            if key is None:
                values.append(fixed)
                continue
            value = params[key] if index < 0 else params[key][index]
            values.append(value if process is None else process(value))
        if self.positional:
            return values
        return {bind[0]: value for bind, value in zip(self.binds, values, strict=True)}

    def rows(self, fetched: list[Any], description: Any, dialect: Dialect) -> list[Any]:
        processors = self.processors
        if processors is None:
            processors = self.processors = tuple(
                type_.dialect_impl(dialect).result_processor(dialect, column[1])
                for type_, column in zip(self.types, description, strict=True)
            )
        if not any(processors):
            return [self.row._make(row) for row in fetched]
        return [
            self.row._make(
                [v if p is None or v is None else p(v) for p, v in zip(processors, r, strict=True)]
            )
            for r in fetched
        ]


def _compile(statement: Any, dialect: Dialect, params: Mapping[str, Any]) -> _Plan:
    keys = list(params) if isinstance(statement, Insert) else None
    if keys is not None:
        _check_insert(statement, keys)
    compiled = statement.compile(dialect=dialect, column_keys=keys)
    # the caller's lists of the right lengths fill the expanding binds; every other bind the
    # caller gives is taken from ``params`` at execution, the rest (literals) are fixed here
    given = {name: params[name] for name in compiled.binds if name in params}
    state = compiled.construct_expanded_state(given)
    expanded = {
        name: (original, i)
        for original, names in (state.parameter_expansion or {}).items()
        for i, name in enumerate(names)
    }
    order = state.positiontup if compiled.positional else list(state.parameters)
    binds = []
    for name in order or ():
        original, index = expanded.get(name, (name, -1))
        type_ = compiled.binds[original].type
        process = type_.dialect_impl(dialect).bind_processor(dialect)
        if original in params:
            binds.append((name, original, index, process, None))
        else:
            value = state.parameters[name]
            binds.append((name, None, -1, None, value if process is None else process(value)))
    columns = list(getattr(statement, "exported_columns", ()))
    row = namedtuple("Row", [c.key for c in columns], rename=True) if columns else None
    types = tuple(c.type for c in columns)
    return _Plan(state.statement, tuple(binds), compiled.positional, row, types)


def _check_insert(statement: Insert, keys: list[str]) -> None:
    """An INSERT here gets no Python-side column defaults: refuse one that leaves a column with
    such a default unset, rather than store NULL there."""
    table = statement.table
    for column in table.columns:
        if column.default is not None and column.key not in keys and not column.primary_key:
            raise ValueError(
                f"insert into {table}: give {column.key!r}; its default is not applied"
            )


class RawResult:
    """The rows of one statement, with the accessors of SQLAlchemy's ``Result`` that the hot
    path uses."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        return list(self._rows)

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def one_or_none(self) -> Any:
        if len(self._rows) > 1:
            raise ValueError("more than one row")
        return self.first()

    def one(self) -> Any:
        if len(self._rows) != 1:
            raise ValueError(f"expected one row, got {len(self._rows)}")
        return self._rows[0]

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalars(self) -> list[Any]:
        return [row[0] for row in self._rows]


# statement -> {(dialect name, expanding lengths or insert keys): plan}; statements built per call
# (rare on this path) drop out with the statement
_PLANS: weakref.WeakKeyDictionary[ClauseElement, dict[tuple[Any, ...], _Plan]] = (
    weakref.WeakKeyDictionary()
)


class RawTransaction:
    """A transaction on one pooled DBAPI connection (see the module's docstring).

    :meth:`begin`, then :meth:`execute` statements, then :meth:`commit` or :meth:`rollback`; the
    owner returns the connection to the pool. On SQLite the transaction starts with ``BEGIN
    IMMEDIATE``, as every labelloop transaction does (``store.db``).
    """

    def __init__(self, connection: Any, dialect: Dialect) -> None:
        self.connection = connection
        self.dialect = dialect
        self._sqlite = dialect.name == "sqlite"
        self._cursor = connection.cursor()

    def begin(self) -> None:
        if self._sqlite:
            self._run("BEGIN IMMEDIATE", ())

    def commit(self) -> None:
        if self._sqlite:
            self._run("COMMIT", ())
        else:
            self.connection.commit()

    def rollback(self) -> None:
        if self._sqlite:
            if self.connection.in_transaction:
                self._cursor.execute("ROLLBACK")
        else:
            self.connection.rollback()

    def execute(self, statement: Any, parameters: Any = None, /) -> RawResult:
        """Run a Core statement with a dict of parameters, or an INSERT with a list of dicts."""
        if isinstance(parameters, list):
            plan = self._plan(statement, parameters[0])
            self._run(plan.sql, [plan.parameters(p) for p in parameters], many=True)
            return RawResult([], self._cursor.rowcount)
        params = parameters or {}
        plan = self._plan(statement, params)
        self._run(plan.sql, plan.parameters(params))
        if plan.row is None:
            return RawResult([], self._cursor.rowcount)
        rows = plan.rows(self._cursor.fetchall(), self._cursor.description, self.dialect)
        return RawResult(rows, self._cursor.rowcount)

    def _plan(self, statement: Any, params: Mapping[str, Any]) -> _Plan:
        plans = _PLANS.get(statement)
        if plans is None:
            plans = _PLANS.setdefault(statement, {})
        if isinstance(statement, Insert):  # compiled for the columns given
            shape: tuple[Any, ...] = (self.dialect.name, *params)
        else:  # compiled for the lengths of the lists given (expanding IN)
            shape = (self.dialect.name,
                     *((k, len(v)) for k, v in params.items() if isinstance(v, list)))  # fmt: skip
        plan = plans.get(shape)
        if plan is None:
            plan = plans[shape] = _compile(statement, self.dialect, params)
        return plan

    def _run(self, sql: str, parameters: Any, *, many: bool = False) -> None:
        try:
            if many:
                self._cursor.executemany(sql, parameters)
            else:
                self._cursor.execute(sql, parameters)
        except self.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(
                sql, parameters, exc, self.dialect.loaded_dbapi.Error, dialect=self.dialect
            ) from exc

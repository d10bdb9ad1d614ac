"""The SQL of the use-cases, one module per context, so a use-case reads as its steps.

Each function is small and named for what it reads or writes; it takes a ``Session`` (or an
:class:`~labelloop.store.raw.Executor` where the caller has one), returns rows or values and never
commits: the caller owns the transaction. Queries that several contexts share live in
:mod:`labelloop.store.repo` and :mod:`labelloop.store.suggestions`.

- :mod:`~labelloop.store.queries.users`: users, memberships and tokens.
- :mod:`~labelloop.store.queries.projects`: projects and which project an item belongs to.
- :mod:`~labelloop.store.queries.models`: model versions (the registry), and the items training
  and prediction read.
- :mod:`~labelloop.store.queries.stats`: what the dashboard reads.
- :mod:`~labelloop.store.queries.exporting`: the pages an export walks.
- :mod:`~labelloop.store.queries.quality`: answers, gold, flags, the review list and auto-accept.
- :mod:`~labelloop.store.queries.importing`: a file's import run, bulk inserts of its rows and
  the model version standing for imported predictions.
- :mod:`~labelloop.store.queries.simulate`: what the simulator reads back between its steps.

By design the statements of the per-request hot path (``services/annotation/queue.py``,
``annotating.py``, ``views.py``) are not here: they are built once at import, beside the use-case
that runs them, because building a statement costs more than running it there.
"""

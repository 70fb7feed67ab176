"""Which rows a piece of code reads with `select_for_update`, on any database.

SQLite has no row locks: Django leaves FOR UPDATE out of the SQL there, so a service that lost
its `select_for_update()` passes every test but the PostgreSQL race tests, which are skipped on
SQLite. This records the lock request itself (the query's `select_for_update` flag, set
whatever the database) for every SELECT that runs, so a test on either database can say which
models a service locked.
"""

import contextlib
from collections.abc import Iterator

from django.db.models.sql.compiler import SQLCompiler


@contextlib.contextmanager
def row_locks() -> Iterator[list[str]]:
    """Collect "app_label.Model" for each SELECT ... FOR UPDATE run inside the block."""
    locked: list[str] = []
    execute_sql = SQLCompiler.execute_sql

    def recording(compiler, *args, **kwargs):
        if compiler.query.select_for_update and compiler.query.model is not None:
            locked.append(compiler.query.model._meta.label)
        return execute_sql(compiler, *args, **kwargs)

    SQLCompiler.execute_sql = recording
    try:
        yield locked
    finally:
        SQLCompiler.execute_sql = execute_sql

"""Read-only DuckDB access for Great Expectations' SQL datasource (the route of `validate`).

Why this module exists: with the stock `duckdb_engine` driver every GX expectation on DuckDB fails with
`IndexError: list index out of range` (GX issues #10738 and #11579). GX runs each metric query in
`with engine.connect(): result = connection.execute(query)` and fetches the rows *after* the block, when
SQLAlchemy has already rolled the connection back. `duckdb_engine`'s DB-API cursor is the DuckDB
connection itself (duckdb_engine issue #1087), so the rollback -- or any later statement on the same
connection -- replaces the pending result and the fetch returns no rows.

The fix lives here, in the DB-API layer, without patching GX or the driver: SQLAlchemy gets its
connections from `creator=` below, and every DB-API cursor is a fresh DuckDB cursor (`DuckDBPyConnection.cursor()`,
an independent connection to the same database instance), so a result lives until its own cursor is closed.
All cursors come from one read-only DuckDB connection, so the file is opened once, read-only: nothing is
written to it and a concurrent writer is never blocked by us (DuckDB refuses a read-only open while a
writer holds the lock; `validate` reports that).

Each cursor also gets the session settings the suites rely on: `TimeZone = 'UTC'` and the DuckDB variables
named in `variables` (e.g. `ca_followup_delay_hours`, read with `getvariable(...)` in suite SQL).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
from duckdb_engine import ConnectionWrapper, CursorWrapper

SessionSetup = Callable[[duckdb.DuckDBPyConnection], None]


class StatementCursor(CursorWrapper):
    """A duckdb_engine cursor backed by its own DuckDB cursor, so its result survives other statements."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, connection: ConnectionWrapper) -> None:
        super().__init__(cursor, connection)
        self._own_cursor = cursor

    def close(self) -> None:
        self._own_cursor.close()


class SharedDatabaseConnection(ConnectionWrapper):
    """A duckdb_engine connection whose `cursor()` hands out a new DuckDB cursor each time."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, setup: SessionSetup) -> None:
        super().__init__(connection)
        self._duck = connection
        self._setup = setup

    def cursor(self) -> StatementCursor:
        cursor = self._duck.cursor()
        self._setup(cursor)
        return StatementCursor(cursor, self)

    def close(self) -> None:
        self._duck.close()
        self.closed = True


def open_read_only(
    duckdb_path: Path, memory_limit: str | None = None, threads: int | None = None
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-only (raises duckdb.IOException when missing or locked by a writer)."""
    config: dict[str, Any] = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    return duckdb.connect(str(duckdb_path), read_only=True, config=config)


Variable = float | int | str | Sequence[str]


def session_setup(variables: Mapping[str, Variable], file_search_path: Path | None = None) -> SessionSetup:
    """Settings applied to every cursor: UTC session time zone, suite variables, where relative files resolve."""
    statements = ["SET TimeZone = 'UTC'"]
    if file_search_path is not None:
        statements.append(f"SET file_search_path = {_sql_literal(str(file_search_path))}")
    statements += [f"SET VARIABLE {name} = {_sql_literal(value)}" for name, value in variables.items()]

    def setup(cursor: duckdb.DuckDBPyConnection) -> None:
        for statement in statements:
            cursor.execute(statement)

    return setup


def connection_factory(
    database: duckdb.DuckDBPyConnection, setup: SessionSetup
) -> Callable[[], SharedDatabaseConnection]:
    """The `creator=` for SQLAlchemy: each pooled connection is a cursor of the one read-only database."""

    def create() -> SharedDatabaseConnection:
        connection = database.cursor()
        setup(connection)
        return SharedDatabaseConnection(connection, setup)

    return create


def _sql_literal(value: Variable) -> str:
    if isinstance(value, bool):
        raise TypeError("booleans are not supported as DuckDB variables here")
    if isinstance(value, (int, float)):
        return repr(value)
    if not isinstance(value, str):  # a list of strings: a DuckDB VARCHAR[]
        return "[" + ", ".join(_sql_literal(str(item)) for item in value) + "]::varchar[]"
    return "'" + str(value).replace("'", "''") + "'"

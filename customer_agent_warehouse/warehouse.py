"""A small access layer to the built warehouse on each dbt target (spec §7, §10), for the glue that reads it.

`open_warehouse(target)` returns a connection with `query(sql) -> list[dict]`, `stream(sql)` (the same rows,
fetched in batches) and `columns(schema, table)`; it is read-only unless `writable=True` (only the export's
`--since-last` state writes, with `execute` and `insert_rows`). SQL sent through it is plain, portable SQL
(selects, joins, `not exists`); lists come back as Python lists and timestamps as `datetime` values in UTC.

* `duckdb`: the build file `CA_DUCKDB_PATH` (default `data/warehouse.duckdb`), opened read-only unless writable.
* `postgres`: psycopg2 with `CA_PG_HOST`, `CA_PG_PORT`, `CA_PG_USER`, `CA_PG_PASSWORD`, `CA_PG_DATABASE`.
* `spark`: the managed parquet tables `CA_SPARK_WAREHOUSE/<schema>.db/<table>/` read with pyarrow (no Spark
  session), queried through an in-memory DuckDB that sees each table as the view `<schema>.<table>`.

Every foreseeable problem (no warehouse, a locked file, a server that does not answer, a table that is not
built) is a `WarehouseError` whose message is one line naming what and the fix.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

from customer_agent_warehouse.settings import PROJECT_ROOT, read_variable

TARGETS = ("duckdb", "postgres", "spark")
BATCH_ROWS = 10_000
DEFAULTS = {
    "CA_DUCKDB_PATH": str(PROJECT_ROOT / "data" / "warehouse.duckdb"),
    "CA_SPARK_WAREHOUSE": str(PROJECT_ROOT / "data" / "spark-warehouse"),
    "CA_PG_HOST": "localhost",
    "CA_PG_PORT": "5432",
    "CA_PG_USER": "postgres",
    "CA_PG_PASSWORD": "",
    "CA_PG_DATABASE": "customer_agent",
}


class WarehouseError(Exception):
    """A foreseeable problem with the warehouse: one line that names it and the fix (exit code 2)."""


def _env(name: str) -> str:
    return read_variable(name) or DEFAULTS[name]


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _utc(value: Any) -> Any:
    """Timestamps as naive UTC `datetime` (DuckDB and Postgres `timestamp`); aware ones are converted."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, Decimal):
        return float(value)
    return value


def _row(columns: Sequence[str], values: Sequence[Any]) -> dict[str, Any]:
    return {column: _utc(value) for column, value in zip(columns, values, strict=True)}


def spark_state_dir(warehouse_root: Path) -> Path:
    """Where the export keeps its state for the spark target: a folder beside the Spark warehouse."""
    return warehouse_root.parent / f"{warehouse_root.name}-activation"


class Warehouse:
    """One connection to the built warehouse; use it as a context manager."""

    target = ""

    def __init__(self, description: str) -> None:
        self.description = description

    # --- reading ----------------------------------------------------------------------------------------
    def stream(self, sql: str, batch_rows: int = BATCH_ROWS) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def query(self, sql: str) -> list[dict[str, Any]]:
        return list(self.stream(sql))

    def columns(self, schema: str, table: str) -> list[str]:
        """Column names of a table or view, in order; empty when it does not exist."""
        rows = self.query(
            "select column_name from information_schema.columns "
            f"where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position"
        )
        return [row["column_name"] for row in rows]

    def require(self, schema: str, table: str, fix: str = "build the warehouse first") -> list[str]:
        """The columns of a table that must exist; a WarehouseError naming it and `fix` otherwise."""
        columns = self.columns(schema, table)
        if not columns:
            raise WarehouseError(f"{self.description} has no table {schema}.{table}: {fix}")
        return columns

    # --- writing (only on a writable connection) ---------------------------------------------------------
    def execute(self, sql: str) -> None:
        raise NotImplementedError

    def insert_rows(self, schema: str, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    # --- lifetime --------------------------------------------------------------------------------------------
    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


class DuckDBWarehouse(Warehouse):
    """A DuckDB connection: the build file, or (subclass) an in-memory database over parquet tables."""

    target = "duckdb"

    def __init__(self, path: Path | None, writable: bool = False, description: str | None = None) -> None:
        import duckdb

        self._duckdb = duckdb
        super().__init__(description or f"DuckDB warehouse {path} (CA_DUCKDB_PATH)")
        if path is not None and not path.is_file():
            raise WarehouseError(f"no warehouse file at {path} (CA_DUCKDB_PATH): build it first "
                                 "(`python -m customer_agent_warehouse build`) or point CA_DUCKDB_PATH at it")
        try:
            self._connection = duckdb.connect(str(path) if path else ":memory:", read_only=bool(path) and not writable)
        except duckdb.Error as error:
            raise WarehouseError(self._open_problem(path, writable, error)) from None
        self._connection.execute("set TimeZone = 'UTC'")
        if writable:
            self._connection.execute("begin transaction")

    def _open_problem(self, path: Path | None, writable: bool, error: Exception) -> str:
        message = _first_line(error)
        if "lock" in message.lower():
            need = "this command writes its state there and needs it alone" if writable else "it cannot be read"
            return (f"the warehouse file {path} (CA_DUCKDB_PATH) is in use by another process (a running dbt "
                    f"build?) and {need}: retry when that process has finished")
        return f"cannot open the warehouse file {path} (CA_DUCKDB_PATH): {message}"

    def stream(self, sql: str, batch_rows: int = BATCH_ROWS) -> Iterator[dict[str, Any]]:
        try:
            cursor = self._connection.execute(sql)
            columns = [description[0] for description in cursor.description]
            while batch := cursor.fetchmany(batch_rows):
                for values in batch:
                    yield _row(columns, values)
        except self._duckdb.Error as error:
            raise WarehouseError(f"{self.description}: {_first_line(error)}") from None

    def execute(self, sql: str) -> None:
        try:
            self._connection.execute(sql)
        except self._duckdb.Error as error:
            raise WarehouseError(f"{self.description}: {_first_line(error)}") from None

    def insert_rows(self, schema: str, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        import pyarrow as pa

        if not rows:
            return
        batch = pa.table({column: [row[i] for row in rows] for i, column in enumerate(columns)})
        self._connection.register("_rows_to_insert", batch)
        try:
            self.execute(f"insert into {schema}.{table} ({', '.join(columns)}) "
                         f"select {', '.join(columns)} from _rows_to_insert")
        finally:
            self._connection.unregister("_rows_to_insert")

    def commit(self) -> None:
        self.execute("commit")
        self.execute("begin transaction")

    def close(self) -> None:
        self._connection.close()


class ParquetWarehouse(DuckDBWarehouse):
    """The spark target's managed tables, `<root>/<schema>.db/<table>/*.parquet`, read with pyarrow."""

    target = "spark"

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise WarehouseError(f"no Spark warehouse folder at {root} (CA_SPARK_WAREHOUSE): build it first "
                                 "(`python -m customer_agent_warehouse build --target spark`) or point "
                                 "CA_SPARK_WAREHOUSE at it")
        super().__init__(None, description=f"Spark warehouse {root} (CA_SPARK_WAREHOUSE)")
        self.root = root
        for schema_dir in sorted(root.glob("*.db")):
            self.register_folder(schema_dir.name.removesuffix(".db"), schema_dir)

    def register_folder(self, schema: str, folder: Path) -> None:
        """Every sub-folder of `folder` that holds parquet files becomes the view `<schema>.<sub-folder>`."""
        import pyarrow.dataset as ds

        self._connection.execute(f'create schema if not exists "{schema}"')
        for table_dir in sorted(path for path in folder.iterdir() if path.is_dir()):
            dataset = ds.dataset(table_dir, format="parquet", partitioning="hive")
            if not dataset.files:
                continue
            name = f"_{schema}__{table_dir.name}"
            self._connection.register(name, dataset)
            self._connection.execute(
                f'create or replace view "{schema}"."{table_dir.name}" as select * from "{name}"'
            )


class PostgresWarehouse(Warehouse):
    """A psycopg2 connection to the postgres target's database."""

    target = "postgres"

    def __init__(self, writable: bool = False) -> None:
        import psycopg2

        self._psycopg2 = psycopg2
        host, port, user, database = (_env(name) for name in ("CA_PG_HOST", "CA_PG_PORT", "CA_PG_USER",
                                                              "CA_PG_DATABASE"))
        super().__init__(f"PostgreSQL warehouse {user}@{host}:{port}/{database} (CA_PG_*)")
        try:
            self._connection = psycopg2.connect(host=host, port=port, user=user, password=_env("CA_PG_PASSWORD"),
                                                dbname=database, connect_timeout=10)
        except psycopg2.Error as error:
            raise WarehouseError(f"cannot connect to the {self.description}: {_first_line(error)}; start the "
                                 "server or set CA_PG_HOST, CA_PG_PORT, CA_PG_USER, CA_PG_PASSWORD, "
                                 "CA_PG_DATABASE") from None
        self._connection.set_session(readonly=not writable, autocommit=False)
        self._cursors = 0

    def _fail(self, error: Exception) -> WarehouseError:
        self._connection.rollback()
        return WarehouseError(f"{self.description}: {_first_line(error)}")

    def stream(self, sql: str, batch_rows: int = BATCH_ROWS) -> Iterator[dict[str, Any]]:
        self._cursors += 1
        try:
            with self._connection.cursor(name=f"export_{self._cursors}") as cursor:
                cursor.itersize = batch_rows
                cursor.execute(sql)
                columns: list[str] | None = None
                for values in cursor:
                    columns = columns or [description[0] for description in cursor.description]
                    yield _row(columns, values)
        except self._psycopg2.Error as error:
            raise self._fail(error) from None

    def execute(self, sql: str) -> None:
        try:
            with self._connection.cursor() as cursor:
                cursor.execute(sql)
        except self._psycopg2.Error as error:
            raise self._fail(error) from None

    def insert_rows(self, schema: str, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        from psycopg2.extras import execute_values

        try:
            with self._connection.cursor() as cursor:
                execute_values(cursor, f"insert into {schema}.{table} ({', '.join(columns)}) values %s",
                               [tuple(row) for row in rows], page_size=BATCH_ROWS)
        except self._psycopg2.Error as error:
            raise self._fail(error) from None

    def commit(self) -> None:
        self._connection.commit()

    def close(self) -> None:
        self._connection.close()


def open_warehouse(target: str, writable: bool = False) -> Warehouse:
    """A connection to the warehouse that `dbt build --target <target>` wrote (read-only unless writable)."""
    if target == "duckdb":
        return DuckDBWarehouse(Path(_env("CA_DUCKDB_PATH")).expanduser().resolve(), writable=writable)
    if target == "postgres":
        return PostgresWarehouse(writable=writable)
    if target == "spark":
        return ParquetWarehouse(Path(_env("CA_SPARK_WAREHOUSE")).expanduser().resolve())
    raise WarehouseError(f"unknown target {target!r}: use one of {', '.join(TARGETS)}")

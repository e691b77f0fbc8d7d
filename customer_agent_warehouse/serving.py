"""The serving copy: what BI tools and analysts open, published atomically after a successful build.

dbt writes the BUILD file (`CA_DUCKDB_PATH`) and holds DuckDB's write lock on it while it runs; a BI tool that
opened it would block the build and see half-built tables. `publish` copies the build file into a new file in
the folder of the SERVING copy (`CA_DUCKDB_SERVING_PATH`), checks it, flushes it to disk and renames it over the
serving copy (`os.replace`, atomic on POSIX):

* a reader that holds the old serving file open keeps reading the old file (its inode) until it reconnects;
  a new connection opens the new file; no reader ever sees a half-written file or a mix of two builds;
* a failed build or validation publishes nothing: the last good copy stays;
* the copy is written with DuckDB storage version `STORAGE_VERSION`, readable by DuckDB 1.1 and later (many
  BI drivers embed a DuckDB 1.x); views of the build file become tables (a view's SQL would bind to the
  catalog of whoever attaches the file), except views only dbt can read (the raw-zone sources, views of
  data frames of the dbt process), which are left out;
* the file is made read-only (0444) and a stale `<serving>.wal` is removed before the rename, so a client
  that opened the copy read-write cannot leave a write-ahead log that DuckDB would replay onto the next copy.

`publish --parquet DIR` (or `--parquet` of build/run) also writes every table of the schemas `marts` and
`segments` as `DIR/<schema>/<table>.parquet` (each file replaced atomically) and `DIR/_published.json`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from customer_agent_warehouse.arguments import add_parquet_argument
from customer_agent_warehouse.locking import BuildLock, busy_message, lock_path_for
from customer_agent_warehouse.quoting import quote_identifier, sql_literal
from customer_agent_warehouse.serving_delta import (
    DeltaOutcome,
    Signature,
    apply_changes,
    attach_sql,
    forget_signatures,
    read_signatures,
    relation_signature,
    schemas_sql,
    start_from,
    write_signatures,
)
from customer_agent_warehouse.settings import Settings, UsageError, load_settings

STORAGE_VERSION = "v1.1.0"
PARQUET_SCHEMAS = ("marts", "segments")
BUILD_HINT = "run `python -m customer_agent_warehouse build` (or `./run.sh`) first"


class WarehouseMissing(UsageError):
    """There is no warehouse file where the settings say."""


@dataclass
class Published:
    serving: Path
    rows: dict[str, int]
    seconds: float
    parquet: list[Path] = field(default_factory=list)
    changes: str | None = None  # incremental publish: relations copied / appended / unchanged / dropped


def open_read_only(path: Path, role: str = "warehouse", lock_path: Path | None = None) -> Any:
    """A read-only DuckDB connection, or a one-line UsageError for a missing or locked file."""
    import duckdb

    if not path.is_file():
        raise WarehouseMissing(f"no {role} at {path}: {BUILD_HINT}")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise UsageError(busy_message(path, lock_path or lock_path_for(path))) from None
        first = str(error).splitlines()[0]
        raise UsageError(f"cannot open the {role} {path}: {first}") from None


def relation_rows(connection: Any, database: str | None = None, skip: Iterable[str] = ()) -> dict[str, int]:
    """`schema.name` -> row count of every table and view (of one attached database, or the default one), but
    the skipped ones."""
    where = f"database_name = {sql_literal(database)}" if database else "database_name = current_database()"
    names = connection.execute(
        f"select schema_name, table_name from duckdb_tables() where {where} union all "
        f"select schema_name, view_name from duckdb_views() where {where} and not internal order by 1, 2"
    ).fetchall()
    prefix = f"{quote_identifier(database)}." if database else ""
    skipped = set(skip)
    return {f"{schema}.{name}": connection.execute(
                f"select count(*) from {prefix}{quote_identifier(schema)}.{quote_identifier(name)}").fetchone()[0]
            for schema, name in names if f"{schema}.{name}" not in skipped}


def _copy(build: Path, temporary: Path, settings: Settings) -> dict[str, int]:
    """Copy every schema of the build file into `temporary` (storage STORAGE_VERSION), views as tables."""
    import duckdb

    spill = temporary.parent / ".publish.tmp"
    config = {"memory_limit": settings.duckdb_memory, "threads": int(settings.duckdb_threads),
              "temp_directory": str(spill)}
    with duckdb.connect(":memory:", config=config) as connection:
        connection.execute(f"attach {sql_literal(build)} as build_db (read_only)")
        connection.execute(f"attach {sql_literal(temporary)} as serving_db (storage_version '{STORAGE_VERSION}')")
        connection.execute("copy from database build_db to serving_db")
        unreadable = _views_as_tables(connection)
        rows = relation_rows(connection, "build_db", skip=unreadable)
        connection.execute("detach serving_db")  # checkpoints: the file is complete, no WAL left
    return rows


def _readable_relations(connection: Any) -> tuple[dict[str, str], set[str]]:
    """Every relation of build_db -> 'table' or 'view', and the views only dbt can read (left out)."""
    import duckdb

    relations = {f"{schema}.{name}": "table" for schema, name in connection.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = 'build_db'").fetchall()}
    unreadable: set[str] = set()
    for schema, view in connection.execute("select schema_name, view_name from duckdb_views() "
                                           "where database_name = 'build_db' and not internal").fetchall():
        try:
            connection.execute(f"select * from build_db.{quote_identifier(schema)}.{quote_identifier(view)} limit 0")
            relations[f"{schema}.{view}"] = "view"
        except duckdb.CatalogException:
            unreadable.add(f"{schema}.{view}")
    return relations, unreadable


def _copy_whole(connection: Any, relation: str, kind: str) -> None:
    """One relation of build_db as a table of serving_db, with its comments."""
    schema, name = relation.split(".", 1)
    qualified = f"{quote_identifier(schema)}.{quote_identifier(name)}"
    connection.execute(f"create table serving_db.{qualified} as select * from build_db.{qualified}")
    catalog = "duckdb_tables() where table_name" if kind == "table" else "duckdb_views() where view_name"
    comment = connection.execute(f"select comment from {catalog} = ? and schema_name = ? "
                                 "and database_name = 'build_db'", [name, schema]).fetchone()
    if comment and comment[0]:
        connection.execute(f"comment on table serving_db.{qualified} is {sql_literal(comment[0])}")
    _copy_column_comments(connection, schema, name)


def _copy_changes(build: Path, temporary: Path, settings: Settings, previous: dict[str, Signature],
                  ) -> tuple[dict[str, int], DeltaOutcome]:
    """Bring `temporary` (a copy of the last serving copy) up to date with the build file (serving_delta.py)."""
    import duckdb

    config = {"memory_limit": settings.duckdb_memory, "threads": int(settings.duckdb_threads),
              "temp_directory": str(temporary.parent / ".publish.tmp")}
    with duckdb.connect(":memory:", config=config) as connection:
        connection.execute(attach_sql(build, "build_db", read_only=True))
        connection.execute(attach_sql(temporary, "serving_db"))
        relations, unreadable = _readable_relations(connection)
        for statement in schemas_sql(sorted({relation.split(".", 1)[0] for relation in relations})):
            connection.execute(statement)
        outcome = apply_changes(connection, relations, previous,
                                lambda relation, kind: _copy_whole(connection, relation, kind))
        rows = relation_rows(connection, "build_db", skip=unreadable)
        connection.execute("detach serving_db")
    return rows, outcome


def describe_serving_copy(settings: Settings) -> bool:
    """Write the signatures of the serving copy as it is, when none describe it (`run --watch` at start-up, so its
    first publish copies only what changed); True when it wrote them."""
    serving = settings.serving
    if not serving.is_file() or read_signatures(serving) is not None:
        return False
    write_signatures(serving, _signatures_of_build(serving, settings))
    return True


def _signatures_of_build(build: Path, settings: Settings) -> dict[str, Signature]:
    """The signatures of every readable relation of a DuckDB file (the build file, or the serving copy)."""
    import duckdb

    with duckdb.connect(":memory:", config={"memory_limit": settings.duckdb_memory,
                                            "threads": int(settings.duckdb_threads)}) as connection:
        connection.execute(attach_sql(build, "build_db", read_only=True))
        relations, _ = _readable_relations(connection)
        return {relation: relation_signature(connection, relation)[0] for relation in relations}


def _views_as_tables(connection: Any) -> set[str]:
    """Replace every view of the copy by a table of its rows. A view that only dbt can read (the raw-zone
    sources are views of data frames that live in the dbt process) is left out; returns those views."""
    import duckdb

    unreadable: set[str] = set()
    views = connection.execute("select schema_name, view_name, comment from duckdb_views() "
                               "where database_name = 'build_db' and not internal").fetchall()
    for schema, view, comment in views:
        name = f"{quote_identifier(schema)}.{quote_identifier(view)}"
        connection.execute(f"drop view serving_db.{name}")
        try:
            connection.execute(f"create table serving_db.{name} as select * from build_db.{name}")
        except duckdb.CatalogException:
            unreadable.add(f"{schema}.{view}")
            continue
        if comment:
            connection.execute(f"comment on table serving_db.{name} is {sql_literal(comment)}")
        _copy_column_comments(connection, schema, view)
    return unreadable


def _copy_column_comments(connection: Any, schema: str, relation: str) -> None:
    """The build's column comments (dbt persist_docs) on the serving copy's table made from a view."""
    comments = connection.execute(
        "select column_name, comment from duckdb_columns() where database_name = 'build_db' and schema_name = ? "
        "and table_name = ? and comment is not null", [schema, relation]).fetchall()
    for column, comment in comments:
        target = ".".join(quote_identifier(name) for name in (schema, relation, column))
        connection.execute(f"comment on column serving_db.{target} is {sql_literal(comment)}")


def _fsync(path: Path, directory: bool = False) -> None:
    descriptor = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _remove(paths: Iterable[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _check_copy(temporary: Path, expected: dict[str, int]) -> None:
    import duckdb

    with duckdb.connect(str(temporary), read_only=True) as connection:
        copied = relation_rows(connection)
    if copied != expected:
        differing = sorted(name for name in set(copied) | set(expected) if copied.get(name) != expected.get(name))
        raise UsageError(f"publish: the copy differs from the build file in {', '.join(differing[:5])}; "
                         "the serving copy was left as it was")


def publish(settings: Settings, parquet_dir: Path | None = None, incremental: bool = False) -> Published:
    """Publish the build file as the serving copy (atomically), and optionally as Parquet files.

    `incremental` (run --watch): start from the last serving copy and copy only what changed (serving_delta.py)."""
    started = time.monotonic()
    build, serving = settings.duckdb_path, settings.serving
    if not build.is_file():
        raise WarehouseMissing(f"no build file at {build}: {BUILD_HINT}")
    if serving == build:
        raise UsageError(f"CA_DUCKDB_SERVING_PATH must differ from CA_DUCKDB_PATH ({build})")
    serving.parent.mkdir(parents=True, exist_ok=True)
    # Left by a publish that was killed (publishing holds the build lock, so none is running now).
    _remove(serving.parent.glob(f".{serving.name}.publish-*"))
    temporary = serving.with_name(f".{serving.name}.publish-{os.getpid()}")
    previous = read_signatures(serving) if incremental and serving.is_file() else None
    delta: DeltaOutcome | None = None
    try:
        if previous is not None:
            start_from(serving, temporary)
            rows, delta = _copy_changes(build, temporary, settings, previous)
        else:
            rows = _copy(build, temporary, settings)
        _check_copy(temporary, rows)
        temporary.chmod(0o444)
        _fsync(temporary)
        _remove([serving.with_name(serving.name + ".wal")])
        os.replace(temporary, serving)
        _fsync(serving.parent, directory=True)
    finally:
        _remove([temporary, temporary.with_name(temporary.name + ".wal")])
    if incremental:
        write_signatures(serving, delta.signatures if delta else _signatures_of_build(build, settings))
    else:
        forget_signatures(serving)
    published = Published(serving, rows, 0.0, changes=delta.summary() if delta else None)
    if parquet_dir is not None:
        published.parquet = export_parquet(serving, parquet_dir.expanduser().resolve())
    published.seconds = time.monotonic() - started
    return published


def export_parquet(serving: Path, out: Path) -> list[Path]:
    """Every table of the marts and segments schemas of the serving copy as `out/<schema>/<table>.parquet`."""
    import duckdb

    written: list[Path] = []
    rows: dict[str, int] = {}
    with duckdb.connect(str(serving), read_only=True) as connection:
        tables = connection.execute(
            "select schema_name, table_name, estimated_size from duckdb_tables() where schema_name in "
            f"({', '.join(sql_literal(schema) for schema in PARQUET_SCHEMAS)}) order by 1, 2").fetchall()
        for schema, table, _ in tables:
            path = out / schema / f"{table}.parquet"
            temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            path.parent.mkdir(parents=True, exist_ok=True)
            connection.execute(f"copy {quote_identifier(schema)}.{quote_identifier(table)} to {sql_literal(temporary)} "
                               "(format parquet)")
            os.replace(temporary, path)
            rows[f"{schema}.{table}"] = connection.execute(
                f"select count(*) from {quote_identifier(schema)}.{quote_identifier(table)}").fetchone()[0]
            written.append(path)
    manifest = out / "_published.json"
    manifest.write_text(json.dumps({"published_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                                    "serving_copy": str(serving), "rows": rows}, indent=2))
    return written


def print_published(published: Published) -> None:
    print(f"==> published {published.serving} ({len(published.rows)} relations, DuckDB storage "
          f"{STORAGE_VERSION}) in {published.seconds:.1f}s", flush=True)
    if published.parquet:
        print(f"==> parquet: {len(published.parquet)} files in {published.parquet[0].parent.parent}", flush=True)


def add_publish_arguments(parser: argparse.ArgumentParser) -> None:
    add_parquet_argument(parser)


def run_publish(args: argparse.Namespace) -> int:
    settings = load_settings()
    with BuildLock(settings.duckdb_path, lock_path_for(settings.duckdb_path)):
        print_published(publish(settings, args.parquet))
    return 0

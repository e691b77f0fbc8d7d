"""`build --target spark_thrift`: the warehouse built by a Spark Thrift server (a cluster's shared SQL endpoint).

The server owns its warehouse, its metastore and its Spark settings; this process has no session of it, so the raw
lines reach it through files:

1. the raw loader (ingest/spark_loader.py, unchanged) runs in a Spark session of this process (master
   `CA_SPARK_MASTER`, default `local[2]`: point it at the server's cluster to read on the workers) whose warehouse
   is the landing folder `CA_SPARK_WAREHOUSE`, with its own Derby metastore beside it. It writes the raw tables
   `<landing>/raw.db/<table>/` as parquet, exactly as for `--target spark`;
2. through the Thrift server, `raw.<table>` are external parquet tables over those folders (created once; every
   load adds the new file buckets with `recover partitions` and refreshes the server's file listing);
3. dbt runs `build --target spark_thrift` (dbt-spark `method: thrift`, CA_SPARK_HOST / CA_SPARK_PORT /
   CA_SPARK_USER): the models read `raw.*` and write the server's managed tables.

The landing folder must be a path the server (its driver and executors) reads at the same name: a shared file
system, or the same machine.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from customer_agent_warehouse.dbt_runner import DbtRunner, build_arguments
from customer_agent_warehouse.ingest.sources import RAW_SCHEMA, RAW_TABLES
from customer_agent_warehouse.ingest.spark_loader import LINE_COLUMNS, _manifest_ddl
from customer_agent_warehouse.loading import run_load_step
from customer_agent_warehouse.settings import Settings, UsageError, setting


@contextlib.contextmanager
def thrift_cursor() -> Iterator[Any]:
    """A PyHive cursor on the Thrift server of CA_SPARK_HOST / CA_SPARK_PORT as CA_SPARK_USER."""
    from pyhive import hive

    host, port = setting("CA_SPARK_HOST"), int(setting("CA_SPARK_PORT"))
    try:
        connection = hive.connect(host=host, port=port, username=setting("CA_SPARK_USER"))
    except Exception as error:  # thrift raises TTransportException, an OSError or a sasl error
        raise UsageError(f"cannot reach the Spark Thrift server {host}:{port} (CA_SPARK_HOST, CA_SPARK_PORT): "
                         f"{str(error).splitlines()[0] if str(error) else type(error).__name__}; start it or fix "
                         "them") from None
    with contextlib.closing(connection), contextlib.closing(connection.cursor()) as cursor:
        yield cursor


def _location(path: Path) -> str:
    return "'" + str(path).replace("\\", "\\\\").replace("'", "\\'") + "'"


def raw_table_statements(landing: Path, full_refresh: bool = False) -> list[str]:
    """SQL the server runs after a load: `raw.*` as external parquet tables over the landing folders (dropped
    first on a full refresh, which drops only the server's entries, never the files)."""
    statements = [f"create database if not exists {RAW_SCHEMA}"]
    for lines, files in RAW_TABLES.values():
        lines_table, files_table = f"{RAW_SCHEMA}.{lines}", f"{RAW_SCHEMA}.{files}"
        if full_refresh:
            statements += [f"drop table if exists {lines_table}", f"drop table if exists {files_table}"]
        statements += [
            f"create table if not exists {lines_table} ({LINE_COLUMNS}, file_bucket int) using parquet "
            f"partitioned by (file_bucket) location {_location(landing / f'{RAW_SCHEMA}.db' / lines)}",
            f"alter table {lines_table} recover partitions",
            f"refresh table {lines_table}",
            f"create table if not exists {files_table} ({_manifest_ddl()}) using parquet "
            f"location {_location(landing / f'{RAW_SCHEMA}.db' / files)}",
            f"refresh table {files_table}",
        ]
    return statements


def register_raw_tables(landing: Path, full_refresh: bool = False) -> None:
    with thrift_cursor() as cursor:
        for statement in raw_table_statements(landing, full_refresh):
            cursor.execute(statement)


def spark_thrift_build(settings: Settings, args: argparse.Namespace) -> int:
    """Load the raw zone into the landing folder, show it to the Thrift server, run `dbt build` through it."""
    from customer_agent_warehouse.spark_session import warehouse_path

    landing = warehouse_path()
    run_load_step(replace(settings, target="spark"), "spark", args.vars, args.full_refresh)  # its own session
    register_raw_tables(landing, args.full_refresh)
    runner = DbtRunner.for_settings(settings, "spark_thrift")
    return runner.run(build_arguments(args.full_refresh, args.unit_tests), args.vars).returncode

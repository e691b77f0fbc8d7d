"""Issue 24: the `spark_thrift` output. A Spark Thrift server (HiveThriftServer2 from the pinned pyspark) runs on the
session's standalone cluster with the settings of the `spark` output and its own warehouse and Derby metastore;
`build --target spark_thrift` lands the raw lines as parquet in its landing folder (CA_SPARK_WAREHOUSE, a session
of its own on local[1]), shows them to the server as external `raw.*` tables, and dbt builds through the server
(dbt-spark `method: thrift`). The hand-derived scenarios, delivered in two parts, give the same marts, segments
and audit relations as DuckDB, row by row, read from the server's parquet files.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from customer_agent_warehouse.spark_cluster import Cluster, ThriftServer, thrift_server
from customer_agent_warehouse.spark_thrift import raw_table_statements
from tests.python import test_facts_e2e as facts
from tests.python.compare import DuckDBReader, differences
from tests.python.spark import SparkBuilds, SparkParquetReader
from tests.python.test_spark_e2e import AS_OF, BUILD_TIME_COLUMNS, RELATIONS, write_scenarios
from tests.python.warehouse import Warehouse

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def server(spark_env: dict[str, str], spark_cluster: Cluster,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ThriftServer, Path]]:
    """The Thrift server on the cluster, its warehouse in a temporary folder; stopped by pid after the module."""
    root = tmp_path_factory.mktemp("spark_thrift")
    warehouse = root / "server-warehouse"
    with thrift_server(spark_cluster.master_url, warehouse, root,
                       {"CA_SPARK_DRIVER_MEMORY": spark_env["CA_SPARK_DRIVER_MEMORY"]}) as running:
        yield running, warehouse


def assert_same(duckdb_warehouse: Warehouse, warehouse: Path) -> None:
    duckdb_reader, spark_reader = DuckDBReader(str(duckdb_warehouse.db)), SparkParquetReader(warehouse)
    found = [difference for relation in RELATIONS
             if (difference := differences(duckdb_reader, spark_reader, relation, BUILD_TIME_COLUMNS))]
    assert not found, "\n".join(found)


def test_the_scenarios_built_through_a_thrift_server_equal_duckdb(
        spark_env: dict[str, str], server: tuple[ThriftServer, Path], tmp_path: Path) -> None:
    running, warehouse = server
    duckdb_warehouse = Warehouse(root=tmp_path, vars=dict(AS_OF))
    env = dict(spark_env, **running.env(), CA_SPARK_MASTER="local[1]",
               CA_SPARK_WAREHOUSE=str(tmp_path / "landing"), DBT_TARGET_PATH=str(tmp_path / "target"),
               DBT_LOG_PATH=str(tmp_path / "logs"))
    spark = SparkBuilds(env=env, raw=duckdb_warehouse.raw)
    write_scenarios(duckdb_warehouse)
    for delivery in range(2):
        if delivery:
            duckdb_warehouse.write("conversation_logs", "facts/part-0003.jsonl", facts.logs_batch_b())
        duckdb_warehouse.build()
        result = spark.cli("build", "--target", "spark_thrift", vars=AS_OF)
        assert result.returncode == 0, f"build --target spark_thrift failed:\n{result.stdout[-8000:]}\n" \
                                       f"{result.stderr[-3000:]}"
        assert_same(duckdb_warehouse, warehouse)
    assert (warehouse / "marts.db" / "fct_conversation_started").is_dir()
    assert not (warehouse / "raw.db").exists() or not any((warehouse / "raw.db").iterdir())


def test_after_a_load_the_server_sees_new_buckets_and_files_and_a_full_refresh_drops_only_its_entries() -> None:
    statements = raw_table_statements(Path("/landing"))
    lines = "raw.conversation_log_lines"
    assert f"alter table {lines} recover partitions" in statements
    assert statements.index(f"alter table {lines} recover partitions") < statements.index(f"refresh table {lines}")
    assert any(statement.startswith(f"create table if not exists {lines} (") and
               statement.endswith("location '/landing/raw.db/conversation_log_lines'") for statement in statements)
    assert not any(statement.startswith("drop") for statement in statements)
    refreshed = raw_table_statements(Path("/landing"), full_refresh=True)
    assert refreshed.index(f"drop table if exists {lines}") < refreshed.index(
        next(statement for statement in refreshed if statement.startswith(f"create table if not exists {lines}")))

"""Issue 24: incremental builds on Spark rebuild only the partitions of what changed, and stay exact.

One raw zone (the facts, segments and dashboard scenarios and a small generated zone) is delivered in parts and
built with `build --target spark` after each part, and by dbt on DuckDB on the same raw zone:

1. a full build, then an increment with late records of old conversations and new conversations: after each,
   every mart, segment and audit relation equals DuckDB's (event ids included);
2. a build with no new raw file rewrites no data file of the incremental marts;
3. an increment of one late record, whose build is killed while a mart is being built, then built again: equal
   to DuckDB, and only a small share of the incremental marts' files was rewritten;
4. `--full-refresh` gives the same relations as the incremental history.

Spark's tables are read from their parquet files with pyarrow (tests/python/spark.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.python import test_facts_e2e as facts
from tests.python.compare import DuckDBReader, Row, differences, snapshot
from tests.python.spark import SparkBuilds
from tests.python.test_spark_e2e import BUILD_TIME_COLUMNS, RELATIONS, generate, write_scenarios
from tests.python.warehouse import PROJECT_ROOT, Warehouse

pytestmark = pytest.mark.spark

AS_OF = {"as_of": "2026-11-21T12:00:00Z"}
GENERATED_CONVERSATIONS = 60
#: The incremental marts: the conversation-grain marts, attributed orders, profiles and the daily marts.
INCREMENTAL_MARTS = [
    "fct_conversation_started", "fct_conversation_resolved", "fct_conversation_escalated",
    "fct_product_recommendation_received", "fct_product_recommendation_items", "fct_customer_agent_events",
    "dim_conversations", "fct_attributed_orders", "dim_profiles", "agg_customer_agent_daily",
    "agg_skill_performance",
]
#: The model whose start marks the moment the killed build is stopped (staging and intermediate are done).
KILL_MARKER = "START sql incremental model marts.fct_conversation_resolved"
KILL_DEADLINE_SECONDS = 1200
FileState = dict[str, tuple[int, int]]


def mart_files(warehouse: Path) -> FileState:
    """Every data file of the incremental marts: path -> (mtime in ns, size). Readers skip hidden files and folders
    (`.`, `_`: a killed write's staging folder), so they are not data files."""
    files: FileState = {}
    for table in INCREMENTAL_MARTS:
        folder = warehouse / "marts.db" / table
        assert folder.is_dir(), f"{folder} is missing"
        for path in folder.rglob("*.parquet"):
            relative = path.relative_to(folder)
            if not any(part.startswith((".", "_")) for part in relative.parts):
                status = path.stat()
                files[str(path.relative_to(warehouse))] = (status.st_mtime_ns, status.st_size)
    return files


def partitions(warehouse: Path, table: str) -> set[str]:
    return {path.name for path in (warehouse / "marts.db" / table).iterdir() if path.is_dir()}


def rewritten(before: FileState, after: FileState) -> set[str]:
    """Files written, replaced or removed between two states."""
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


def assert_same_as_duckdb(duckdb_warehouse: Warehouse, spark: SparkBuilds) -> None:
    duckdb_reader = DuckDBReader(str(duckdb_warehouse.db))
    found = [difference for relation in RELATIONS
             if (difference := differences(duckdb_reader, spark.reader(), relation, BUILD_TIME_COLUMNS))]
    assert not found, "\n".join(found)


def spark_snapshot(spark: SparkBuilds) -> dict[str, tuple[list[str], list[Row]]]:
    return {relation: snapshot(spark.reader(), relation, BUILD_TIME_COLUMNS) for relation in RELATIONS}


def build_killed_at_marker(spark: SparkBuilds, log_file: Path) -> None:
    """`build --target spark` in its own process group, killed (SIGKILL) once the marker model has started."""
    log_file.unlink(missing_ok=True)
    command = [sys.executable, "-m", "customer_agent_warehouse", "build", "--target", "spark", "--vars",
               '{"as_of": "2026-11-21T12:00:00Z"}']
    env = dict(spark.env, CA_RAW_PATH=str(spark.raw))
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + KILL_DEADLINE_SECONDS
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if log_file.is_file() and KILL_MARKER in log_file.read_text(errors="replace"):
                break
            time.sleep(0.2)
        assert process.poll() is None, "the build ended before the marker model started"
        assert time.monotonic() < deadline, f"no '{KILL_MARKER}' in {log_file} within {KILL_DEADLINE_SECONDS} s"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)


@dataclass
class History:
    duckdb: Warehouse
    spark: SparkBuilds
    log_file: Path
    noop_rewritten: set[str] | None = None
    increment_rewritten: set[str] | None = None
    files_before_increment: int = 0


@pytest.fixture(scope="module")
def history(spark_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    """Full build, then an increment of late records and new conversations; compared with DuckDB after each."""
    root = tmp_path_factory.mktemp("spark_incremental")
    duckdb_warehouse = Warehouse(root=root, vars=dict(AS_OF))
    env = dict(spark_env, CA_SPARK_WAREHOUSE=str(root / "spark-warehouse"), DBT_TARGET_PATH=str(root / "target"),
               DBT_LOG_PATH=str(root / "logs"))
    spark = SparkBuilds(env=env, raw=duckdb_warehouse.raw)
    write_scenarios(duckdb_warehouse)
    generate(duckdb_warehouse.raw, GENERATED_CONVERSATIONS, "g1", seed=7)
    parts = [
        lambda: None,
        lambda: (duckdb_warehouse.write("conversation_logs", "facts/part-0003.jsonl", facts.logs_batch_b()),
                 generate(duckdb_warehouse.raw, 10, "g2", seed=8)),
    ]
    for add_files in parts:
        add_files()
        duckdb_warehouse.build()
        spark.build(vars=AS_OF)
        assert_same_as_duckdb(duckdb_warehouse, spark)
    yield History(duckdb_warehouse, spark, root / "logs" / "dbt.log")


@pytest.fixture(scope="module")
def after_noop(history: History) -> History:
    """A build with no new raw file."""
    before = mart_files(history.spark.warehouse)
    history.spark.build(vars=AS_OF)
    history.noop_rewritten = rewritten(before, mart_files(history.spark.warehouse))
    return history


@pytest.fixture(scope="module")
def after_killed_increment(after_noop: History) -> History:
    """One late record of an old conversation; the build is killed at a mart, then built again."""
    history = after_noop
    history.duckdb.write("conversation_logs", "facts/part-0004.jsonl", [
        facts.log("c1-late", "c1", "2026-11-20T10:00:06Z", "tag", "system", tags=["Late Tag"]),
    ])
    history.duckdb.build()
    before = mart_files(history.spark.warehouse)
    build_killed_at_marker(history.spark, history.log_file)
    history.spark.build(vars=AS_OF)
    history.increment_rewritten = rewritten(before, mart_files(history.spark.warehouse))
    history.files_before_increment = len(before)
    return history


def test_incremental_spark_builds_equal_duckdb(history: History) -> None:
    conversations = {row[0] for row in history.spark.reader().rows("marts.dim_conversations", ["conversation_id"])}
    assert {"c7", "c9"} <= conversations  # the late and new records of the second part arrived
    # One folder per bucket of the default var spark_rebuild_buckets (32), as Spark writes them.
    buckets = partitions(history.spark.warehouse, "dim_conversations")
    assert len(buckets) > 8 and buckets <= {f"rebuild_bucket={bucket}" for bucket in range(32)}, buckets


def test_a_build_without_new_files_rewrites_no_mart_file(after_noop: History) -> None:
    assert after_noop.noop_rewritten == set()
    assert_same_as_duckdb(after_noop.duckdb, after_noop.spark)


def test_a_killed_build_then_a_rebuild_is_exact_and_rewrites_a_small_share(after_killed_increment: History) -> None:
    history = after_killed_increment
    assert_same_as_duckdb(history.duckdb, history.spark)
    tags = history.spark.reader().rows("marts.dim_conversations", ["conversation_id", "tags"])
    assert any(conversation == "c1" and "late_tag" in list(tags_of) for conversation, tags_of in tags)
    assert history.increment_rewritten, "the late record rewrote no mart file"
    share = len(history.increment_rewritten) / history.files_before_increment
    assert share <= 0.25, f"{len(history.increment_rewritten)} of {history.files_before_increment} mart files rewritten"


def test_incremental_history_equals_a_full_refresh(after_killed_increment: History) -> None:
    history = after_killed_increment
    incremental = spark_snapshot(history.spark)
    history.spark.build("--full-refresh", vars=AS_OF)
    full = spark_snapshot(history.spark)
    found = [relation for relation in RELATIONS if incremental[relation] != full[relation]]
    assert not found, f"incremental and --full-refresh differ on Spark: {found}"

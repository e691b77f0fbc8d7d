"""Issues 15 and 24: the warehouse on Apache Spark, on a standalone cluster, equals the DuckDB build row by row
(event ids included), and its incremental builds rewrite only what changed.

One raw zone holds the end-to-end scenarios of tests/python (the facts, segments, dashboard and money scenarios),
a few hostile files (invalid JSON, wrong field types, a BOM, CRLF line ends, a truncated gzip stream, bytes that
are not UTF-8, an empty and a hidden file: the lines the Spark loader hands over from the shared reader) and a
generated raw zone of CA_TEST_SPARK_CONVERSATIONS conversations (default 2,000). It is built with
`build --target spark` on the session's two-worker standalone cluster (the driver in the CLI's process, the
executors on the workers) and by dbt on DuckDB, in one history:

1. a full build;
2. an increment: late records of old conversations (the facts scenario's batch B) and new generated files;
3. a build with no new raw file: no data file of the incremental marts is rewritten;
4. an increment of one late record and new generated files, whose build is killed while a mart is being built,
   then built again: only a small share of the incremental marts' files is rewritten;
5. `--full-refresh`: the same relations as the incremental history.

After every build every mart, segment and audit relation (manifest and reconciliation included) equals DuckDB's.
Spark's tables are read from their parquet files with pyarrow (tests/python/spark.py).
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from customer_agent_warehouse.pipeline import SUMMARY_RELATIONS
from customer_agent_warehouse.spark_cluster import Cluster
from tests.python import test_facts_e2e as facts
from tests.python import test_performance_e2e as performance
from tests.python import test_segments_e2e as segments
from tests.python.compare import DuckDBReader, differences, snapshot
from tests.python.spark import SparkBuilds
from tests.python.warehouse import PROJECT_ROOT, Warehouse

pytestmark = pytest.mark.spark

AS_OF = {"as_of": "2026-11-21T12:00:00Z"}
CONVERSATIONS = int(os.environ.get("CA_TEST_SPARK_CONVERSATIONS", "2000"))
GENERATED_START = "2026-10-20"
MONEY_DAYS = ("2026-10-10", "2026-10-12")  # before the generated days: the money scenario's rows are its own
# The relations the run summary counts (the facts, the dashboard marts, segments, rejections), the profile
# dimension, the ingestion manifest and reconciliation: every mart, segment and audit table.
RELATIONS = [*SUMMARY_RELATIONS, "marts.dim_profiles", "audit.ingestion_manifest", "audit.reconciliation"]
#: When a build read a line or file: differs between two builds of the same data.
BUILD_TIME_COLUMNS = ["loaded_at", "processed_at", "ingested_at", "checked_at", "first_seen_at", "first_seen_ns",
                      "ingested_ns", "checked_ns"]


def write_hostile_files(warehouse: Warehouse) -> None:
    """Files the Spark loader does not give to Spark's text source: the reader's lines go instead."""
    logs = warehouse.raw / "conversation_logs" / "hostile"
    logs.mkdir(parents=True)
    good = '{"log_id": "h%d", "conversation_id": "ch", "occurred_at": "2026-11-20T10:00:0%dZ", ' \
           '"type": "message", "actor": "shopper", "text": "hi", "channel": "sms"}'
    (logs / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + (good % (1, 1)).encode() + b"\n")
    (logs / "crlf.jsonl").write_bytes(((good % (2, 2)) + "\r\n" + (good % (3, 3)) + "\r\n").encode())
    (logs / "not_utf8.jsonl").write_bytes((good % (4, 4)).encode() + b"\n{\"log_id\": \"\xff\xfe\"}\n")
    (logs / "mixed.jsonl").write_text("\n".join([
        good % (5, 5), "not json at all", "[1, 2]", "", '{"log_id": "h6", "conversation_id": "ch", '
        '"occurred_at": "2026-11-20T10:00:06Z", "type": "tag", "tags": "not-a-list"}',
        '{"log_id": "h7", "conversation_id": "ch", "occurred_at": 99999999999999999, "type": "message"}',
        '{"log_id": "h8", "conversation_id": "ch", "occurred_at": "2026-13-45T10:00:00Z", "type": "message"}',
        '{"log_id": "h9", "conversation_id": "ch", "occurred_at": "2026-11-20T10:00:09+01:00", "type": "skill", '
        '"skill": " Order-Tracking "}',
    ]) + "\n")
    whole = "".join((good % (n, n % 10)) + "\n" for n in range(10, 40)).encode()
    (logs / "truncated.jsonl.gz").write_bytes(gzip.compress(whole, mtime=0)[:-30])
    (logs / "empty.jsonl").write_bytes(b"")
    (logs / "_in_progress.jsonl").write_text(good % (99, 9) + "\n")


def write_money_conversation(warehouse: Warehouse, name: str, day: str, values: list[str]) -> None:
    """A whatsapp conversation of profile `name` on `day` with an agent touch, and orders of `values` after it."""
    touch = {"conversation_id": f"{name}-c", "profile_id": name, "channel": "whatsapp", "type": "message"}
    warehouse.write("conversation_logs", f"money/{name}.jsonl", [
        {**touch, "log_id": f"{name}-l1", "occurred_at": f"{day}T09:00:00Z", "actor": "shopper", "text": "hi"},
        {**touch, "log_id": f"{name}-l2", "occurred_at": f"{day}T09:01:00Z", "actor": "agent", "text": "hello"},
    ])
    warehouse.write("orders", f"money/{name}.jsonl", [
        f'{{"order_id": "{name}-o{n}", "placed_at": "{day}T10:{n // 60:02d}:{n % 60:02d}Z", "profile_id": "{name}", '
        f'"currency": "USD", "value": {value}}}' for n, value in enumerate(values)])


def write_money_scenario(warehouse: Warehouse) -> None:
    """Average order values that the money rule (macro money_ratio) rounds, each on its own day x channel row:
    200.0005 / 2 = 100.00025, a half, rounds away from zero to 100.0003; 10.0499 / 1000 = 0.0100499 rounds to
    0.0100 (Spark's default decimal(38,4) / int keeps 6 places: 0.010050, then 0.0101)."""
    write_money_conversation(warehouse, "money-p1", MONEY_DAYS[0], ["100.0002", "100.0003"])
    write_money_conversation(warehouse, "money-p2", MONEY_DAYS[1], ["0.0100"] * 999 + ["0.0599"])


def write_scenarios(warehouse: Warehouse) -> None:
    """Batch A of the facts scenario, the segments, dashboard and money scenarios, each in its own folder."""
    write_money_scenario(warehouse)
    warehouse.write("conversation_logs", "facts/part-0001.jsonl", facts.logs_part_1())
    warehouse.write("conversation_logs", "facts/part-0002.jsonl.gz", facts.logs_part_2())
    warehouse.write("profiles", "facts/profiles.jsonl", facts.profiles())
    warehouse.write("conversation_logs", "segments/part-0001.jsonl", segments.conversation_logs())
    warehouse.write("profiles", "segments/profiles.jsonl", segments.profiles())
    warehouse.write("orders", "segments/orders.jsonl.gz", segments.orders())
    warehouse.write("conversation_logs", "performance/part-0001.jsonl", performance.CONVERSATION_LOGS[:14])
    warehouse.write("conversation_logs", "performance/part-0002.jsonl.gz", performance.CONVERSATION_LOGS[14:])
    warehouse.write("orders", "performance/orders.jsonl", performance.ORDERS)
    warehouse.write("profiles", "performance/profiles.jsonl", performance.PROFILES)


def generate(raw: Path, conversations: int, prefix: str, seed: int) -> None:
    command = [sys.executable, "-m", "customer_agent_warehouse", "generate", "--out", str(raw), "--conversations",
               str(conversations), "--seed", str(seed), "--start-date", GENERATED_START, "--days", "30",
               "--file-prefix", prefix, "--quiet"]
    subprocess.run(command, cwd=PROJECT_ROOT, check=True)


def assert_same_as_duckdb(duckdb_warehouse: Warehouse, spark: SparkBuilds) -> None:
    duckdb_reader = DuckDBReader(str(duckdb_warehouse.db))
    found = [difference for relation in RELATIONS
             if (difference := differences(duckdb_reader, spark.reader(), relation, BUILD_TIME_COLUMNS))]
    assert not found, "\n".join(found)


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
#: Each test below may build its fixtures' Spark history (several builds on the cluster).
BUILDS_TIMEOUT = pytest.mark.timeout(2400)
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
    """The DuckDB and Spark builds of one raw zone, and what each Spark build rewrote."""

    duckdb: Warehouse
    spark: SparkBuilds
    log_file: Path
    rewritten: dict[str, set[str]] = field(default_factory=dict)
    files_before: dict[str, int] = field(default_factory=dict)

    def build_both(self, step: str, build_spark: object = None) -> None:
        """DuckDB, then Spark (or `build_spark()`), recording the Spark mart files `step` rewrote."""
        self.duckdb.build()
        before = mart_files(self.spark.warehouse)
        if build_spark is None:
            self.spark.build(vars=AS_OF)
        else:
            build_spark()
        self.rewritten[step] = rewritten(before, mart_files(self.spark.warehouse))
        self.files_before[step] = len(before)
        assert_same_as_duckdb(self.duckdb, self.spark)


@pytest.fixture(scope="module")
def history(spark_env: dict[str, str], spark_cluster: Cluster,
            tmp_path_factory: pytest.TempPathFactory) -> History:
    """The Spark builds run on the session's standalone cluster: the driver in the CLI's process, the executors
    on the two workers, the raw zone and the warehouse in a temporary folder that every worker sees."""
    root = tmp_path_factory.mktemp("spark_e2e")
    duckdb_warehouse = Warehouse(root=root, vars=dict(AS_OF))
    env = dict(spark_env, CA_SPARK_WAREHOUSE=str(root / "spark-warehouse"), DBT_TARGET_PATH=str(root / "target"),
               DBT_LOG_PATH=str(root / "logs"), CA_SPARK_MASTER=spark_cluster.master_url)
    return History(duckdb_warehouse, SparkBuilds(env=env, raw=duckdb_warehouse.raw), root / "logs" / "dbt.log")


@pytest.fixture(scope="module")
def full_build(history: History) -> History:
    write_scenarios(history.duckdb)
    write_hostile_files(history.duckdb)
    generate(history.duckdb.raw, CONVERSATIONS, "g1", seed=7)
    history.duckdb.build()
    result = history.spark.build(vars=AS_OF)
    assert "by Spark" in result.stdout
    assert_same_as_duckdb(history.duckdb, history.spark)
    return history


@pytest.fixture(scope="module")
def first_increment(full_build: History) -> History:
    """Late records of old conversations and new conversations, as new files."""
    history = full_build
    history.duckdb.write("conversation_logs", "facts/part-0003.jsonl", facts.logs_batch_b())
    generate(history.duckdb.raw, max(CONVERSATIONS // 10, 10), "g2", seed=8)
    history.build_both("first increment")
    return history


@pytest.fixture(scope="module")
def after_noop(first_increment: History) -> History:
    """A build with no new raw file."""
    first_increment.build_both("no-op")
    return first_increment


@pytest.fixture(scope="module")
def after_killed_increment(after_noop: History) -> History:
    """One late record of an old conversation and new conversations; the build is killed at a mart, then built
    again."""
    history = after_noop
    history.duckdb.write("conversation_logs", "facts/part-0004.jsonl", [
        facts.log("c1-late", "c1", "2026-11-20T10:00:06Z", "tag", "system", tags=["Late Tag"]),
    ])
    generate(history.duckdb.raw, max(CONVERSATIONS // 20, 10), "g3", seed=9)

    def killed_then_rebuilt() -> None:
        build_killed_at_marker(history.spark, history.log_file)
        history.spark.build(vars=AS_OF)

    history.build_both("killed increment", killed_then_rebuilt)
    return history


@BUILDS_TIMEOUT
def test_a_full_build_on_spark_equals_duckdb(full_build: History) -> None:
    spark = full_build.spark
    started = spark.reader().rows("marts.fct_conversation_started", ["conversation_id"])
    assert len(started) > CONVERSATIONS * 0.9
    daily = spark.reader().rows("marts.agg_customer_agent_daily", ["reporting_date", "channel", "average_order_value"])
    money = {(dt.date.fromisoformat(day), "whatsapp", Decimal(value)) for day, value in zip(
        MONEY_DAYS, ("100.0003", "0.0100"), strict=True)}
    assert money <= set(daily), sorted(row for row in daily if row[0] < dt.date.fromisoformat(GENERATED_START))
    # A full build spreads rows over the buckets of the var spark_rebuild_buckets (32) by their key.
    buckets = partitions(spark.warehouse, "dim_conversations")
    assert len(buckets) > 8 and buckets <= {f"rebuild_bucket={bucket}" for bucket in range(32)}, buckets


@BUILDS_TIMEOUT
def test_a_second_spark_build_on_the_same_warehouse_is_one_line_and_exit_2(full_build: History) -> None:
    from customer_agent_warehouse.spark_session import warehouse_lock

    with warehouse_lock(full_build.spark.warehouse):
        result = full_build.spark.cli("build", "--target", "spark")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "CA_SPARK_WAREHOUSE" in lines[0], result.stderr


@BUILDS_TIMEOUT
def test_an_increment_on_spark_equals_duckdb_and_adds_one_partition(first_increment: History) -> None:
    spark = first_increment.spark
    conversations = {row[0] for row in spark.reader().rows("marts.fct_customer_agent_events", ["conversation_id"])}
    assert "c9" in conversations  # batch B of the facts scenario arrived with the increment
    # New keys land in the partition of the build's UTC day (yyyymmdd), beside the full build's buckets.
    added = partitions(spark.warehouse, "dim_conversations") - {f"rebuild_bucket={bucket}" for bucket in range(32)}
    assert len(added) == 1 and added.pop().removeprefix("rebuild_bucket=").startswith("20"), added


@BUILDS_TIMEOUT
def test_a_build_without_new_files_rewrites_no_mart_file(after_noop: History) -> None:
    assert after_noop.rewritten["no-op"] == set()


@BUILDS_TIMEOUT
def test_a_killed_build_then_a_rebuild_is_exact_and_rewrites_a_small_share(after_killed_increment: History) -> None:
    history = after_killed_increment
    tags = history.spark.reader().rows("marts.dim_conversations", ["conversation_id", "tags"])
    assert any(conversation == "c1" and "late_tag" in list(tags_of) for conversation, tags_of in tags)
    changed = history.rewritten["killed increment"]
    assert changed, "the late record rewrote no mart file"
    share = len(changed) / history.files_before["killed increment"]
    assert share <= 0.25, f"{len(changed)} of {history.files_before['killed increment']} mart files rewritten"
    print(f"Spark build times (s): {', '.join(f'{seconds:.0f}' for seconds in history.spark.durations)}")


@BUILDS_TIMEOUT
def test_incremental_history_equals_a_full_refresh(after_killed_increment: History) -> None:
    spark = after_killed_increment.spark
    incremental = {relation: snapshot(spark.reader(), relation, BUILD_TIME_COLUMNS) for relation in RELATIONS}
    spark.build("--full-refresh", vars=AS_OF)
    full = {relation: snapshot(spark.reader(), relation, BUILD_TIME_COLUMNS) for relation in RELATIONS}
    found = [relation for relation in RELATIONS if incremental[relation] != full[relation]]
    assert not found, f"incremental and --full-refresh differ on Spark: {found}"

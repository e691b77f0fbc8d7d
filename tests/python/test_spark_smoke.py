"""Issue #15 plumbing: the `spark` output of profiles/profiles.yml runs real dbt builds on a local Spark session.

The tiny project in tests/spark/smoke_project uses the real profile and the real schema-naming macro. Two
`dbt build` runs (delivery batch 1, then batch 2) must leave managed parquet tables laid out as
`<CA_SPARK_WAREHOUSE>/<schema>.db/<table>/`, the Derby metastore beside the warehouse (not in the working
directory), UTC timestamps, Spark array columns under an enforced contract, and an insert_overwrite model
that reads its own table and rewrites only the partitions that got new rows. The tables are read back with
pyarrow straight from the parquet files, as a downstream reader would.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from tests.python.warehouse import PROJECT_ROOT

pytestmark = pytest.mark.spark

SMOKE_PROJECT = PROJECT_ROOT / "tests" / "spark" / "smoke_project"
DBT = str(Path(sys.executable).parent / "dbt")


def run_dbt(env: dict[str, str], tmp: Path, *args: str) -> None:
    command = [DBT, *args, "--profiles-dir", str(PROJECT_ROOT / "profiles"), "--target", "spark",
               "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs")]
    result = subprocess.run(command, cwd=SMOKE_PROJECT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"dbt {' '.join(args)} failed:\n{result.stdout[-6000:]}"


def read_table(table_dir: Path) -> list[dict[str, Any]]:
    """Rows of a managed table read from its parquet files (hive-style partition folders included)."""
    rows = ds.dataset(table_dir, format="parquet", partitioning="hive").to_table().to_pylist()
    return sorted(rows, key=lambda row: json.dumps(row, default=str, sort_keys=True))


def bucket_files(table_dir: Path) -> dict[str, set[str]]:
    return {folder.name: {file.name for file in folder.glob("*.parquet")} for folder in table_dir.glob("bucket=*")}


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def event_id(log_id: str) -> str:
    return hashlib.md5(f"smoke|{log_id}".encode()).hexdigest()


def test_dbt_builds_parquet_tables_on_a_local_spark_session(spark_env: dict[str, str], tmp_path: Path) -> None:
    warehouse = Path(spark_env["CA_SPARK_WAREHOUSE"])
    conversations_dir = warehouse / "marts.db" / "smoke_conversations"

    run_dbt(spark_env, tmp_path, "build", "--vars", "{batch: 1}")
    first_files = bucket_files(conversations_dir)
    first_buckets = {row["conversation_id"]: row["bucket"] for row in read_table(conversations_dir)}
    run_dbt(spark_env, tmp_path, "build", "--select", "smoke_events+", "--vars", "{batch: 2}")

    # Layout: <warehouse>/<schema>.db/<table>/ with unprefixed schemas, metastore and derby.log beside it.
    assert (warehouse / "staging.db" / "smoke_raw_events").is_dir()
    assert (warehouse / "marts.db" / "smoke_events").is_dir()
    metastore = warehouse.parent / f"{warehouse.name}-metastore"
    assert (metastore / "metastore_db").is_dir() and (metastore / "derby.log").is_file()
    leaked = [name for name in ("metastore_db", "derby.log", "spark-warehouse") if (SMOKE_PROJECT / name).exists()]
    assert not leaked, f"Spark wrote {leaked} into the working directory"
    assert not list(warehouse.rglob("*.crc")), "checksum side files next to the parquet files"

    # Enforced contract with Spark types; ISO-8601 offsets and epoch milliseconds in UTC; md5 as everywhere.
    events = read_table(warehouse / "marts.db" / "smoke_events")
    assert events == sorted([
        {"event_id": event_id("l1"), "conversation_id": "c1", "event_at": ts("2026-11-20 09:00:00.250"),
         "tags": ["order_tracking", "vip"], "tag_count": 2, "loaded_batch": 1},
        {"event_id": event_id("l2"), "conversation_id": "c1", "event_at": ts("2026-11-20 09:30:00"),
         "tags": ["billing_refund"], "tag_count": 1, "loaded_batch": 1},
        {"event_id": event_id("l3"), "conversation_id": "c2", "event_at": ts("2026-11-20 10:00:00.250"),
         "tags": ["returns"], "tag_count": 1, "loaded_batch": 1},
        {"event_id": event_id("l4"), "conversation_id": "c3", "event_at": ts("2026-11-22 04:59:59.999"),
         "tags": ["faq"], "tag_count": 2, "loaded_batch": 1},
        {"event_id": event_id("l5"), "conversation_id": "c5", "event_at": ts("2026-11-19 08:00:00"),
         "tags": ["faq"], "tag_count": 1, "loaded_batch": 1},
        {"event_id": event_id("l6"), "conversation_id": "c6", "event_at": ts("2026-11-19 09:00:00"),
         "tags": ["faq"], "tag_count": 1, "loaded_batch": 1},
        {"event_id": event_id("l7"), "conversation_id": "c1", "event_at": ts("2026-11-20 11:00:00"),
         "tags": ["late"], "tag_count": 1, "loaded_batch": 2},
        {"event_id": event_id("l8"), "conversation_id": "c4", "event_at": ts("2026-11-22 08:00:00"),
         "tags": ["new"], "tag_count": 1, "loaded_batch": 2},
    ], key=lambda row: json.dumps(row, default=str, sort_keys=True))

    # insert_overwrite over hash buckets, reading its own table: the late event of c1 is merged into its old
    # row, c4 is added, and the buckets that got no new rows keep their files untouched.
    conversations = read_table(conversations_dir)
    by_id = {row.pop("conversation_id"): row for row in conversations}
    assert {key: {k: v for k, v in row.items() if k != "bucket"} for key, row in by_id.items()} == {
        "c1": {"first_event_at": ts("2026-11-20 09:00:00.250"), "last_event_at": ts("2026-11-20 11:00:00"),
               "tags": ["billing_refund", "late", "order_tracking", "vip"]},
        "c2": {"first_event_at": ts("2026-11-20 10:00:00.250"), "last_event_at": ts("2026-11-20 10:00:00.250"),
               "tags": ["returns"]},
        "c3": {"first_event_at": ts("2026-11-22 04:59:59.999"), "last_event_at": ts("2026-11-22 04:59:59.999"),
               "tags": ["faq"]},
        "c4": {"first_event_at": ts("2026-11-22 08:00:00"), "last_event_at": ts("2026-11-22 08:00:00"),
               "tags": ["new"]},
        "c5": {"first_event_at": ts("2026-11-19 08:00:00"), "last_event_at": ts("2026-11-19 08:00:00"),
               "tags": ["faq"]},
        "c6": {"first_event_at": ts("2026-11-19 09:00:00"), "last_event_at": ts("2026-11-19 09:00:00"),
               "tags": ["faq"]},
    }
    assert all(by_id[key]["bucket"] == bucket for key, bucket in first_buckets.items())
    touched = {f"bucket={by_id['c1']['bucket']}", f"bucket={by_id['c4']['bucket']}"}
    untouched = set(first_files) - touched
    assert untouched, "the smoke data should leave at least one bucket without new rows"
    second_files = bucket_files(conversations_dir)
    for folder in untouched:
        assert second_files[folder] == first_files[folder], f"{folder} was rewritten without new rows"
    for folder in touched & set(first_files):
        assert second_files[folder] != first_files[folder], f"{folder} got new rows but was not rewritten"

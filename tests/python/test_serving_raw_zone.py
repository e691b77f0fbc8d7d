"""Issue 16: no silent sample data, and a raw zone that is missing, empty or a file stops `dbt build` before any
model runs (one line naming the path and the fix), unless the var allow_empty_raw_zone says it is on purpose; a
`--full-refresh` never empties a populated warehouse by accident. Real dbt builds on real DuckDB files."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from customer_agent_warehouse.generate import DEFAULT_DAYS, default_start_date, generate_raw_zone
from tests.python.warehouse import Warehouse

pytestmark = pytest.mark.slow

LOG = {"log_id": "l1", "conversation_id": "c1", "type": "message", "actor": "shopper", "text": "hi",
       "occurred_at": "2026-11-20T10:00:00Z", "received_at": "2026-11-20T10:00:01Z", "profile_id": "p1"}


def marts_tables(warehouse: Warehouse) -> int:
    if not warehouse.db.exists():
        return 0
    return warehouse.query("select count(*) from information_schema.tables where table_schema = 'marts'")[0][0]


def assert_stopped_before_any_model(result: subprocess.CompletedProcess, raw: Path) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    assert "Traceback" not in output
    line = next(line for line in output.splitlines() if f"raw zone {raw}" in line)
    assert "CA_RAW_PATH" in line and "allow_empty_raw_zone: true" in line
    assert not re.search(r" START (?!hook)", output), "no node ran"


@pytest.mark.parametrize("shape", ["missing", "empty", "a file", "no raw file"])
def test_dbt_build_stops_before_any_model_on_an_unusable_raw_zone(tmp_path: Path, shape: str) -> None:
    warehouse = Warehouse(tmp_path)
    if shape == "empty":
        warehouse.raw.mkdir()
    elif shape == "a file":
        warehouse.raw.write_text("not a folder")
    elif shape == "no raw file":
        (warehouse.raw / "conversation_logs").mkdir(parents=True)
        (warehouse.raw / "conversation_logs" / "notes.txt").write_text("not a raw file")
    result = warehouse.build(check=False)
    assert_stopped_before_any_model(result, warehouse.raw)
    assert ("is a file" in result.stdout) == (shape == "a file")
    assert marts_tables(warehouse) == 0


def test_full_refresh_never_empties_a_populated_warehouse_unless_asked(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path)
    warehouse.write("conversation_logs", "dt=2026-11-20/part-1.jsonl.gz", [LOG])
    warehouse.build()
    before = warehouse.snapshot(["marts.fct_conversation_started", "staging.stg_customer_agent__conversation_logs"])
    assert before["marts.fct_conversation_started"], "the warehouse is populated"

    shutil.move(warehouse.raw, tmp_path / "raw-unmounted")
    warehouse.raw.mkdir()  # e.g. an unmounted share: the folder is there, the files are not
    assert_stopped_before_any_model(warehouse.build("--full-refresh", check=False), warehouse.raw)
    assert warehouse.snapshot(before) == before



def test_an_intentionally_empty_raw_zone_builds_with_the_var(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path)
    warehouse.raw.mkdir()
    warehouse.build(vars={"allow_empty_raw_zone": True})
    assert warehouse.query("select count(*) from marts.fct_conversation_started") == [(0,)]


@pytest.mark.parametrize("command", ["run", "build"])
def test_an_explicit_raw_zone_that_is_empty_is_an_error_and_gets_no_sample(tmp_path: Path, command: str) -> None:
    warehouse = Warehouse(tmp_path)
    result = warehouse.cli(command)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(warehouse.raw) in lines[0], result.stderr
    assert ("--sample" in lines[0]) == (command == "run") and "CA_RAW_PATH" in lines[0]
    assert not warehouse.raw.exists(), "nothing was written into the raw zone"
    assert not warehouse.db.exists()


def test_run_with_sample_writes_sample_data_into_an_explicit_raw_zone(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path)
    result = warehouse.cli("run", "--sample", "--sample-conversations", "40", "--sample-start-date", "2026-10-20",
                           "--skip-validate", "--vars", json.dumps({"as_of": "2026-11-20T12:00:00Z"}))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "generating a sample of 40 conversations from 2026-10-20" in result.stdout
    assert "segments evaluated as of 2026-11-20 12:00:00 UTC" in result.stdout
    assert f"serving copy: {warehouse.serving}" in result.stdout and "next:" in result.stdout
    assert "done in" in result.stdout and warehouse.serving.is_file()


def test_generate_defaults_to_days_that_end_before_today(tmp_path: Path) -> None:
    """The default window (the 30 days that end two days before today), with today injected: never the clock."""
    today = dt.date(2026, 12, 7)
    start = default_start_date(today=today)
    assert start == dt.date(2026, 11, 5)
    generate_raw_zone(tmp_path / "raw", conversations=30, seed=42, start_date=start, days=DEFAULT_DAYS, workers=1)
    times = []
    for path in (tmp_path / "raw" / "conversation_logs").rglob("*.jsonl*"):
        text = gzip.decompress(path.read_bytes()).decode() if path.name.endswith(".gz") else path.read_text()
        for line in text.splitlines():
            try:
                record = json.loads(line)
                times.append(dt.datetime.fromisoformat(record["received_at"].replace("Z", "+00:00")))
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # the generator writes malformed lines on purpose
    midnight = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    assert times and max(times) < midnight, "nothing lies in the future"
    assert max(times) > midnight - dt.timedelta(days=7), "recent enough for the 7-day segments evaluated as of now"

"""The README's main job end to end (`python -m customer_agent_warehouse run`), and issue #6 on a real build:
validation passes on a clean build of generated data and fails, naming the columns, on a tampered copy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.python.warehouse import PROJECT_ROOT


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "customer_agent_warehouse", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def main_job(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], subprocess.CompletedProcess]:
    root = tmp_path_factory.mktemp("main_job")
    # Its own dbt target and log folders: another test worker may run dbt in the project at the same time.
    env = dict(os.environ, CA_RAW_PATH=str(root / "raw"), CA_DUCKDB_PATH=str(root / "warehouse.duckdb"),
               DBT_TARGET_PATH=str(root / "target"), DBT_LOG_PATH=str(root / "logs"),
               DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    result = run_cli("run", "--sample", "--sample-conversations", "400", env=env)
    return root, env, result


def test_main_job_generates_builds_validates_and_summarises(main_job) -> None:
    root, _, result = main_job
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    assert "generating a sample of 400 conversations" in result.stdout
    assert "dbt build: ok" in result.stdout and "validate: ok" in result.stdout
    assert "marts.fct_conversation_started" in result.stdout and "raw conversation_logs" in result.stdout
    dashboard = next(line for line in result.stdout.splitlines() if line.startswith("report: dashboard "))
    assert Path(dashboard.split()[2]).is_file() and "day x channel rows" in dashboard, "the summary points to it"
    assert any((root / "raw" / "conversation_logs").rglob("*.jsonl*"))
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as connection:
        started = connection.execute("select count(*) from marts.fct_conversation_started").fetchone()[0]
        unbalanced = connection.execute(
            "select count(*) from audit.reconciliation where lines_read <> staged + duplicates + rejected"
        ).fetchone()[0]
        rejected = connection.execute("select count(*) from audit.rejected_records").fetchone()[0]
        generated_malformed = connection.execute(
            "select count(*) from staging.base_customer_agent__log_lines where rejection_reason is not null"
        ).fetchone()[0]
    assert started > 300 and unbalanced == 0 and rejected >= generated_malformed > 0


def test_second_run_reuses_the_raw_zone_and_changes_nothing(main_job) -> None:
    root, env, first = main_job
    assert first.returncode == 0
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as connection:
        before = connection.execute("select * from marts.fct_customer_agent_events order by event_id").fetchall()
    second = run_cli("run", "--skip-validate", env=env)
    assert second.returncode == 0, second.stdout[-3000:]
    assert "existing files" in second.stdout
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as connection:
        after = connection.execute("select * from marts.fct_customer_agent_events order by event_id").fetchall()
    assert after == before


def test_validate_fails_on_a_tampered_copy_and_names_the_columns(main_job) -> None:
    root, env, first = main_job
    assert first.returncode == 0
    tampered = root / "tampered.duckdb"
    shutil.copy(root / "warehouse.duckdb", tampered)
    with duckdb.connect(str(tampered)) as connection:
        connection.execute("""
            update marts.fct_conversation_started set conversation_id = null, channel = 'fax'
            where event_id = (select min(event_id) from marts.fct_conversation_started)""")
        connection.execute("""
            update segments.seg_started_conversation set profile_id = null
            where profile_id = (select min(profile_id) from segments.seg_started_conversation)""")
    result = run_cli("validate", "--duckdb-path", str(tampered), "--report-dir", str(root / "report"), env=env)
    assert result.returncode == 1, result.stdout[-3000:]
    output = result.stdout
    for table, column in (("fct_conversation_started", "conversation_id"), ("fct_conversation_started", "channel"),
                          ("seg_started_conversation", "profile_id")):
        assert any(table in line and column in line for line in output.splitlines()), (table, column, output)
    assert (root / "report" / "index.html").exists()
    clean = run_cli("validate", "--duckdb-path", str(root / "warehouse.duckdb"), "--report-dir",
                    str(root / "clean-report"), env=env)
    assert clean.returncode == 0, clean.stdout[-3000:]
    # The bound of event times is the build's plausible window (the suite pins its anchor), not the clock.
    assert ("validate: event times up to 2100-01-02T00:00:00 UTC (timestamp_window_anchor "
            "(CA_TIMESTAMP_WINDOW_ANCHOR) + 1 day)") in clean.stdout

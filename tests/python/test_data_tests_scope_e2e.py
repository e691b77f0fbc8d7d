"""Issue 13: on an incremental build the data tests over large incremental tables check the rows written since the
last build whose data tests all passed (macros/tests/changed_rows.sql), and still fail when such a row breaks a
rule against an old row.

A warehouse is built from two passes of tests/python/test_incremental_e2e.py's raw zone; the marker of the last
tested build is read from audit.incremental_watermarks; then a staged row repeating an old log_id is written into
the build file (what a faulty model would do), and the real `dbt build` and `dbt test` are run on it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.python import test_incremental_e2e as incremental
from tests.python.warehouse import Warehouse

pytestmark = pytest.mark.slow

STAGED_LOGS = "staging.stg_customer_agent__conversation_logs"
KEY_TEST = "test.customer_agent_warehouse.primary_key_stg_customer_agent__conversation_logs_"


def marker_rows(warehouse: Warehouse) -> list[tuple]:
    return warehouse.query(
        "select watermark from audit.incremental_watermarks where model_name = 'data_tests' order by watermark")


def key_test_statuses(warehouse: Warehouse) -> list[str]:
    """Statuses of the log_id key test of staged logs in the last dbt invocation (its run_results.json)."""
    results = json.loads((warehouse.root / "target" / "run_results.json").read_text())["results"]
    return [result["status"] for result in results if result["unique_id"].startswith(KEY_TEST)]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    warehouse = Warehouse(root=tmp_path_factory.mktemp("scope"), vars=incremental.AS_OF)
    incremental.write_pass(warehouse, incremental.PASS_1)
    warehouse.build()
    incremental.write_pass(warehouse, incremental.PASS_2)
    warehouse.build()
    return warehouse


@pytest.fixture
def copy(built: Warehouse, tmp_path: Path) -> Warehouse:
    """The built warehouse (raw zone, build file, dbt target) copied for one test that changes it: no test depends
    on what another one did, in any order."""
    shutil.copytree(built.root, tmp_path / "copy", symlinks=True)
    return Warehouse(root=tmp_path / "copy", vars=built.vars)


def test_a_build_whose_tests_all_pass_is_the_marker(built: Warehouse) -> None:
    # Only the latest marker is kept; it is the start of the last build, the loaded_at of its lines.
    assert marker_rows(built) == built.query("select max(loaded_at) from staging.base_customer_agent__log_lines")


def test_a_partial_selection_records_no_marker(copy: Warehouse) -> None:
    before = marker_rows(copy)
    copy.build("--select", "stg_customer_agent__conversation_logs")
    assert marker_rows(copy) == before


def repeat_an_old_key(warehouse: Warehouse, processed_at: str) -> None:
    """A copy of an old staged row (what a faulty model would write), processed at the given SQL time: read from
    the marker, never from the clock, so the test is the same in every time zone."""
    with duckdb.connect(str(warehouse.db)) as connection:
        old_log_id = connection.execute(f"select min(log_id) from {STAGED_LOGS}").fetchone()[0]
        connection.execute(
            f"insert into {STAGED_LOGS} by name select * replace ({processed_at} as processed_at) "
            f"from {STAGED_LOGS} where log_id = ?", [old_log_id])


def test_a_new_row_repeating_an_old_key_fails_and_the_failing_build_records_no_marker(copy: Warehouse) -> None:
    before = marker_rows(copy)
    # Written after the last tested build.
    repeat_an_old_key(copy, "(select max(watermark) + interval 1 minute from audit.incremental_watermarks "
                            "where model_name = 'data_tests')")
    failing = copy.build(check=False)
    assert failing.returncode == 1
    assert key_test_statuses(copy) == ["fail"]
    assert marker_rows(copy) == before
    # The next build checks the same rows again: the fault is not forgotten.
    copy.dbt("test", "--select", "stg_customer_agent__conversation_logs", check=False)
    assert key_test_statuses(copy) == ["fail"]


def test_an_old_fault_outside_the_scope_is_found_when_every_row_is_checked(copy: Warehouse) -> None:
    repeat_an_old_key(copy, "timestamp '2000-01-01'")  # back-dated to before the last tested build
    copy.dbt("test", "--select", "stg_customer_agent__conversation_logs", check=False)
    assert key_test_statuses(copy) == ["pass"]
    copy.dbt("test", "--select", "stg_customer_agent__conversation_logs", check=False,
             vars={"data_tests_scope": "all"})
    assert key_test_statuses(copy) == ["fail"]


def test_an_unknown_scope_is_one_clear_error(built: Warehouse) -> None:
    result = built.dbt("test", "--select", "stg_customer_agent__conversation_logs", check=False,
                       vars={"data_tests_scope": "some"})
    assert result.returncode != 0
    assert "var data_tests_scope is 'some': set it to 'changed' (default) or 'all'" in result.stdout


LOST_TEST = "test.customer_agent_warehouse.assert_every_valid_raw_record_is_staged"


def lost_records(warehouse: Warehouse, scope: str) -> tuple[str, int]:
    """`dbt test` of the nothing-is-lost test: its status and number of lost records."""
    warehouse.dbt("test", "--select", "assert_every_valid_raw_record_is_staged", check=False,
                  vars={"data_tests_scope": scope})
    results = json.loads((warehouse.root / "target" / "run_results.json").read_text())["results"]
    (result,) = [result for result in results if result["unique_id"] == LOST_TEST]
    return result["status"], result["failures"]


def test_a_lost_record_of_new_lines_fails_the_nothing_is_lost_test_and_old_ones_fail_it_with_scope_all(
        copy: Warehouse) -> None:
    # New lines after the last tested build: models only (`dbt run` records no tested build).
    incremental.write_pass(copy, incremental.PASS_3)
    copy.dbt("run")
    assert lost_records(copy, "changed") == ("pass", 0)
    with duckdb.connect(str(copy.db)) as connection:
        # Lose the record of a new log line (a8), the new profile version of p2, and an old record (b1, of c2:
        # a conversation this pass did not stage again).
        connection.execute(f"delete from {STAGED_LOGS} where log_id in ('a8', 'b1')")
        connection.execute("delete from staging.stg_marketing__profile_versions "
                           "where profile_id = 'p2' and updated_at = timestamp '2026-11-22'")
    assert lost_records(copy, "changed") == ("fail", 2)
    assert lost_records(copy, "all") == ("fail", 3)

"""`validate`'s default time bound comes from the build (build_record.py), never from the validating clock:
the window anchor plus `timestamp_max_days_after_build`, else the end of the last dbt invocation plus those days;
only with no build record and no anchor does it fall back to the injected clock."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from customer_agent_warehouse.build_record import BuildRecordError, resolve_validation_time

NOT_USED = dt.datetime(1999, 1, 1, tzinfo=dt.UTC)
PROJECT = """vars:
  timestamp_max_days_after_build: 2
  timestamp_window_anchor: "{{ env_var('CA_TIMESTAMP_WINDOW_ANCHOR', '') }}"
"""


def project(root: Path, run_results: dict | None = None, dbt_project: str = PROJECT) -> Path:
    (root / "dbt_project.yml").write_text(dbt_project)
    if run_results is not None:
        (root / "target").mkdir(exist_ok=True)
        (root / "target" / "run_results.json").write_text(json.dumps(run_results))
    return root


def resolve(root: Path, environ: dict[str, str], override: dt.datetime | None = None) -> tuple[dt.datetime, str]:
    return resolve_validation_time(override, root, environ, now=lambda: NOT_USED)


def test_the_option_wins(tmp_path: Path) -> None:
    root = project(tmp_path, {"args": {"vars": {"timestamp_window_anchor": "2026-11-01"}}})
    bound = dt.datetime(2026, 12, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert resolve(root, {}, bound) == (dt.datetime(2026, 12, 1), "--validation-time")


def test_the_anchor_of_the_last_invocation_plus_its_days(tmp_path: Path) -> None:
    root = project(tmp_path, {"args": {"vars": {"timestamp_window_anchor": "2026-11-20T12:00:00Z",
                                                "timestamp_max_days_after_build": 3}},
                              "metadata": {"generated_at": "2026-12-07T10:00:00Z"}})
    bound, source = resolve(root, {"CA_TIMESTAMP_WINDOW_ANCHOR": "2100-01-01T00:00:00Z"})
    assert bound == dt.datetime(2026, 11, 23, 12) and source.startswith("timestamp_window_anchor (--vars")


def test_the_anchor_from_the_environment_plus_the_project_days(tmp_path: Path) -> None:
    root = project(tmp_path, {"args": {"vars": {}}, "metadata": {"generated_at": "2026-12-07T10:00:00Z"}})
    bound, source = resolve(root, {"CA_TIMESTAMP_WINDOW_ANCHOR": "2100-01-01T00:00:00Z"})
    assert (bound, source) == (dt.datetime(2100, 1, 3), "timestamp_window_anchor (CA_TIMESTAMP_WINDOW_ANCHOR) + 2 days")


def test_no_anchor_is_the_end_of_the_last_invocation_plus_the_days(tmp_path: Path) -> None:
    root = project(tmp_path, {"args": {"vars": {"timestamp_max_days_after_build": 1}},
                              "metadata": {"generated_at": "2026-12-07T10:00:00.5Z"}})
    bound, source = resolve(root, {})
    assert bound == dt.datetime(2026, 12, 8, 10, 0, 0, 500000)
    assert source == f"end of the last dbt invocation ({root / 'target' / 'run_results.json'}) + 1 day"
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "target").mkdir(parents=True)
    (root / "target" / "run_results.json").rename(elsewhere / "target" / "run_results.json")
    moved, _ = resolve(root, {"DBT_TARGET_PATH": str(elsewhere / "target")})
    assert moved == bound and resolve(root, {})[1].startswith("now: no timestamp_window_anchor")


def test_no_anchor_is_first_the_warehouse_s_own_last_build(tmp_path: Path) -> None:
    root = project(tmp_path, {"args": {"vars": {}}, "metadata": {"generated_at": "2026-12-07T10:00:00Z"}})
    built = dt.datetime(2026, 11, 30, 8)
    bound, source = resolve_validation_time(None, root, {}, now=lambda: NOT_USED, last_build=lambda: built)
    assert (bound, source) == (dt.datetime(2026, 12, 2, 8), "start of the warehouse's last build that read log "
                                                            "lines + 2 days")
    assert resolve_validation_time(None, root, {}, now=lambda: NOT_USED, last_build=lambda: None)[0] == \
        dt.datetime(2026, 12, 9, 10)
    anchored, _ = resolve_validation_time(None, root, {"CA_TIMESTAMP_WINDOW_ANCHOR": "2100-01-01T00:00:00Z"},
                                          now=lambda: NOT_USED, last_build=lambda: built)
    assert anchored == dt.datetime(2100, 1, 3)


def test_no_record_and_no_anchor_is_the_clock(tmp_path: Path) -> None:
    bound, source = resolve(project(tmp_path), {})
    assert bound == dt.datetime(1999, 1, 1) and source.startswith("now: no timestamp_window_anchor")


def test_a_bad_anchor_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(BuildRecordError) as raised:
        resolve(project(tmp_path), {"CA_TIMESTAMP_WINDOW_ANCHOR": "next week"})
    assert "\n" not in str(raised.value) and "CA_TIMESTAMP_WINDOW_ANCHOR='next week' is not valid" in str(raised.value)
    with pytest.raises(BuildRecordError) as raised:
        resolve(project(tmp_path, {"args": {"vars": {"timestamp_window_anchor": "soon"}}}), {})
    assert "\n" not in str(raised.value) and "'soon' (--vars of the last dbt invocation)" in str(raised.value)

"""The `bench` command end to end on a tiny raw zone (issue #7).

A functional test, not a timed one: it checks that every phase runs, that the JSON results carry every figure
(positive numbers), that the increment only added files and was removed afterwards, and that the floor script
computes the same facts as the dbt build.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from customer_agent_warehouse import bench
from customer_agent_warehouse.cli import main

CONVERSATIONS = 300
PHASES = ("generation", "empty_build", "full_build", "floor", "noop_build", "increment_generation", "incremental_build",
          "validate")
TIMED_FIGURES = (
    "generation_seconds",
    "dbt_overhead_seconds",
    "full_build_seconds",
    "floor_seconds",
    "full_build_to_floor_ratio",
    "full_build_to_floor_cpu_ratio",
    "increment_generation_seconds",
    "incremental_build_seconds",
    "incremental_to_full_ratio",
    "noop_build_seconds",
    "noop_to_full_ratio",
    "validate_seconds",
    "validate_to_full_ratio",
    "raw_lines",
    "records_per_second",
    "max_peak_rss_bytes",
)
BenchRun = tuple[int, dict, Path]
TARGETS = {
    "full_build_to_floor_ratio",
    "full_build_seconds",
    "validate_to_full_ratio",
    "max_peak_rss_bytes",
    "dbt_overhead_seconds",
    "noop_to_full_ratio",
    "noop_above_fixed_seconds",
    "incremental_work_share",
}
# Differences of two timings: signed (on a tiny raw zone a no-op build can be faster than the empty build).
SIGNED_FIGURES = ("noop_above_fixed_seconds", "incremental_work_share")


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> BenchRun:
    """One bench run shared by the tests of this module (it runs three dbt builds)."""
    workdir = tmp_path_factory.mktemp("bench")
    json_path = workdir / "results" / "bench.json"
    # Default options: production-like builds (no dbt unit tests).
    exit_code = main(["bench", "--conversations", str(CONVERSATIONS), "--seed", "3", "--workdir", str(workdir),
                      "--json", str(json_path)])
    return exit_code, json.loads(json_path.read_text()), workdir


@pytest.mark.slow
def test_every_phase_ran(bench_run: BenchRun) -> None:
    exit_code, results, _ = bench_run
    assert set(results["phases"]) == set(PHASES)
    for name in PHASES:
        phase = results["phases"][name]
        assert phase["seconds"] > 0, name
        assert phase["peak_rss_bytes"] > 0, name
        assert phase["cpu_seconds"] > 0, name
        assert isinstance(phase["other_load"], float | int), name  # the other processes' load, recorded
        assert Path(phase["log"]).exists(), name
        # Every phase succeeds, validate included: the generated raw zone builds a warehouse that passes
        # every expectation (a failing validate would exit 1 and is a defect here).
        assert phase["returncode"] == 0, f"{name} failed: see {phase['log']}"
    assert exit_code == 0


@pytest.mark.slow
def test_json_has_every_figure(bench_run: BenchRun) -> None:
    _, results, _ = bench_run
    figures = results["figures"]
    for name in TIMED_FIGURES:
        assert isinstance(figures[name], int | float) and figures[name] > 0, name
    for name in SIGNED_FIGURES:
        assert isinstance(figures[name], int | float), name
    assert figures["noop_above_fixed_seconds"] == pytest.approx(
        figures["noop_build_seconds"] - figures["dbt_overhead_seconds"])
    assert set(figures["peak_rss_bytes"]) == set(PHASES)
    assert figures["max_peak_rss_bytes"] == max(figures["peak_rss_bytes"].values())
    assert figures["records_per_second"] == pytest.approx(figures["raw_lines"] / figures["full_build_seconds"])
    assert {target["name"] for target in results["targets"]} == TARGETS
    for target in results["targets"]:
        assert target["passed"] == (
            target["value"] < target["limit"] if target["name"] == "full_build_seconds"
            else target["value"] <= target["limit"]
        )
    assert results["settings"]["conversations"] == CONVERSATIONS
    assert results["settings"]["increment_conversations"] == 3
    assert results["settings"]["unit_tests"] is False


@pytest.mark.slow
def test_per_model_times_slowest_first(bench_run: BenchRun) -> None:
    _, results, _ = bench_run
    models = results["models"]
    assert len(models) > 20
    assert all(model["resource_type"] == "model" for model in models)
    times = [model["execution_time"] for model in models]
    assert times == sorted(times, reverse=True)
    assert "model.customer_agent_warehouse.stg_customer_agent__conversation_logs" in {m["unique_id"] for m in models}
    empty = results["dbt"]["empty_build"]
    assert empty["statuses"] and empty["startup_seconds"] > 0


@pytest.mark.slow
def test_raw_zone_lines_and_increment(bench_run: BenchRun) -> None:
    _, results, workdir = bench_run
    lines = results["raw_zone"]["lines"]
    assert lines["counted_from"] == "audit.reconciliation"
    generator = results["raw_zone"]["generator"]
    assert lines["by_source"] == {
        "conversation_logs": generator["log_lines"],
        "orders": generator["order_lines"],
        "profiles": generator["profile_lines"],
    }
    increment = results["increment"]
    assert increment["existing_files_unchanged"] is True
    assert increment["files_added"] > 0 and increment["lines"] > 0
    # The increment is removed afterwards, so --reuse-raw benchmarks the same raw zone again.
    assert not list((workdir / "raw").rglob(f"{bench.INCREMENT_PREFIX}-*"))
    assert results["raw_zone"]["files"] == len(list((workdir / "raw").rglob("*.jsonl*")))


@pytest.mark.slow
def test_floor_computes_the_same_facts_as_dbt(bench_run: BenchRun) -> None:
    _, results, _ = bench_run
    comparison = results["fact_counts"]
    assert set(comparison) == {"started", "resolved", "escalated", "recommendation"}
    for metric, counts in comparison.items():
        assert counts["dbt"] > 0, metric
        assert counts == {"dbt": counts["dbt"], "floor": counts["dbt"], "only_dbt": 0, "only_floor": 0,
                          "differing": 0}, metric
    assert results["floor"]["counts"] == {metric: counts["floor"] for metric, counts in comparison.items()}


def test_floor_sql_placeholders_are_replaced_by_existing_globs(tmp_path: Path) -> None:
    (tmp_path / "conversation_logs" / "dt=2026-11-20").mkdir(parents=True)
    (tmp_path / "conversation_logs" / "dt=2026-11-20" / "part-0001.jsonl.gz").write_bytes(b"")
    (tmp_path / "profiles" / "x").mkdir(parents=True)
    (tmp_path / "profiles" / "x" / "a.jsonl").write_text("")
    sql = bench.render_floor_sql(tmp_path)
    assert "{conversation_log_files}" not in sql and "{profile_files}" not in sql
    assert f"['{tmp_path}/conversation_logs/**/*.jsonl.gz']" in sql
    assert f"['{tmp_path}/profiles/**/*.jsonl']" in sql


def test_floor_uses_the_duckdb_settings_of_the_dbt_profile() -> None:
    settings = bench.duckdb_settings({"CA_DUCKDB_MEMORY": "1GB", "CA_DUCKDB_THREADS": "3"})
    assert settings["TimeZone"] == "UTC"
    assert settings["memory_limit"] == "1GB"
    assert settings["threads"] == "3"
    assert settings["preserve_insertion_order"].lower() == "true"
    assert "{{" not in "".join(bench.duckdb_settings({}).values())


def test_profile_env_var_defaults_are_rendered(tmp_path: Path) -> None:
    (tmp_path / "profiles.yml").write_text(
        "customer_agent_warehouse:\n  outputs:\n    duckdb:\n"
        "      config_options: {temp_directory: \"{{ env_var('CA_X_TMP', '/default/tmp') }}\"}\n"
        "      settings: {memory_limit: \"{{ env_var('CA_X_MEMORY', '4GB') }}\", TimeZone: UTC}\n"
    )
    assert bench.duckdb_settings({}, tmp_path) == {
        "temp_directory": "/default/tmp", "memory_limit": "4GB", "TimeZone": "UTC"}
    assert bench.duckdb_settings({"CA_X_MEMORY": "2GB"}, tmp_path)["memory_limit"] == "2GB"


def test_reuse_raw_refuses_a_raw_zone_of_another_size(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    (tmp_path / bench.MANIFEST_NAME).write_text(json.dumps({"conversations": 10, "seed": 42}))
    exit_code = main(["bench", "--conversations", "20", "--workdir", str(tmp_path), "--reuse-raw"])
    assert exit_code == 2


def test_spark_masters_option_takes_local_cluster_and_spark_urls() -> None:
    from customer_agent_warehouse.bench.spark import masters

    assert masters("local[1], local[2],cluster") == ["local[1]", "local[2]", "cluster"]
    assert masters("spark://10.0.0.5:7077") == ["spark://10.0.0.5:7077"]
    for bad in ("", "local", "yarn", "local[2],mesos://x"):
        with pytest.raises(argparse.ArgumentTypeError):
            masters(bad)


def test_spark_bench_table_has_one_row_per_master_with_the_ratios() -> None:
    from customer_agent_warehouse.bench.spark import figures, format_table

    def phase(seconds: float, peak: int) -> bench.Phase:
        return bench.Phase("build", seconds, peak, 0, "log")

    phases = {"full_build": phase(100.0, 3 << 30), "noop_build": phase(10.0, 2 << 30),
              "incremental_build": phase(19.0, 1 << 30)}
    result = figures(phases)
    assert result["noop_to_full_ratio"] == pytest.approx(0.1)
    assert result["incremental_work_share"] == pytest.approx(0.1)
    assert result["peak_rss_bytes"] == 3 << 30
    table = format_table({"local[1]": {"figures": result}, "cluster": {"figures": figures(phases)}}).splitlines()
    assert len(table) == 4 and table[2].startswith("local[1]") and table[3].startswith("cluster")
    assert "100.0 s" in table[2] and "10%" in table[2]


def test_bench_refuses_the_thrift_target_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exit_code = main(["bench", "--target", "spark_thrift", "--workdir", str(tmp_path)])
    assert exit_code == 2
    assert capsys.readouterr().err.strip() == "bench: bench has no --target spark_thrift: use --target spark (with " \
                                              "--spark-masters)"

"""The main job: `build` (dbt, then publish), `run` (raw zone, build, validate, publish, summary) and `summary`.

A build holds the build lock (locking.py) from start to publish and hands it to the dbt it starts. The serving
copy is published only after dbt succeeded (and, for `run`, validation passed): a failed step leaves the last
good copy in place.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from customer_agent_warehouse.arguments import add_dbt_arguments, add_parquet_argument, iso_date, positive_int
from customer_agent_warehouse.dbt_runner import DbtRunner, build_arguments
from customer_agent_warehouse.disk_full import disk_full_message, run_result_messages
from customer_agent_warehouse.loading import run_load_step
from customer_agent_warehouse.locking import BuildLock, ensure_not_being_built, ensure_not_open_elsewhere, lock_path_for
from customer_agent_warehouse.raw_zone_check import raw_zone_error, raw_zone_problem
from customer_agent_warehouse.serving import open_read_only, print_published, publish
from customer_agent_warehouse.settings import (
    DEFAULT_RAW_PATH,
    PROJECT_ROOT,
    Settings,
    UsageError,
    load_settings,
)

SUMMARY_RELATIONS = (
    "marts.fct_conversation_started",
    "marts.fct_conversation_resolved",
    "marts.fct_conversation_escalated",
    "marts.fct_product_recommendation_received",
    "marts.fct_product_recommendation_items",
    "marts.fct_customer_agent_events",
    "marts.dim_conversations",
    "marts.fct_attributed_orders",
    "marts.agg_customer_agent_daily",
    "marts.agg_skill_performance",
    "segments.seg_started_conversation",
    "segments.seg_recommended_not_purchased",
    "segments.seg_escalated_recent",
    "segments.seg_recommendation_followup",
    "audit.rejected_records",
)


class RawZoneError(UsageError):
    """The raw zone cannot be built from and no sample data may be written into it."""


# --- raw zone ----------------------------------------------------------------------------------------------------
def check_raw_zone(settings: Settings, dbt_vars: dict[str, Any], target: str) -> None:
    """What dbt's on-run-start check would stop, before dbt starts (raw_zone_check.py)."""
    error = raw_zone_error(str(settings.raw_path))
    if error and target == "duckdb" and not dbt_vars.get("allow_empty_raw_zone"):
        raise RawZoneError(error)


def may_generate_sample(settings: Settings, sample: bool) -> bool:
    """Sample data goes only into the project's default raw zone (CA_RAW_PATH unset), or when asked for."""
    return sample or (not settings.raw_path_explicit and settings.raw_path == DEFAULT_RAW_PATH)


def ensure_raw_zone(settings: Settings, conversations: int, seed: int, sample: bool,
                    start_date: dt.date | None = None) -> None:
    problem = raw_zone_problem(settings.raw_path)
    if problem is None:
        print(f"==> raw zone {settings.raw_path} (existing files)", flush=True)
        return
    if settings.raw_path.exists() and not settings.raw_path.is_dir():
        raise RawZoneError(f"{problem} (CA_RAW_PATH): set CA_RAW_PATH to the raw zone folder")
    if not may_generate_sample(settings, sample):
        raise RawZoneError(
            f"{problem}: CA_RAW_PATH is set, so no sample data is written there; fix CA_RAW_PATH, put the raw "
            "files there, pass --sample to generate sample data into it, or unset CA_RAW_PATH to build the "
            "sample in data/raw")
    from customer_agent_warehouse.generate import DEFAULT_DAYS, default_start_date, generate_raw_zone

    start_date = start_date or default_start_date()
    print(f"==> raw zone {settings.raw_path} is empty: generating a sample of {conversations:,} conversations "
          f"from {start_date} (seed {seed})", flush=True)
    generate_raw_zone(settings.raw_path, conversations=conversations, seed=seed, start_date=start_date,
                      days=DEFAULT_DAYS)


# --- steps -------------------------------------------------------------------------------------------------------
def _step(name: str, returncode: int, started: float, reason: str | None = None) -> int:
    status = "ok" if returncode == 0 else f"FAILED (exit {returncode})"
    print(f"==> {name}: {status} in {time.monotonic() - started:.1f}s" + (f": {reason}" if reason else ""), flush=True)
    return returncode


def _file_stamp(path: Path) -> tuple[int, int, int] | None:
    """What identifies one write of a file (modification time, inode, size), or None when there is none."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_ino, status.st_size


def _failure_reason(runner: DbtRunner, warehouse: Path, before: tuple[int, int, int] | None) -> str | None:
    """One line for a failure the user must fix outside the project (a full disk), from this dbt's run_results.
    The file is this dbt's when it changed since `before` (file stamps only: no clock is compared with a file's
    time, which a skewed or faked clock would get wrong)."""
    results = runner.artifacts_path() / "run_results.json"
    stamp = _file_stamp(results)
    if runner.target != "duckdb" or stamp is None or stamp == before:
        return None
    return disk_full_message(warehouse, run_result_messages(runner.artifacts_path()))


def run_dbt_build(settings: Settings, args: argparse.Namespace, lock: BuildLock) -> int:
    """`dbt build` under the CLI's lock (the dbt process inherits the locked descriptor)."""
    runner = DbtRunner.for_settings(settings, args.target)
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    started, before = time.monotonic(), _file_stamp(runner.artifacts_path() / "run_results.json")
    pass_fds = [lock.descriptor] if lock.descriptor is not None else []
    returncode = runner.run(build_arguments(args.full_refresh, args.unit_tests), args.vars,
                            pass_fds=pass_fds).returncode
    reason = _failure_reason(runner, settings.duckdb_path, before) if returncode else None
    return _step("dbt build", returncode, started, reason)


def run_validation(settings: Settings, target: str) -> int:
    started = time.monotonic()
    command = [sys.executable, "-m", "customer_agent_warehouse", "validate", "--target", target,
               "--duckdb-path", str(settings.duckdb_path)]
    return _step("validate", subprocess.run(command, cwd=PROJECT_ROOT, env=settings.dbt_env(),
                                            check=False).returncode, started)


def build_lock(settings: Settings, target: str) -> BuildLock:
    """The lock of the warehouse a target builds: beside the DuckDB build file, or one per other target."""
    path = settings.duckdb_path if target == "duckdb" else settings.duckdb_path.parent / f"{target}.warehouse"
    return BuildLock(path, lock_path_for(path))


def build_validate_publish(settings: Settings, args: argparse.Namespace, validate: bool) -> int:
    check_raw_zone(settings, args.vars, args.target)
    if args.target == "spark":  # one Spark session in this process, under the Spark warehouse's own lock
        from customer_agent_warehouse.spark_build import spark_build

        returncode = spark_build(settings, args)
        if returncode == 0 and validate:
            returncode = run_validation(settings, args.target)
        return returncode
    if args.target == "spark_thrift":  # the raw tables land as files, the Thrift server builds the models
        from customer_agent_warehouse.spark_thrift import spark_thrift_build

        with build_lock(settings, args.target):
            return spark_thrift_build(settings, args)
    with build_lock(settings, args.target) as lock:
        if args.target == "duckdb":  # a BI tool on the build file: one line before dbt starts
            ensure_not_open_elsewhere(settings.duckdb_path, settings.serving)
        run_load_step(settings, args.target, args.vars, args.full_refresh)  # server targets: raw tables first
        returncode = run_dbt_build(settings, args, lock)
        if returncode == 0 and validate:
            returncode = run_validation(settings, args.target)
        if returncode != 0:
            if args.target == "duckdb":
                print(f"==> nothing published: the serving copy {settings.serving} is the last good one", flush=True)
            return returncode
        if args.target == "duckdb" and not args.no_publish:
            print_published(publish(settings, args.parquet))
    return 0


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    add_dbt_arguments(parser)
    add_parquet_argument(parser)
    parser.add_argument("--no-publish", action="store_true", help="leave the serving copy as it is")


def run_build(args: argparse.Namespace) -> int:
    return build_validate_publish(load_settings(), args, validate=False)


# --- summary -----------------------------------------------------------------------------------------------------
def row_counts(connection: Any) -> dict[str, Any]:
    existing = {f"{schema}.{name}" for schema, name in connection.execute(
        "select table_schema, table_name from information_schema.tables").fetchall()}
    counts: dict[str, Any] = {
        relation: connection.execute(f"select count(*) from {relation}").fetchone()[0] if relation in existing else None
        for relation in SUMMARY_RELATIONS
    }
    if "audit.reconciliation" in existing:
        totals = connection.execute(
            "select source, sum(lines_read), sum(staged), sum(duplicates), sum(rejected), count(*) "
            "from audit.reconciliation group by source order by source").fetchall()
        counts.update({f"audit.reconciliation[{row[0]}]": row for row in totals})
    if "audit.ingestion_manifest" in existing:
        counts["audit.ingestion_manifest"] = manifest_findings(connection)
    return counts


def manifest_findings(connection: Any) -> list[str]:
    """What a person must look at in the ingestion manifest: files not fully read, files changed after ingestion."""
    rows = connection.execute(
        "select coalesce(change, status) as finding, count(*) from audit.ingestion_manifest "
        "where status in ('partially_ingested', 'quarantined', 'ignored') or change in ('rewritten', 'removed') "
        "group by all order by all").fetchall()
    return [f"{count:,} {finding}" for finding, count in rows]


def evaluated_as_of(connection: Any) -> str | None:
    """The `as_of` the segments of this warehouse were evaluated at (UTC), if they carry it."""
    import duckdb

    try:
        value = connection.execute("select max(evaluated_as_of) from segments.seg_started_conversation").fetchone()[0]
    except duckdb.Error:  # a warehouse built before segments had the column
        return None
    return None if value is None else f"{value:%Y-%m-%d %H:%M:%S} UTC"


def print_counts(path: Path, counts: dict[str, Any]) -> None:
    print(f"\nWarehouse {path}")
    for relation, count in counts.items():
        if relation.startswith("audit.reconciliation["):
            source, lines_read, staged, duplicates, rejected, files = count
            print(f"  raw {source:<18} {files:>5} files {lines_read:>11,} lines = {staged:>11,} staged "
                  f"+ {duplicates:>9,} duplicates + {rejected:>7,} rejected")
        elif relation == "audit.ingestion_manifest":
            if count:
                print(f"  raw files to look at: {', '.join(count)} (audit.ingestion_manifest: status, change, "
                      "error, fix)")
        else:
            shown = "missing" if count is None else f"{count:,}"
            print(f"  {relation:<45} {shown:>12} rows")


def summary_path(settings: Settings, build_file: bool) -> Path:
    """The serving copy (what BI tools see), else the build file when nothing was published yet."""
    return settings.duckdb_path if build_file else settings.readable_warehouse


def print_summary(settings: Settings, build_file: bool = False) -> str | None:
    """Row counts of the serving copy (or the build file); returns the as_of its segments were evaluated at."""
    path = summary_path(settings, build_file)
    if path == settings.duckdb_path:
        ensure_not_being_built(path)
    connection = open_read_only(path, "warehouse", lock_path_for(settings.duckdb_path))
    with connection:
        counts = row_counts(connection)
        as_of = evaluated_as_of(connection)
    print_counts(path, counts)
    if path != settings.serving:
        print(f"  (build file; the serving copy {settings.serving} is "
              f"{'older' if settings.serving.is_file() else 'not published yet'}: "
              "`python -m customer_agent_warehouse publish` publishes it)")
    return as_of


def add_summary_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--build-file", action="store_true",
                        help="count the build file (CA_DUCKDB_PATH) instead of the serving copy")


def run_summary(args: argparse.Namespace) -> int:
    print_summary(load_settings(), args.build_file)
    return 0


# --- run ---------------------------------------------------------------------------------------------------------
def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sample", action="store_true",
                        help="generate sample data into an empty CA_RAW_PATH (without it, sample data goes only "
                             "into the default data/raw)")
    parser.add_argument("--sample-conversations", type=positive_int, default=2000,
                        help="size of the sample raw zone (default 2000)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the sample raw zone (default 42)")
    parser.add_argument("--sample-start-date", type=iso_date, default=None, metavar="YYYY-MM-DD",
                        help="first day of the sample (default: the 30 days that end two days before today)")
    add_build_arguments(parser)
    parser.add_argument("--skip-validate", action="store_true", help="do not run the Great Expectations suites")
    from customer_agent_warehouse.watch import add_watch_arguments

    add_watch_arguments(parser)


def print_dashboard(settings: Settings) -> None:
    """Write the dashboard of the performance marts from what BI tools see; a failure is one line, not fatal."""
    from customer_agent_warehouse.report import ReportError, write_report

    try:
        print(f"\n{write_report(settings.readable_warehouse).line()}")
    except ReportError as error:
        print(f"\n{error}", file=sys.stderr)


def print_next_steps(settings: Settings, as_of: str | None, started: float, target: str) -> None:
    print(f"\n==> done in {time.monotonic() - started:.1f}s; segments evaluated as of {as_of or 'n/a'}")
    if target == "duckdb":
        print(f"==> serving copy: {settings.serving} (open it read-only from BI tools: docs/serving.md)")
    print("==> next: schedule `python -m customer_agent_warehouse run` (or `./run.sh`) as often as raw files "
          "land; validation report: reports/validation/index.html")


def run_run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    settings = load_settings()
    ensure_raw_zone(settings, args.sample_conversations, args.seed, args.sample, args.sample_start_date)
    if args.watch:  # the same job in one long-lived process (watch.py)
        from customer_agent_warehouse.watch import run_watch

        return run_watch(settings, args)
    if args.push or args.status_file or args.push_out:
        raise UsageError("--push, --push-out and --status-file go with --watch (without it, `export --push` "
                         "sends the activation files)")
    returncode = build_validate_publish(settings, args, validate=not args.skip_validate)
    if returncode != 0:
        return returncode
    as_of = None
    if args.target == "duckdb":
        as_of = print_summary(settings)
        print_dashboard(settings)
    print_next_steps(settings, as_of, started, args.target)
    return 0

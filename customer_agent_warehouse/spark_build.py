"""`build --target spark` and `load --target spark`: one Spark session in this process for the raw loader and dbt.

The session starts once with the profile's settings (spark_session.py), the loader reads the raw zone into the
`raw.*` tables (ingest/spark_loader.py), then dbt runs in-process with `dbt.cli.main.dbtRunner`, whose
dbt-spark session method gets the same SparkSession back (the warehouse's Derby metastore admits one process).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from customer_agent_warehouse.dbt_runner import DEFAULT_PROFILES_DIR, build_arguments
from customer_agent_warehouse.settings import PROJECT_ROOT, Settings, UsageError

DEFAULT_SETTLE_SECONDS = 60
DEFAULT_MAX_LINE_BYTES = 8 << 20


def _loader_options(dbt_vars: Mapping[str, Any]) -> dict[str, Any]:
    """The raw-zone knobs the DuckDB plugin reads from dbt vars, read from the same vars."""
    try:
        return {"settle_seconds": float(dbt_vars.get("raw_file_settle_seconds", DEFAULT_SETTLE_SECONDS)),
                "max_line_bytes": int(dbt_vars.get("raw_max_line_bytes", DEFAULT_MAX_LINE_BYTES))}
    except (TypeError, ValueError):
        raise UsageError("vars raw_file_settle_seconds and raw_max_line_bytes must be numbers (--vars)") from None


def load(spark: Any, settings: Settings, dbt_vars: Mapping[str, Any], full_refresh: bool) -> None:
    from customer_agent_warehouse.ingest.spark_loader import load_raw_zone

    started = time.monotonic()
    summaries = load_raw_zone(spark, settings.raw_path, full_refresh=full_refresh, **_loader_options(dbt_vars))
    for summary in summaries:
        print(f"==> raw {summary.source}: {summary.files_read} files read ({summary.files_read_by_spark} by Spark), "
              f"{summary.lines_loaded:,} lines, {summary.files_listed} files in the manifest", flush=True)
    print(f"==> load: ok in {time.monotonic() - started:.1f}s", flush=True)


def dbt_command(args: Sequence[str], dbt_vars: Mapping[str, Any]) -> list[str]:
    import json

    command = [*args, "--profiles-dir", str(DEFAULT_PROFILES_DIR), "--project-dir", str(PROJECT_ROOT),
               "--target", "spark"]
    return command + (["--vars", json.dumps(dict(dbt_vars), default=str)] if dbt_vars else [])


def run_dbt_in_process(args: Sequence[str], dbt_vars: Mapping[str, Any]) -> int:
    """dbt in this process (its dbt-spark session is this process's SparkSession); 0, 1 (failures) or 2."""
    from dbt.cli.main import dbtRunner

    started = time.monotonic()
    result = dbtRunner().invoke(dbt_command(args, dbt_vars))
    returncode = 0 if result.success else (2 if result.exception is not None else 1)
    if result.exception is not None:
        print(f"dbt: {str(result.exception).splitlines()[0] if str(result.exception) else result.exception!r}",
              flush=True)
    status = "ok" if returncode == 0 else f"FAILED (exit {returncode})"
    print(f"==> dbt {args[0]}: {status} in {time.monotonic() - started:.1f}s", flush=True)
    return returncode


def _prepare_environment(settings: Settings) -> None:
    os.environ.update(settings.dbt_env())
    os.environ["CA_DBT_TARGET"] = "spark"


def spark_build(settings: Settings, args: argparse.Namespace) -> int:
    """Load the raw zone and run `dbt build`, one Spark session for both."""
    from customer_agent_warehouse.spark_session import spark_session

    _prepare_environment(settings)
    with spark_session() as spark:
        load(spark, settings, args.vars, args.full_refresh)
        return run_dbt_in_process(build_arguments(args.full_refresh, args.unit_tests), args.vars)


def spark_load(settings: Settings, args: argparse.Namespace) -> int:
    from customer_agent_warehouse.spark_session import spark_session

    _prepare_environment(settings)
    with spark_session() as spark:
        load(spark, settings, args.vars, args.full_refresh)
    return 0

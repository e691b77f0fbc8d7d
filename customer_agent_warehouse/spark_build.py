"""`build --target spark`: one Spark session in this process for the raw loader and dbt.

The session starts once with the profile's settings (spark_session.py), the loader reads the raw zone into the
`raw.*` tables (loading.py picks ingest/spark_loader.py for the target), then dbt runs in-process with
`dbt.cli.main.dbtRunner`, whose dbt-spark session method gets the same SparkSession back (the warehouse's Derby
metastore admits one process, so a dbt subprocess could not open it).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from customer_agent_warehouse.dbt_runner import DEFAULT_PROFILES_DIR, build_arguments
from customer_agent_warehouse.loading import run_load_step
from customer_agent_warehouse.settings import PROJECT_ROOT, Settings


def dbt_command(args: Sequence[str], dbt_vars: Mapping[str, Any]) -> list[str]:
    command = [*args, "--profiles-dir", str(DEFAULT_PROFILES_DIR), "--project-dir", str(PROJECT_ROOT),
               "--target", "spark"]
    for option, folder in (("--target-path", os.environ.get("DBT_TARGET_PATH")),
                           ("--log-path", os.environ.get("DBT_LOG_PATH"))):
        if folder:
            command += [option, folder]
    return command + (["--vars", json.dumps(dict(dbt_vars), default=str)] if dbt_vars else [])


def run_dbt_in_process(args: Sequence[str], dbt_vars: Mapping[str, Any]) -> int:
    """dbt in this process (its dbt-spark session is this process's SparkSession): 0, 1 (failures) or 2."""
    from dbt.cli.main import dbtRunner

    started = time.monotonic()
    result = dbtRunner().invoke(dbt_command(args, dbt_vars))
    returncode = 0 if result.success else (2 if result.exception is not None else 1)
    if result.exception is not None:
        message = str(result.exception).strip().splitlines()
        print(f"dbt: {message[0] if message else repr(result.exception)}", flush=True)
    status = "ok" if returncode == 0 else f"FAILED (exit {returncode})"
    print(f"==> dbt {args[0]}: {status} in {time.monotonic() - started:.1f}s", flush=True)
    return returncode


def spark_build(settings: Settings, args: argparse.Namespace) -> int:
    """Load the raw zone and run `dbt build`, one Spark session for both."""
    from customer_agent_warehouse.spark_session import spark_session

    os.environ.update(replace(settings, target="spark").dbt_env())  # dbt in this process reads them
    with spark_session():
        run_load_step(settings, "spark", args.vars, args.full_refresh)
        return run_dbt_in_process(build_arguments(args.full_refresh, args.unit_tests), args.vars)

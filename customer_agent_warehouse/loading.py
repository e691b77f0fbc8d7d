"""`load`: the raw zone into a server target's raw tables (spec §10), also the first step of `build` there.

    python -m customer_agent_warehouse load --target postgres [--full-refresh] [--vars V]

DuckDB needs no load: dbt reads the raw zone itself through the project's dbt-duckdb plugin. `raw_loader`
is the one place that picks a target's loader; a target adds its own there. A load prints one summary line:
files new / appended / unchanged / quarantined / ignored (and rewritten / removed, when any) and lines loaded.
The settle time and the line size limit are the dbt vars `raw_file_settle_seconds` and `raw_max_line_bytes`
(dbt_project.yml, overridden by `--vars`), as for the DuckDB plugin.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from customer_agent_warehouse.arguments import VARS_EXAMPLE, add_target_argument, dbt_vars
from customer_agent_warehouse.raw_zone_check import raw_zone_error
from customer_agent_warehouse.settings import PROJECT_ROOT, Settings, UsageError, load_settings


@dataclass(frozen=True)
class LoadOptions:
    raw_path: Path
    full_refresh: bool = False
    settle_seconds: float = 60
    max_line_bytes: int = 8 << 20


@dataclass(frozen=True)
class LoadReport:
    """What a load did: where to, lines loaded, and how many files had each outcome."""

    destination: str
    lines_loaded: int
    files: dict[str, int]

    def line(self, seconds: float) -> str:
        shown = [f"{count:,} {outcome}" for outcome, count in self.files.items()
                 if count or outcome in ("new", "appended", "unchanged", "quarantined", "ignored")]
        return (f"==> load: raw zone into {self.destination}: files {', '.join(shown)}; "
                f"{self.lines_loaded:,} lines loaded in {seconds:.1f}s")


Loader = Callable[[LoadOptions], LoadReport]


def _postgres_loader(options: LoadOptions) -> LoadReport:
    from customer_agent_warehouse.ingest.postgres_loader import FILE_OUTCOMES, load_raw_zone
    from customer_agent_warehouse.postgres_connection import PostgresSettings

    postgres = PostgresSettings.from_environment()
    with contextlib.closing(postgres.connect()) as connection:
        summaries = load_raw_zone(connection, options.raw_path, full_refresh=options.full_refresh,
                                  settle_seconds=options.settle_seconds, max_line_bytes=options.max_line_bytes)
    files = {outcome: sum(summary.files[outcome] for summary in summaries) for outcome in FILE_OUTCOMES}
    return LoadReport(f"PostgreSQL {postgres.where}", sum(summary.lines_loaded for summary in summaries), files)


def _spark_loader(options: LoadOptions) -> LoadReport:
    """Spark reads the raw files itself (ingest/spark_loader.py), in the command's Spark session: the one
    `build --target spark` started for the loader and dbt, else one started for this load."""
    from customer_agent_warehouse.ingest.postgres_loader import FILE_OUTCOMES
    from customer_agent_warehouse.ingest.spark_loader import load_raw_zone
    from customer_agent_warehouse.spark_session import active_or_new_session, warehouse_path

    with active_or_new_session() as spark:
        summaries = load_raw_zone(spark, options.raw_path, full_refresh=options.full_refresh,
                                  settle_seconds=options.settle_seconds, max_line_bytes=options.max_line_bytes)
    files = {outcome: sum(summary.files[outcome] for summary in summaries) for outcome in FILE_OUTCOMES}
    by_spark = sum(summary.files_read_by_spark for summary in summaries)
    return LoadReport(f"Spark {warehouse_path()} ({by_spark:,} files read by Spark's text source)",
                      sum(summary.lines_loaded for summary in summaries), files)


def raw_loader(target: str) -> Loader | None:
    """The loader of a target's raw tables; None when dbt reads the raw zone itself (DuckDB)."""
    return {"postgres": _postgres_loader, "spark": _spark_loader}.get(target)


def _var(values: Mapping[str, Any], name: str, kind: type, fallback: Any) -> Any:
    value = values.get(name, fallback)
    try:
        converted = kind(value)
    except (TypeError, ValueError):
        converted = -1
    if converted < 0:
        raise UsageError(f"var {name} must be a number >= 0; got {value!r}: fix it in dbt_project.yml or --vars")
    return converted


def load_options(settings: Settings, overrides: Mapping[str, Any], full_refresh: bool) -> LoadOptions:
    """The options of a load: the raw zone (checked), and the raw-zone vars of dbt_project.yml under --vars."""
    from customer_agent_warehouse.activation.config import project_vars

    values = {**project_vars(PROJECT_ROOT / "dbt_project.yml"), **overrides}
    if not values.get("allow_empty_raw_zone"):
        error = raw_zone_error(str(settings.raw_path))
        if error:
            raise UsageError(error)
    return LoadOptions(settings.raw_path, full_refresh, _var(values, "raw_file_settle_seconds", float, 60),
                       _var(values, "raw_max_line_bytes", int, 8 << 20))


def run_load_step(settings: Settings, target: str, overrides: Mapping[str, Any], full_refresh: bool) -> None:
    """Load the raw zone when the target has a loader (prints the summary line); a no-op on DuckDB."""
    loader = raw_loader(target)
    if loader is None:
        return
    options = load_options(settings, overrides, full_refresh)
    started = time.monotonic()
    report = loader(options)
    print(report.line(time.monotonic() - started), flush=True)


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_argument(parser)
    parser.add_argument("--full-refresh", action="store_true", help="empty the raw tables and load every file again")
    parser.add_argument("--vars", type=dbt_vars, default={},
                        help=f"dbt vars (raw_file_settle_seconds, raw_max_line_bytes), e.g. {VARS_EXAMPLE}")


def run_load(args: argparse.Namespace) -> int:
    if raw_loader(args.target) is None:
        raise UsageError(f"--target {args.target} has no load step: dbt reads the raw zone itself during `build` "
                         "(use --target postgres or spark)")
    from customer_agent_warehouse.pipeline import build_lock

    settings = load_settings()
    with build_lock(settings, args.target):  # a load is the first step of a build: one at a time
        run_load_step(settings, args.target, args.vars, args.full_refresh)
    return 0

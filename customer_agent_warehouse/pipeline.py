"""The main job: `build` (dbt), `summary` (row counts) and `run` (sample data, build, validate, summary)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from customer_agent_warehouse.settings import PROJECT_ROOT, Settings, load_settings, raw_zone_has_files

SAMPLE_DAYS = 30
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


def dbt_executable() -> str:
    return str(Path(sys.executable).parent / "dbt")


def run_dbt(settings: Settings, args: list[str], dbt_vars: dict | None = None) -> int:
    """Run one dbt command on the project with the given raw zone and warehouse file."""
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    command = [dbt_executable(), *args, "--profiles-dir", str(PROJECT_ROOT / "profiles"),
               "--project-dir", str(PROJECT_ROOT)]
    if dbt_vars:
        command += ["--vars", json.dumps(dbt_vars)]
    return subprocess.run(command, cwd=PROJECT_ROOT, env=settings.dbt_env(), check=False).returncode


def _parse_vars(text: str | None) -> dict | None:
    if not text:
        return None
    import yaml  # dbt depends on PyYAML; YAML accepts dbt's `{as_of: "..."}` form and JSON

    parsed = yaml.safe_load(text)
    if not isinstance(parsed, dict):
        raise SystemExit(f"--vars must be a mapping such as '{{as_of: \"2026-11-20T12:00:00Z\"}}'; got {text!r}")
    return parsed


def build_arguments(full_refresh: bool, unit_tests: bool) -> list[str]:
    """`dbt build` as production runs it: dbt unit tests check the code, not the data, so they run in CI
    (./test.sh) and are skipped here unless asked for."""
    return (["build"] + (["--full-refresh"] if full_refresh else [])
            + ([] if unit_tests else ["--exclude-resource-type", "unit_test"]))


def _add_dbt_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--full-refresh", action="store_true", help="rebuild incremental models from the raw zone")
    parser.add_argument("--vars", help="dbt vars, e.g. '{as_of: \"2026-11-20T12:00:00Z\"}'")
    parser.add_argument("--unit-tests", action="store_true", help="also run the dbt unit tests (CI does)")


def add_build_arguments(parser: argparse.ArgumentParser) -> None:
    _add_dbt_arguments(parser)


def run_build(args: argparse.Namespace) -> int:
    return run_dbt(load_settings(), build_arguments(args.full_refresh, args.unit_tests), _parse_vars(args.vars))


def row_counts(duckdb_path: Path) -> dict[str, int | None]:
    import duckdb

    counts: dict[str, int | None] = {}
    with duckdb.connect(str(duckdb_path), read_only=True) as connection:
        existing = {f"{schema}.{name}" for schema, name in connection.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}
        for relation in SUMMARY_RELATIONS:
            counts[relation] = (
                connection.execute(f"select count(*) from {relation}").fetchone()[0] if relation in existing else None
            )
        if "audit.reconciliation" in existing:
            totals = connection.execute(
                "select source, sum(lines_read), sum(staged), sum(duplicates), sum(rejected), count(*) "
                "from audit.reconciliation group by source order by source").fetchall()
            counts.update({f"audit.reconciliation[{row[0]}]": row for row in totals})  # type: ignore[misc]
    return counts


def print_summary(duckdb_path: Path) -> int:
    if not duckdb_path.exists():
        print(f"No warehouse at {duckdb_path}: run `./run.sh` or `dbt build --profiles-dir profiles` first.")
        return 1
    print(f"\nWarehouse {duckdb_path}")
    for relation, count in row_counts(duckdb_path).items():
        if relation.startswith("audit.reconciliation["):
            source, lines_read, staged, duplicates, rejected, files = count  # type: ignore[misc]
            print(f"  raw {source:<18} {files:>5} files {lines_read:>11,} lines = {staged:>11,} staged "
                  f"+ {duplicates:>9,} duplicates + {rejected:>7,} rejected")
        else:
            shown = "missing" if count is None else f"{count:,}"
            print(f"  {relation:<45} {shown:>12} rows")
    return 0


def add_summary_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: the warehouse is CA_DUCKDB_PATH."""


def run_summary(args: argparse.Namespace) -> int:
    return print_summary(load_settings().duckdb_path)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sample-conversations", type=int, default=2000,
                        help="size of the sample raw zone generated when CA_RAW_PATH has no files (default 2000)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the sample raw zone (default 42)")
    _add_dbt_arguments(parser)
    parser.add_argument("--skip-validate", action="store_true", help="do not run the Great Expectations suites")


def ensure_raw_zone(settings: Settings, conversations: int, seed: int) -> None:
    if raw_zone_has_files(settings.raw_path):
        print(f"==> raw zone {settings.raw_path} (existing files)")
        return
    from customer_agent_warehouse.generate import generate_raw_zone

    # The sample covers the 30 days that end two days ago, so that segments evaluated as of now
    # (escalations of the last 7 days, follow-ups of recommendations 2 h to 7 days old) have members
    # and no generated time, late deliveries included, lies in the future.
    start_date = date.today() - timedelta(days=SAMPLE_DAYS + 2)
    print(f"==> raw zone {settings.raw_path} is empty: generating a sample of {conversations:,} conversations "
          f"from {start_date} (seed {seed})")
    generate_raw_zone(settings.raw_path, conversations=conversations, seed=seed, start_date=start_date,
                      days=SAMPLE_DAYS)


def _step(name: str, returncode: int, started: float) -> int:
    status = "ok" if returncode == 0 else f"FAILED (exit {returncode})"
    print(f"==> {name}: {status} in {time.monotonic() - started:.1f}s")
    return returncode


def run_run(args: argparse.Namespace) -> int:
    settings = load_settings()
    ensure_raw_zone(settings, args.sample_conversations, args.seed)
    started = time.monotonic()
    dbt_args = build_arguments(args.full_refresh, args.unit_tests)
    if _step("dbt build", run_dbt(settings, dbt_args, _parse_vars(args.vars)), started) != 0:
        print_summary(settings.duckdb_path)
        return 1
    validation = 0
    if not args.skip_validate:
        started = time.monotonic()
        command = [sys.executable, "-m", "customer_agent_warehouse", "validate",
                   "--duckdb-path", str(settings.duckdb_path)]
        validation = _step("validate", subprocess.run(command, cwd=PROJECT_ROOT, check=False).returncode, started)
    print_summary(settings.duckdb_path)
    return 1 if validation else 0

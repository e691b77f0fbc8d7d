"""Argument types and options shared by the sub-commands, so each is defined once."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from customer_agent_warehouse.settings import TARGETS, setting

VARS_EXAMPLE = "'{as_of: \"2026-11-20T12:00:00Z\"}'"


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number; got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0; got {text!r}")
    return value


def iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date YYYY-MM-DD; got {text!r}") from None


def dbt_vars(text: str) -> dict[str, Any]:
    """dbt's `--vars` text (YAML or JSON) as a mapping."""
    import yaml  # dbt depends on PyYAML; YAML accepts dbt's `{as_of: "..."}` form and JSON

    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        parsed = None
    if not isinstance(parsed, dict):
        raise argparse.ArgumentTypeError(f"must be a mapping such as {VARS_EXAMPLE}; got {text!r}")
    return parsed


def add_target_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", choices=TARGETS, default=setting("CA_DBT_TARGET"),
                        help="dbt target (default: CA_DBT_TARGET, else duckdb)")


def add_dbt_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of a dbt build: target, full refresh, vars, unit tests."""
    add_target_argument(parser)
    parser.add_argument("--full-refresh", action="store_true", help="rebuild incremental models from the raw zone")
    parser.add_argument("--vars", type=dbt_vars, default={}, help=f"dbt vars, e.g. {VARS_EXAMPLE}")
    parser.add_argument("--unit-tests", action="store_true", help="also run the dbt unit tests (CI does)")


def add_parquet_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--parquet", type=Path, metavar="DIR",
                        help="also export the marts and segments of the published copy as Parquet files into DIR")

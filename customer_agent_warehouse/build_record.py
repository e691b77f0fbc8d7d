"""What the last dbt invocation used, read back for `validate`: its vars and its plausible-time window.

`validate` checks that no event time of the warehouse lies after its `validation_time`. By default that bound is
the end of the window the build itself accepted times in (spec §6, macros/normalisation/to_utc_timestamp.sql):
`timestamp_max_days_after_build` days after `timestamp_window_anchor`, or after the start of the warehouse's last
build when no anchor is set. The bound therefore never depends on the clock of the validating machine: a warehouse built
with a pinned anchor validates the same on any day, and a record the build accepted (up to a day ahead of the
build's clock) is not called "in the future" by a validation run a moment later.

Where each value comes from, first match wins (the same order as `followup_delay_hours`):
* vars: `--vars` of the last dbt invocation (`target/run_results.json`, `$DBT_TARGET_PATH` when set), else
  `vars` of `dbt_project.yml`; the anchor's project default is the environment variable
  CA_TIMESTAMP_WINDOW_ANCHOR, read here as dbt reads it.
* without an anchor, the build's start as the warehouse records it (the latest `loaded_at` of the log lines and
  `processed_at` of log staging: every staged time was judged against a build that started no later); when the
  warehouse cannot tell (Spark, no lines), the end of the last invocation: `metadata.generated_at` of the same
  run_results.json.
* none of these: the time `validate` starts (the only case that reads the clock).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

DEFAULT_MAX_DAYS_AFTER_BUILD = 1
ANCHOR_VARIABLE = "CA_TIMESTAMP_WINDOW_ANCHOR"


class BuildRecordError(ValueError):
    """A recorded or configured value `validate` cannot read; the message is one line naming it and the fix."""


def run_results_path(project_root: Path, environ: Mapping[str, str] | None = None) -> Path:
    """The run_results.json of the last dbt invocation in this project (`$DBT_TARGET_PATH` when set)."""
    target = Path((environ if environ is not None else os.environ).get("DBT_TARGET_PATH") or "target")
    return (target if target.is_absolute() else project_root / target) / "run_results.json"


def _run_results(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def cli_vars(path: Path) -> dict[str, Any]:
    """`--vars` of the invocation recorded in run_results.json `path` (empty when missing or unreadable)."""
    args = _run_results(path).get("args")
    cli = args.get("vars") if isinstance(args, dict) else None
    if isinstance(cli, str):
        import yaml  # dbt depends on PyYAML; dbt may record the vars as the text given on the command line

        try:
            cli = yaml.safe_load(cli)
        except yaml.YAMLError:
            return {}
    return cli if isinstance(cli, dict) else {}


def project_var(dbt_project: Path, name: str) -> Any:
    """`vars.<name>` of dbt_project.yml as written (None when missing or unreadable)."""
    try:
        import yaml

        project = yaml.safe_load(dbt_project.read_text()) or {}
        return (project.get("vars") or {}).get(name)
    except (OSError, ValueError, AttributeError, ImportError):
        return None


def as_float(value: Any) -> float | None:
    try:
        return None if value is None or isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        return None


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is None else moment.astimezone(dt.UTC).replace(tzinfo=None)


def parse_utc(text: str) -> dt.datetime:
    """An ISO-8601 time (`Z`, an offset, or none meaning UTC; a date alone meaning midnight) as naive UTC."""
    return _naive_utc(dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00")))


def _anchor(run_vars: Mapping[str, Any], project_root: Path, environ: Mapping[str, str]) -> tuple[str, str]:
    """The anchor text the build used (empty: none) and where it came from."""
    if "timestamp_window_anchor" in run_vars:
        return str(run_vars["timestamp_window_anchor"] or "").strip(), "--vars of the last dbt invocation"
    configured = project_var(project_root / "dbt_project.yml", "timestamp_window_anchor")
    if isinstance(configured, str) and ANCHOR_VARIABLE in configured:
        from customer_agent_warehouse.settings import SettingsError, read_variable

        try:
            return read_variable(ANCHOR_VARIABLE, environ) or "", ANCHOR_VARIABLE
        except SettingsError as error:
            raise BuildRecordError(f"validate: {error}") from None
    return str(configured or "").strip(), "dbt_project.yml"


def resolve_validation_time(
    override: dt.datetime | None = None,
    project_root: Path | None = None,
    environ: Mapping[str, str] | None = None,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    last_build: Callable[[], dt.datetime | None] | None = None,
) -> tuple[dt.datetime, str]:
    """The latest acceptable event time (naive UTC) and a short text saying where it came from (module doc).
    `last_build` reads from the warehouse itself the start of its last build that read log lines (None when it
    cannot tell); without an anchor it comes before run_results.json, which may belong to another warehouse."""
    if override is not None:
        return _naive_utc(override), "--validation-time"
    from customer_agent_warehouse.settings import PROJECT_ROOT

    root = project_root if project_root is not None else PROJECT_ROOT
    env = environ if environ is not None else os.environ
    path = run_results_path(root, env)
    run_vars = cli_vars(path)
    days = as_float(run_vars.get("timestamp_max_days_after_build"))
    if days is None:
        days = as_float(project_var(root / "dbt_project.yml", "timestamp_max_days_after_build"))
    days = DEFAULT_MAX_DAYS_AFTER_BUILD if days is None else days
    plural = "" if days == 1 else "s"
    anchor, anchor_source = _anchor(run_vars, root, env)
    if anchor:
        try:
            start = parse_utc(anchor)
        except ValueError:
            raise BuildRecordError(
                f"validate: timestamp_window_anchor '{anchor}' ({anchor_source}) is not an ISO-8601 UTC time such "
                "as 2026-12-01T00:00:00Z; fix it or pass --validation-time") from None
        return start + dt.timedelta(days=days), f"timestamp_window_anchor ({anchor_source}) + {days:g} day{plural}"
    built = last_build() if last_build is not None else None
    if built is not None:
        return (_naive_utc(built) + dt.timedelta(days=days),
                f"start of the warehouse's last build that read log lines + {days:g} day{plural}")
    generated_at = (_run_results(path).get("metadata") or {}).get("generated_at")
    if isinstance(generated_at, str):
        try:
            return (parse_utc(generated_at) + dt.timedelta(days=days),
                    f"end of the last dbt invocation ({path}) + {days:g} day{plural}")
        except ValueError:
            pass
    return _naive_utc(now()), f"now: no timestamp_window_anchor and no {path}"

"""`report`: write the Customer Agent performance dashboard as one self-contained HTML file.

Usage::

    python -m customer_agent_warehouse report [--duckdb-path PATH] [--out FILE]
    ca-warehouse report

Reads `marts.agg_customer_agent_daily`, `marts.agg_skill_performance` and two facts (escalation reasons,
order currencies) from the built warehouse -- `--duckdb-path`, else `CA_DUCKDB_PATH`, else
`data/warehouse.duckdb` -- opened READ-ONLY, and writes `--out` (default `reports/dashboard.html`, git-ignored)
atomically: charts are inline SVG drawn in Python, so the page needs no network and no JavaScript.
Other code calls `write_report(duckdb_path, out)` -> `ReportOutcome`.

Exit codes: 0 written; 2 the warehouse is missing, locked by a running build or not built, or the file cannot be
written, with one line on stderr that names the file and the fix.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from customer_agent_warehouse.settings import DEFAULT_REPORT_DIR, load_settings

DEFAULT_REPORT_PATH = DEFAULT_REPORT_DIR / "dashboard.html"
BUILD_HINT = "run `python -m customer_agent_warehouse build` (or `./run.sh`) first, or set CA_DUCKDB_PATH"


class ReportError(Exception):
    """The report could not be written; the message is one line naming the file and the fix."""


@dataclass(frozen=True)
class ReportOutcome:
    path: Path
    warehouse: Path
    first_day: dt.date | None
    last_day: dt.date | None
    daily_rows: int
    skill_rows: int

    def line(self) -> str:
        period = f"{self.first_day} to {self.last_day}" if self.first_day else "no data yet"
        return (f"report: dashboard {self.path} ({period}; {self.daily_rows:,} day x channel rows, "
                f"{self.skill_rows:,} day x skill rows)")


def open_read_only(duckdb_path: Path) -> Any:
    """The built warehouse opened read-only, or a one-line ReportError (missing, locked, unreadable)."""
    if not duckdb_path.is_file():
        raise ReportError(f"report: no warehouse at {duckdb_path}: {BUILD_HINT}")
    import duckdb

    try:
        return duckdb.connect(str(duckdb_path), read_only=True)
    except duckdb.Error as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        if "lock" in first.lower():
            raise ReportError(f"report: {duckdb_path} is locked by another process (a running dbt build?): "
                              "wait for it to finish and run the report again") from None
        raise ReportError(f"report: cannot open {duckdb_path} read-only: {first}") from None


def _write_atomically(path: Path, text: str) -> None:
    """Write next to the target, then rename: a reader never sees half a page."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as error:
        raise ReportError(f"report: cannot write {path}: {error.strerror or error}; choose another --out") from None


def write_report(duckdb_path: Path, out: Path = DEFAULT_REPORT_PATH,
                 generated_at: dt.datetime | None = None) -> ReportOutcome:
    """Read the dashboard marts from the warehouse (read-only) and write the HTML page to `out`."""
    from customer_agent_warehouse.report.data import missing_relations, read_dashboard
    from customer_agent_warehouse.report.page import render

    duckdb_path, out = Path(duckdb_path).expanduser().resolve(), Path(out).expanduser().resolve()
    connection = open_read_only(duckdb_path)
    try:
        missing = missing_relations(connection)
        if missing:
            raise ReportError(f"report: {', '.join(missing)} not found in {duckdb_path}: the warehouse is not "
                              f"built; {BUILD_HINT}")
        dashboard = read_dashboard(connection)
    finally:
        connection.close()
    _write_atomically(out, render(dashboard, duckdb_path, generated_at or dt.datetime.now(dt.UTC)))
    days = dashboard.days
    return ReportOutcome(path=out, warehouse=duckdb_path, first_day=days[0] if days else None,
                         last_day=days[-1] if days else None, daily_rows=len(dashboard.daily),
                         skill_rows=len(dashboard.skills))


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duckdb-path", type=Path,
                        help="warehouse file to read (default: the serving copy, so a running build never blocks "
                             "the report; the build file CA_DUCKDB_PATH while nothing is published)")
    parser.add_argument("--out", type=Path, default=DEFAULT_REPORT_PATH,
                        help="HTML file to write (default reports/dashboard.html)")


def run_report(args: argparse.Namespace) -> int:
    duckdb_path = args.duckdb_path or load_settings().readable_warehouse
    try:
        outcome = write_report(duckdb_path, args.out)
    except ReportError as error:
        print(str(error), file=sys.stderr)
        return 2
    print(outcome.line())
    return 0

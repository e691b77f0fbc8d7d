"""Can a build read this raw zone? The one rule, used by the CLI and by dbt's on-run-start hook.

A raw zone that is missing, is not a folder, or holds no raw file (a `*.jsonl` / `*.jsonl.gz` regular file under a
source folder, as the ingestion listing classifies it) would build empty marts, or with `--full-refresh` replace
a populated warehouse with an empty one (an unmounted share, a typo in CA_RAW_PATH). The dbt-duckdb plugin
`build_guard` registers `raw_zone_problem` as the DuckDB function `ca_raw_zone_problem(path)`, which
macros/serving/check_raw_zone.sql calls before any model runs.
"""

from __future__ import annotations

from pathlib import Path

from customer_agent_warehouse.ingest.listing import READABLE, list_source
from customer_agent_warehouse.ingest.sources import GZIP_SUFFIX, PLAIN_SUFFIX, SOURCES

EMPTY_ON_PURPOSE = "pass --vars '{allow_empty_raw_zone: true}' to build an empty warehouse on purpose"
SQL_FUNCTION = "ca_raw_zone_problem"


def has_raw_files(raw_path: Path) -> bool:
    return any(entry.disposition == READABLE for source in SOURCES for entry in list_source(raw_path, source))


def raw_zone_problem(raw_path: Path) -> str | None:
    """Why no build can read this raw zone, in words naming the path; None when it has raw files."""
    if not raw_path.exists():
        return f"raw zone {raw_path} does not exist"
    if not raw_path.is_dir():
        return f"raw zone {raw_path} is a file, not a folder"
    if not has_raw_files(raw_path):
        folders = ", ".join(f"{source}/" for source in SOURCES)
        return f"raw zone {raw_path} holds no raw file (*{PLAIN_SUFFIX} or *{GZIP_SUFFIX} under {folders})"
    return None


def raw_zone_error(raw_path: str | None) -> str | None:
    """The one-line error of an unusable raw zone (problem and fix), or None: the body of the SQL function."""
    problem = raw_zone_problem(Path(raw_path or "."))
    return f"{problem} (CA_RAW_PATH): point CA_RAW_PATH at the raw zone, or {EMPTY_ON_PURPOSE}" if problem else None

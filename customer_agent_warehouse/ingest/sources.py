"""The raw zone's source folders (spec §2), in one place for the Python side.

Settings, the generator, the raw-zone check, the DuckDB plugin and the PostgreSQL loader read `SOURCES`. On the
dbt side the same list is the seed `raw_sources` (seeds/raw_sources.csv: the `source` values of the audit
models are tested against it) and each folder is a dbt source (models/staging/*/_*__sources.yml);
tests/python/test_sources.py checks that the four agree.
"""

from __future__ import annotations

SOURCES: tuple[str, ...] = ("conversation_logs", "orders", "profiles")

#: Extensions of raw files (spec §2); any other file under a source folder is listed as ignored.
PLAIN_SUFFIX = ".jsonl"
GZIP_SUFFIX = ".jsonl.gz"

#: The relations (schema `raw`) of each source's dbt source tables `lines` and `files`
#: (models/staging/*/_*__sources.yml): views served by the DuckDB plugin, tables elsewhere.
RAW_SCHEMA = "raw"
RAW_TABLES: dict[str, tuple[str, str]] = {
    "conversation_logs": ("conversation_log_lines", "conversation_log_files"),
    "orders": ("order_lines", "order_files"),
    "profiles": ("profile_lines", "profile_files"),
}

"""dbt-duckdb plugin that serves the raw zone as dbt sources (listed in profiles/profiles.yml).

Each source folder is a dbt source with two tables (models/staging/_raw_zone__sources.yml):

* `lines`: the lines this build reads (new files, appended lines), one row per line
  with `file_name`, `line_number`, `raw_line` and `line_fault`; a stream that the
  base model of the source reads once;
* `files`: every file of the folder with its ingestion-manifest row.

The manifest of the previous build (`audit.ingestion_manifest`) tells what was read
before; a `--full-refresh` reads everything again. The settings come from the
source's `meta` (raw zone path, settle time, line size limit), rendered from dbt vars
and environment variables.
"""

from __future__ import annotations

import threading
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from dbt.adapters.duckdb.utils import SourceConfig

from customer_agent_warehouse.ingest.batches import SourcePass
from customer_agent_warehouse.ingest.registry import MANIFEST_SCHEMA, ManifestRow, normalised_root, rows_from_table

MANIFEST_RELATION = "audit.ingestion_manifest"


class _SnapshotDict(dict):
    """A dict whose items() is a snapshot: dbt-duckdb iterates its registered sources on every new
    cursor while another thread may register a source (`dictionary changed size during iteration`)."""

    def items(self):  # type: ignore[override]
        return list(super().items())


def _guard_registered_sources() -> None:
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    environment = DuckDBConnectionManager._ENV
    registered = getattr(environment, "_REGISTERED_DF", None)
    if registered is not None and not isinstance(registered, _SnapshotDict):
        environment._REGISTERED_DF = _SnapshotDict(registered)


def _full_refresh() -> bool:
    try:
        from dbt.flags import get_flags

        return bool(getattr(get_flags(), "FULL_REFRESH", False))
    except Exception:
        return False


def _unqualify(source_config: SourceConfig) -> None:
    """Drop the catalog from the source's name: dbt-duckdb writes `create or replace view <catalog>.raw.<table> as
    select * from <catalog>_raw_<table>_df` unquoted after this load, and the catalog is the warehouse file's name,
    which a user chooses (`my-warehouse`, `full`, `it's`). Without it the view lands in the connection's default
    catalog, which is that same warehouse file (the sources never name another database)."""
    source_config.database = None


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self._connection = None
        self._passes: dict[tuple[str, str], SourcePass] = {}
        self._lock = threading.Lock()

    def configure_connection(self, conn) -> None:
        # Created once here: dbt-duckdb creates a source's schema on first use, and two models
        # of different sources starting at once would race to create it.
        conn.execute("create schema if not exists raw")
        self._connection = conn
        _guard_registered_sources()

    def default_materialization(self) -> str:
        return "view"

    def load(self, source_config: SourceConfig):
        _unqualify(source_config)
        source_pass = self._pass(source_config)
        if source_config.identifier.endswith("_files"):
            return source_pass.files()
        return source_pass.lines()

    def _pass(self, source_config: SourceConfig) -> SourcePass:
        folder = source_config.get("raw_folder", source_config.name)
        root = normalised_root(source_config.get("raw_path", "data/raw"))
        key = (str(root), folder)
        with self._lock:
            if key not in self._passes:
                self._passes[key] = SourcePass(
                    root, folder, self._previous_rows(folder), full_refresh=_full_refresh(),
                    settle_seconds=float(source_config.get("settle_seconds", 60)),
                    max_line_bytes=int(source_config.get("max_line_bytes", 8 << 20)),
                )
            return self._passes[key]

    def _previous_rows(self, folder: str) -> dict[str, ManifestRow]:
        if self._connection is None:
            return {}
        cursor = self._connection.cursor()
        try:
            exists = cursor.execute(
                "select count(*) from information_schema.tables where table_schema = 'audit' "
                "and table_name = 'ingestion_manifest'").fetchall()[0][0]
            if not exists:
                return {}
            columns = ", ".join(MANIFEST_SCHEMA.names)
            rows = cursor.execute(f"select {columns} from {MANIFEST_RELATION} where source = ?", [folder]).fetchall()
            return rows_from_table([dict(zip(MANIFEST_SCHEMA.names, row, strict=True)) for row in rows])
        finally:
            cursor.close()

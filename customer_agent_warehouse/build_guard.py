"""dbt-duckdb plugin `build_guard` (profiles/profiles.yml): checks before a dbt command opens the build file.

Listed first under `plugins:` of the duckdb output, so it runs when dbt opens its first DuckDB connection, before
any hook or model, for plain `dbt build` as for the CLI:

* every `CA_*` setting is checked (settings.py): a bad value stops dbt with one line naming it, instead of a
  DuckDB traceback;
* the build lock (locking.py) is taken for the rest of the dbt process: a second build fails at once, naming the
  holder, and the first one is unharmed. A dbt started by the CLI runs under the CLI's lock;
* a `"` inside the warehouse file's name (DuckDB's catalog) is doubled in every relation dbt renders (quoting.py);
* another process that has the build file open stops dbt with one line naming it (locking.py), before DuckDB's
  traceback;
* the DuckDB function `ca_raw_zone_problem(path)` (raw_zone_check.py) serves dbt's raw-zone check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from customer_agent_warehouse.locking import (
    BuildLock,
    WarehouseLocked,
    ensure_not_open_elsewhere,
    held_by_parent,
    lock_path_for,
)
from customer_agent_warehouse.quoting import escape_relation_quotes
from customer_agent_warehouse.raw_zone_check import SQL_FUNCTION, raw_zone_error
from customer_agent_warehouse.settings import SERVING_FOLDER, UsageError, load_settings

_HELD: dict[Path, BuildLock | None] = {}  # per process: dbt-duckdb may initialise plugins more than once


class BuildGuardError(RuntimeError):
    """Shown by dbt as one line under "Database Error"."""


def guard(warehouse: Path) -> None:
    """Check the settings and hold the build lock of `warehouse` for the rest of this process."""
    try:
        load_settings()
        if warehouse in _HELD:
            return
        lock = BuildLock(warehouse, lock_path_for(warehouse))
        try:
            _HELD[warehouse] = lock.acquire()
        except WarehouseLocked:
            if not held_by_parent(lock.lock_path):
                raise
            _HELD[warehouse] = None  # the CLI that started this dbt holds the lock for it
    except UsageError as error:
        raise BuildGuardError(str(error)) from None


def _build_file(creds: Any) -> Path | None:
    path = str(getattr(creds, "path", "") or "")
    if not path or path == ":memory:" or path.startswith("md:"):
        return None
    return Path(path).expanduser().resolve()


def serving_copy_of(warehouse: Path) -> Path:
    settings = load_settings()
    if settings.duckdb_path == warehouse:
        return settings.serving
    return warehouse.parent / SERVING_FOLDER / warehouse.name


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        escape_relation_quotes()
        warehouse = _build_file(self.creds)
        if warehouse is not None:
            guard(warehouse)

    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        """Just before dbt-duckdb opens the build file: another process that has it open (a BI tool, a notebook) is one
        line naming the file, the holder's pid and the serving copy, instead of DuckDB's lock traceback."""
        warehouse = _build_file(creds)
        if warehouse is None:
            return
        try:
            ensure_not_open_elsewhere(warehouse, serving_copy_of(warehouse))
        except UsageError as error:
            raise BuildGuardError(str(error)) from None

    def configure_connection(self, conn: Any) -> None:
        """`ca_raw_zone_problem(path)` for the on-run-start check (macros/serving/check_raw_zone.sql)."""
        import duckdb

        varchar = duckdb.sqltype("VARCHAR")
        conn.create_function(SQL_FUNCTION, raw_zone_error, [varchar], varchar, null_handling="special",
                             side_effects=True)

"""dbt-duckdb plugin `build_guard` (profiles/profiles.yml): checks before a dbt command opens the build file.

Listed first under `plugins:` of the duckdb output, so it runs when dbt opens its first DuckDB connection, before
any hook or model, for plain `dbt build` as for the CLI:

* every `CA_*` setting is checked (settings.py): a bad value stops dbt with one line naming it, instead of a
  DuckDB traceback;
* the build lock (locking.py) is taken for the rest of the dbt process: a second build fails at once, naming the
  holder, and the first one is unharmed. A dbt started by the CLI runs under the CLI's lock;
* a `"` inside the warehouse file's name (DuckDB's catalog) is doubled in every relation dbt renders (quoting.py);
* the DuckDB function `ca_raw_zone_problem(path)` (raw_zone_check.py) serves dbt's raw-zone check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from customer_agent_warehouse.locking import BuildLock, WarehouseLocked, held_by_parent, lock_path_for
from customer_agent_warehouse.quoting import escape_relation_quotes
from customer_agent_warehouse.raw_zone_check import SQL_FUNCTION, raw_zone_error
from customer_agent_warehouse.settings import UsageError, load_settings

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


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        escape_relation_quotes()
        path = str(getattr(self.creds, "path", "") or "")
        if path and path != ":memory:" and not path.startswith("md:"):
            guard(Path(path).expanduser().resolve())

    def configure_connection(self, conn: Any) -> None:
        """`ca_raw_zone_problem(path)` for the on-run-start check (macros/serving/check_raw_zone.sql)."""
        import duckdb

        varchar = duckdb.sqltype("VARCHAR")
        conn.create_function(SQL_FUNCTION, raw_zone_error, [varchar], varchar, null_handling="special",
                             side_effects=True)

"""PostgreSQL side of the test harness: the same `dbt` runs as `Warehouse`, on the `postgres` target.

A `PostgresWarehouse` is a `Warehouse` whose dbt runs use the `postgres` target, pointed (CA_PG_*) at
one database of the throwaway server the test session owns (`conftest.postgres_server`); its dbt
target and log folders are the test's temporary directory, as for DuckDB, and `raw_zone` may point it
at another warehouse's raw zone (the same files built on both engines). `build` runs the project's raw
loader first (COPY into the raw tables), as `build --target postgres` does, then the real `dbt build`.
`query` takes DuckDB's `?` placeholders too, so a scenario written for DuckDB runs unchanged here.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from customer_agent_warehouse.ingest.postgres_loader import LoadSummary, load_raw_zone
from customer_agent_warehouse.postgres_server import PostgresServer
from tests.python.compare import PostgresReader
from tests.python.warehouse import Warehouse


def _nulls_last(row: tuple) -> tuple:
    return tuple((value is None, value if value is not None else 0) for value in row)


@dataclass
class PostgresWarehouse(Warehouse):
    server: PostgresServer | None = None
    database: str = ""
    raw_zone: Path | None = None

    @property
    def raw(self) -> Path:
        return self.raw_zone or self.root / "raw"

    def env(self) -> dict[str, str]:
        assert self.server is not None, "a PostgresWarehouse needs the test session's server"
        return {**super().env(), **self.server.env(self.database), "CA_DBT_TARGET": "postgres"}

    def load(self, full_refresh: bool = False, vars: dict[str, Any] | None = None) -> list[LoadSummary]:
        """The raw loader: new raw files (and lines) into the raw tables, with the settle time of the vars."""
        settle_seconds = float({**self.vars, **(vars or {})}.get("raw_file_settle_seconds", 60))
        with contextlib.closing(self.connect()) as connection:
            connection.autocommit = False
            return load_raw_zone(connection, self.raw, full_refresh=full_refresh, settle_seconds=settle_seconds)

    def build(self, *args: str, vars: dict[str, Any] | None = None, check: bool = True,
              unit_tests: bool = False) -> subprocess.CompletedProcess:
        """The raw loader, then `dbt build` on the postgres target."""
        self.load(full_refresh="--full-refresh" in args, vars=vars)
        return super().build(*args, vars=vars, check=check, unit_tests=unit_tests)

    def connect(self, user: str | None = None, password: str | None = None):
        assert self.server is not None
        return self.server.connect(self.database, user=user, password=password)

    def query(self, sql: str, parameters: Sequence[Any] | None = None) -> list[tuple]:
        """Rows of a query; DuckDB's `?` placeholders and a final `order by all` (nulls last) work too."""
        sort_all = re.search(r"\s+order\s+by\s+all\s*$", sql, re.IGNORECASE)
        if sort_all:
            sql = sql[:sort_all.start()]
        with contextlib.closing(self.connect()) as connection, connection.cursor() as cursor:
            cursor.execute("set time zone 'UTC'")
            cursor.execute(sql.replace("?", "%s") if parameters else sql, list(parameters or []))
            rows = cursor.fetchall() if cursor.description else []
        return sorted(rows, key=_nulls_last) if sort_all else rows

    def reader(self) -> PostgresReader:
        return PostgresReader(self.connect)

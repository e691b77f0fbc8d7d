"""Test harness: write a raw zone, run the real `dbt build` into a real DuckDB file, read the results.

Every end-to-end test uses a `Warehouse` in its own temporary directory: its
own raw zone (CA_RAW_PATH), DuckDB file (CA_DUCKDB_PATH), dbt target and log
folders, so tests never share state with each other or with a developer's
`data/` folder.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from customer_agent_warehouse.dbt_runner import DbtRunner
from customer_agent_warehouse.settings import PROJECT_ROOT as PROJECT_ROOT  # re-exported for the tests
from customer_agent_warehouse.settings import Settings

Record = dict[str, Any] | str


def _encode(record: Record) -> str:
    return record if isinstance(record, str) else json.dumps(record)


@dataclass
class Warehouse:
    root: Path
    vars: dict[str, Any] = field(default_factory=dict)
    db_name: str = "warehouse.duckdb"  # the DuckDB catalog is this file's name without .duckdb
    raw_name: str = "raw"

    @property
    def raw(self) -> Path:
        return self.root / self.raw_name

    @property
    def db(self) -> Path:
        return self.root / self.db_name

    @property
    def serving(self) -> Path:
        return self.settings().serving

    def settings(self) -> Settings:
        return Settings(raw_path=self.raw, duckdb_path=self.db, raw_path_explicit=True)

    def env(self) -> dict[str, str]:
        return self.settings().dbt_env()

    def cli_env(self) -> dict[str, str]:
        """The environment of the project's CLI on this warehouse, with its own dbt target and log folders."""
        return {**self.env(), "DBT_TARGET_PATH": str(self.root / "target"), "DBT_LOG_PATH": str(self.root / "logs")}

    def cli_command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "customer_agent_warehouse", *args]

    def cli(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """`python -m customer_agent_warehouse <args>` on this warehouse (output captured)."""
        return subprocess.run(self.cli_command(*args), cwd=PROJECT_ROOT, env=env or self.cli_env(),
                              capture_output=True, text=True, check=False)

    def runner(self, extra_env: dict[str, str] | None = None) -> DbtRunner:
        """The project's dbt runner with this warehouse's paths and its own target and log folders."""
        return DbtRunner(env={**self.env(), **(extra_env or {})}, target_path=self.root / "target",
                         log_path=self.root / "logs")

    def write(self, source: str, relative_path: str, records: Iterable[Record]) -> Path:
        """Write one raw file (gzip when the name ends in .gz); records are dicts or raw line strings."""
        path = self.raw / source / relative_path
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "".join(_encode(record) + "\n" for record in records)
        if path.name.endswith(".gz"):
            path.write_bytes(gzip.compress(text.encode(), mtime=0))
        else:
            path.write_text(text)
        return path

    def dbt(self, *args: str, vars: dict[str, Any] | None = None, check: bool = True,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        result = self.runner(env).run(args, {**self.vars, **(vars or {})}, capture=True)
        if check and result.returncode != 0:
            raise AssertionError(f"dbt {' '.join(args)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}")
        return result

    def build(self, *args: str, vars: dict[str, Any] | None = None, check: bool = True,
              unit_tests: bool = False) -> subprocess.CompletedProcess:
        """`dbt build`; unit tests are skipped unless asked (they do not depend on the raw zone)."""
        extra = [] if unit_tests else ["--exclude-resource-type", "unit_test"]
        return self.dbt("build", *extra, *args, vars=vars, check=check)

    def query(self, sql: str, parameters: Sequence[Any] | None = None) -> list[tuple]:
        with duckdb.connect(str(self.db), read_only=True) as connection:
            connection.execute("set TimeZone = 'UTC'")
            return connection.execute(sql, parameters or []).fetchall()

    def rows(self, relation: str, columns: Sequence[str], order_by: str | None = None,
             where: str | None = None) -> list[dict[str, Any]]:
        """Rows of a relation as dicts of the given columns, in a deterministic order."""
        sql = f"select {', '.join(columns)} from {relation}"
        if where:
            sql += f" where {where}"
        sql += f" order by {order_by or ', '.join(columns)}"
        return [dict(zip(columns, row, strict=True)) for row in self.query(sql)]

    def snapshot(self, relations: Iterable[str], exclude_columns: Iterable[str] = ()) -> dict[str, list[tuple]]:
        """Full content of relations, every column but the excluded ones, sorted: for equality checks."""
        excluded = set(exclude_columns)
        snapshot: dict[str, list[tuple]] = {}
        for relation in relations:
            schema, name = relation.split(".")
            columns = [
                row[0]
                for row in self.query(
                    "select column_name from information_schema.columns "
                    "where table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, name],
                )
                if row[0] not in excluded
            ]
            assert columns, f"{relation} does not exist"
            selected = ", ".join(f'"{column}"' for column in columns)
            snapshot[relation] = self.query(f"select {selected} from {relation} order by all")
        return snapshot


def ts(text: str) -> datetime:
    """A UTC timestamp as DuckDB returns it (naive datetime), from an ISO string."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)

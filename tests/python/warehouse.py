"""Test harness: write a raw zone, run the real `dbt build` into a real DuckDB file, read the results.

Every end-to-end test uses a `Warehouse` in its own temporary directory: its
own raw zone (CA_RAW_PATH), DuckDB file (CA_DUCKDB_PATH), dbt target and log
folders, so tests never share state with each other or with a developer's
`data/` folder.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")

Record = dict[str, Any] | str


def _encode(record: Record) -> str:
    return record if isinstance(record, str) else json.dumps(record)


@dataclass
class Warehouse:
    root: Path
    vars: dict[str, Any] = field(default_factory=dict)

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def db(self) -> Path:
        return self.root / "warehouse.duckdb"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            CA_RAW_PATH=str(self.raw),
            CA_DUCKDB_PATH=str(self.db),
            DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        )
        return env

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
        merged_vars = {**self.vars, **(vars or {})}
        command = [
            DBT_EXECUTABLE,
            *args,
            "--profiles-dir", str(PROJECT_ROOT / "profiles"),
            "--project-dir", str(PROJECT_ROOT),
            "--target-path", str(self.root / "target"),
            "--log-path", str(self.root / "logs"),
        ]
        if merged_vars:
            command += ["--vars", json.dumps(merged_vars)]
        result = subprocess.run(command, cwd=PROJECT_ROOT, env={**self.env(), **(env or {})}, capture_output=True,
                                text=True)
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

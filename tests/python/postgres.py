"""PostgreSQL side of the test harness: the same `dbt` runs as `Warehouse`, on the `postgres` target.

A `PostgresWarehouse` is a `Warehouse` whose dbt runs use the `postgres` target, pointed (CA_PG_*) at
one database of the throwaway server the test session owns (`conftest.postgres_server`); its raw zone
and dbt target folders are the test's temporary directory, as for DuckDB.

Until the PostgreSQL raw loader and base models land, `copy_base_relations` gives the PostgreSQL
warehouse the parsed raw lines (the three `base_*` relations) of a DuckDB build of the same raw zone,
in the types the PostgreSQL base models give them (lists as `text[]`, lists of records as a jsonb array),
so everything downstream of the raw lines is built by the real models on PostgreSQL and compared.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb
from psycopg2.extras import execute_values

from customer_agent_warehouse.postgres_server import PostgresServer
from tests.python.compare import PostgresReader
from tests.python.warehouse import Warehouse

BASE_RELATIONS = ("base_customer_agent__log_lines", "base_shop__order_lines", "base_marketing__profile_lines")
# What the PostgreSQL build runs today: everything but raw ingestion (the raw sources, base and audit models).
RAW_INGESTION = (
    "source:*",
    "path:models/staging/customer_agent/base",
    "path:models/staging/shop/base",
    "path:models/staging/marketing/base",
    "path:models/audit",
)


@dataclass
class PostgresWarehouse(Warehouse):
    server: PostgresServer | None = None
    database: str = ""

    def env(self) -> dict[str, str]:
        assert self.server is not None, "a PostgresWarehouse needs the test session's server"
        return {**super().env(), **self.server.env(self.database), "CA_DBT_TARGET": "postgres"}

    def build_models(self, *args: str, vars: dict[str, Any] | None = None, unit_tests: bool = False):
        """`dbt build` of every model downstream of the raw lines (see RAW_INGESTION)."""
        return self.build("--exclude", *RAW_INGESTION, *args, vars=vars, unit_tests=unit_tests)

    def connect(self, user: str | None = None, password: str | None = None):
        assert self.server is not None
        return self.server.connect(self.database, user=user, password=password)

    def query(self, sql: str, parameters: Sequence[Any] | None = None) -> list[tuple]:
        with contextlib.closing(self.connect()) as connection, connection.cursor() as cursor:
            cursor.execute("set time zone 'UTC'")
            cursor.execute(sql, list(parameters or []))
            return cursor.fetchall() if cursor.description else []

    def reader(self) -> PostgresReader:
        return PostgresReader(self.connect)


def _postgres_type(duckdb_type: str) -> str:
    if duckdb_type.startswith("STRUCT(") and duckdb_type.endswith("[]"):
        return "jsonb"
    if duckdb_type.startswith("DECIMAL"):
        return duckdb_type.replace("DECIMAL", "numeric")
    return {"VARCHAR": "text", "VARCHAR[]": "text[]", "BIGINT": "bigint", "INTEGER": "integer",
            "TIMESTAMP": "timestamp", "DOUBLE": "double precision", "BOOLEAN": "boolean"}[duckdb_type]


def _json_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON serialisable: {value!r}")


def _postgres_value(value: Any, postgres_type: str) -> Any:
    if postgres_type == "jsonb" and value is not None:
        return json.dumps(value, default=_json_number)
    return value


def copy_base_relations(duckdb_path: str, warehouse: PostgresWarehouse) -> dict[str, int]:
    """The three base relations of a built DuckDB file, copied into staging of the PostgreSQL database."""
    copied: dict[str, int] = {}
    with duckdb.connect(duckdb_path, read_only=True) as source, contextlib.closing(warehouse.connect()) as target:
        source.execute("set TimeZone = 'UTC'")
        cursor = target.cursor()
        cursor.execute("create schema if not exists staging")
        for relation in BASE_RELATIONS:
            columns = source.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'staging' and table_name = ? order by ordinal_position", [relation]).fetchall()
            types = [_postgres_type(data_type) for _, data_type in columns]
            cursor.execute(f"drop table if exists staging.{relation}")
            definitions = [f'"{name}" {kind}' for (name, _), kind in zip(columns, types, strict=True)]
            cursor.execute(f"create table staging.{relation} ({', '.join(definitions)})")
            rows = [tuple(_postgres_value(value, kind) for value, kind in zip(row, types, strict=True))
                    for row in source.execute(f"select * from staging.{relation}").fetchall()]
            execute_values(cursor, f"insert into staging.{relation} values %s", rows, page_size=5000)
            copied[relation] = len(rows)
    return copied

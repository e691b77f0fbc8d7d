"""Names a user gives (the warehouse file, whose name is DuckDB's catalog; paths; databases) as SQL.

The rule, on every engine: a name is a quoted identifier (`"`, with `"` doubled) or a string literal (`'`, with `'`
doubled) wherever it reaches SQL. dbt renders relations as `"catalog"."schema"."table"` without doubling a `"`
inside a name; `escape_relation_quotes()` makes it double them (called in the dbt process by the build_guard plugin).
The dbt macros follow the same rule (macros/cross_db/catalog_names.sql).
"""

from __future__ import annotations

from pathlib import Path


def quote_identifier(name: str) -> str:
    """`my-warehouse` -> `"my-warehouse"`, `a"b` -> `"a""b"`."""
    return '"' + name.replace('"', '""') + '"'


def sql_literal(text: str | Path) -> str:
    """`it's` -> `'it''s'`."""
    return "'" + str(text).replace("'", "''") + "'"


def _quoted(relation: object, identifier: str) -> str:
    quote = relation.quote_character  # type: ignore[attr-defined]
    return f"{quote}{identifier.replace(quote, quote * 2)}{quote}"


def escape_relation_quotes() -> None:
    """dbt's relations double a quote character inside a name (a warehouse file named `my"warehouse.duckdb`)."""
    from dbt.adapters.base.relation import BaseRelation

    BaseRelation.quoted = _quoted  # type: ignore[method-assign]

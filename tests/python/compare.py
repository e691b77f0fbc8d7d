"""Compare two warehouses relation by relation, row by row, whatever the engines (DuckDB, PostgreSQL, Spark).

A `Reader` lists a relation's columns and fetches its rows; values are normalised to one Python form so
that equal data compares equal across engines: lists (DuckDB lists, PostgreSQL arrays, Spark arrays) keep
their order as tuples, records (structs, jsonb objects, Spark rows) become sorted (field, value) tuples,
a missing field of a record is a null one, timestamps are naive UTC datetimes, decimals compare exactly
(42.5000 = 42.5) and doubles become decimals of 12 significant digits (sums in another order may differ
in the last bit; a record's JSON number may be another engine's decimal), and a NULL sorts first.
`assert_same_relations` fails with the first differing rows of every relation that differs.

    assert_same_relations(DuckDBReader(path), PostgresReader(connect), ["marts.fct_conversation_started"])
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol

Row = tuple[Any, ...]
SIGNIFICANT_DIGITS = 12


class Reader(Protocol):
    """What the comparison needs from an engine."""

    name: str

    def columns(self, relation: str) -> list[str]: ...

    def rows(self, relation: str, columns: Sequence[str]) -> list[Row]: ...


def normalise(value: Any) -> Any:
    """One comparable form for a value read from any engine."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, Decimal):
        return value.normalize()
    if isinstance(value, float):  # as a decimal: a JSON number in a record may be another engine's decimal
        return Decimal(f"{value:.{SIGNIFICANT_DIGITS}g}").normalize()
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return value
    if isinstance(value, list | tuple):
        return tuple(normalise(element) for element in value)
    if isinstance(value, dict):  # a missing field and a null field are the same (jsonb records vs structs)
        return tuple(sorted((str(key), normalise(item)) for key, item in value.items() if item is not None))
    if hasattr(value, "asDict"):  # a Spark Row
        return normalise(value.asDict(recursive=True))
    return str(value)


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _order(value: Any) -> tuple:
    """A sort key in which equal values of different types (1, Decimal('1')) sort alike."""
    if value is None:
        return (0,)
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return (1, Decimal(value))
    if isinstance(value, tuple):
        return (2, tuple(_order(element) for element in value))
    return (3, type(value).__name__, str(value))


def _sort_key(row: Row) -> tuple:
    return tuple(_order(value) for value in row)


def snapshot(reader: Reader, relation: str, exclude_columns: Iterable[str] = ()) -> tuple[list[str], list[Row]]:
    """A relation's columns (but the excluded ones) and its normalised rows in a deterministic order."""
    excluded = set(exclude_columns)
    columns = [column for column in reader.columns(relation) if column not in excluded]
    if not columns:
        raise AssertionError(f"{reader.name}: {relation} does not exist or has no columns")
    rows = [tuple(normalise(value) for value in row) for row in reader.rows(relation, columns)]
    return columns, sorted(rows, key=_sort_key)


def differences(left: Reader, right: Reader, relation: str, exclude_columns: Iterable[str] = (),
                sample: int = 3, right_relation: str | None = None) -> str | None:
    """None when the relation is equal in both warehouses (`right_relation`, when the right one is named
    otherwise), else a short description of how it differs."""
    excluded = list(exclude_columns)
    left_columns, left_rows = snapshot(left, relation, excluded)
    right_columns, right_rows = snapshot(right, right_relation or relation, excluded)
    if left_columns != right_columns:
        return f"{relation}: columns differ: {left.name} {left_columns} vs {right.name} {right_columns}"
    if left_rows == right_rows:
        return None
    left_set, right_set = set(left_rows), set(right_rows)
    only_left = [row for row in left_rows if row not in right_set]
    only_right = [row for row in right_rows if row not in left_set]
    lines = [f"{relation}: {len(left_rows)} rows in {left.name}, {len(right_rows)} in {right.name}; "
             f"{len(only_left)} only in {left.name}, {len(only_right)} only in {right.name} (columns {left_columns})"]
    lines += [f"  only in {left.name}: {row}" for row in only_left[:sample]]
    lines += [f"  only in {right.name}: {row}" for row in only_right[:sample]]
    return "\n".join(lines)


def assert_same_relations(left: Reader, right: Reader, relations: Iterable[str],
                          exclude_columns: Iterable[str] = ()) -> None:
    """Every relation has the same columns and the same rows (as a multiset) in both warehouses."""
    excluded = list(exclude_columns)
    found = [difference for relation in relations if (difference := differences(left, right, relation, excluded))]
    assert not found, "\n".join(found)


class DuckDBReader:
    """A DuckDB warehouse file, opened read-only for each call."""

    def __init__(self, path: str, name: str = "duckdb") -> None:
        self.path = path
        self.name = name

    def _query(self, sql: str, parameters: Sequence[Any] = ()) -> list[Row]:
        import duckdb

        with duckdb.connect(self.path, read_only=True) as connection:
            connection.execute("set TimeZone = 'UTC'")
            return connection.execute(sql, list(parameters)).fetchall()

    def columns(self, relation: str) -> list[str]:
        schema, name = relation.split(".")
        return [row[0] for row in self._query(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
            "order by ordinal_position", [schema, name])]

    def rows(self, relation: str, columns: Sequence[str]) -> list[Row]:
        return self._query(f"select {', '.join(_quoted(column) for column in columns)} from {relation}")


class PostgresReader:
    """A PostgreSQL database; `connect` returns a new psycopg2 connection. jsonb (and jsonb[]) arrive as dicts."""

    def __init__(self, connect: Callable[[], Any], name: str = "postgres") -> None:
        self.connect = connect
        self.name = name

    def _query(self, sql: str, parameters: Sequence[Any] = ()) -> list[Row]:
        with contextlib.closing(self.connect()) as connection, connection.cursor() as cursor:
            cursor.execute("set time zone 'UTC'")
            cursor.execute(sql, list(parameters))
            return cursor.fetchall()

    def columns(self, relation: str) -> list[str]:
        schema, name = relation.split(".")
        return [row[0] for row in self._query(
            "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
            "order by ordinal_position", [schema, name])]

    def rows(self, relation: str, columns: Sequence[str]) -> list[Row]:
        schema, name = relation.split(".")
        json_arrays = {row[0] for row in self._query(
            "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
            "and udt_name = '_jsonb'", [schema, name])}
        selected = [f"to_jsonb({_quoted(column)})" if column in json_arrays else _quoted(column) for column in columns]
        return self._query(f"select {', '.join(selected)} from {relation}")

"""The project's generic data tests (macros/tests) return failing rows exactly when their rule breaks.

Each test's SQL is rendered from its macro file with Jinja (the `{% test %}` block's body, `model` bound to a
DuckDB table) and run on small tables with and without a violation.
"""

from __future__ import annotations

import re

import duckdb
import jinja2
import pytest

from tests.python.warehouse import PROJECT_ROOT

TESTS_DIR = PROJECT_ROOT / "macros" / "tests"


def render(test_name: str, **arguments: object) -> str:
    source = (TESTS_DIR / f"{test_name}.sql").read_text()
    body = re.search(r"{%\s*test\s+\w+\([^)]*\)\s*%}(.*){%\s*endtest\s*%}", source, re.S)
    assert body, f"no test block in {test_name}.sql"
    return jinja2.Environment().from_string(body.group(1)).render(model="t", **arguments)


def failing_rows(rows: list[tuple], table_columns: str, test_name: str, **arguments: object) -> list[tuple]:
    connection = duckdb.connect()
    connection.execute(f"create table t ({table_columns})")
    if rows:
        placeholders = ", ".join("?" * len(rows[0]))
        connection.executemany(f"insert into t values ({placeholders})", rows)
    return connection.execute(render(test_name, **arguments)).fetchall()


@pytest.mark.parametrize(("rows", "expected"), [
    ([("a",), ("b",)], []),
    ([("a",), ("a",), ("b",)], [("a", 2)]),
    ([("a",), (None,)], [(None, 1)]),
    ([(None,), (None,)], [(None, 2)]),
])
def test_primary_key_fails_on_a_repeated_or_null_value(rows: list[tuple], expected: list[tuple]) -> None:
    assert failing_rows(rows, "k varchar", "primary_key", column_name="k") == expected


def test_not_null_columns_names_each_column_with_nulls() -> None:
    columns = ["a", "b", "c"]
    assert failing_rows([(1, 2, 3), (4, 5, 6)], "a int, b int, c int", "not_null_columns", columns=columns) == []
    failing = failing_rows([(1, None, 3), (None, None, 6)], "a int, b int, c int", "not_null_columns",
                           columns=columns)
    assert sorted(failing) == [("a", 1), ("b", 2)]


def test_not_null_columns_passes_an_empty_table() -> None:
    assert failing_rows([], "a int", "not_null_columns", columns=["a"]) == []


def test_unique_combination_fails_on_a_repeated_combination() -> None:
    rows = [(1, "x"), (1, "y"), (2, "x")]
    assert failing_rows(rows, "a int, b varchar", "unique_combination", columns=["a", "b"]) == []
    assert failing_rows([*rows, (1, "x")], "a int, b varchar", "unique_combination",
                        columns=["a", "b"]) == [(1, "x", 2)]


def test_expression_is_true_fails_on_false_and_null() -> None:
    failing = failing_rows([(1,), (-1,), (None,)], "a int", "expression_is_true", expression="a > 0")
    assert sorted(failing, key=str) == [(-1,), (None,)]

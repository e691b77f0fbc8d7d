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


#: The last build whose data tests all passed, in the scope tests below (macros/tests/changed_rows.sql).
TESTED_BUILD = "2026-11-02 00:00:00"


def scope_macros(every_row: bool) -> dict[str, object]:
    """macros/tests/changed_rows.sql as the tests call it: every row, or the rows written after TESTED_BUILD."""
    return {
        "data_tests_check_every_row": lambda: every_row,
        "in_data_tests_scope": lambda column: "true" if every_row else f"{column} > timestamp '{TESTED_BUILD}'",
    }


def render(test_name: str, every_row: bool = True, **arguments: object) -> str:
    source = (TESTS_DIR / f"{test_name}.sql").read_text()
    body = re.search(r"{%\s*test\s+\w+\([^)]*\)\s*%}(.*){%\s*endtest\s*%}", source, re.S)
    assert body, f"no test block in {test_name}.sql"
    template = jinja2.Environment(extensions=["jinja2.ext.do"]).from_string(body.group(1))
    return template.render(model="t", **scope_macros(every_row), **arguments)


def failing_rows(rows: list[tuple], table_columns: str, test_name: str, every_row: bool = True,
                 **arguments: object) -> list[tuple]:
    connection = duckdb.connect()
    connection.execute(f"create table t ({table_columns})")
    if rows:
        placeholders = ", ".join("?" * len(rows[0]))
        connection.executemany(f"insert into t values ({placeholders})", rows)
    return connection.execute(render(test_name, every_row, **arguments)).fetchall()


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


OLD, NEW = "2026-11-01 00:00:00", "2026-11-03 00:00:00"


@pytest.mark.parametrize(("rows", "expected"), [
    # A new row repeating an old key fails, counted over the whole table.
    ([("a", OLD), ("b", OLD), ("a", NEW)], [("a", 2)]),
    # A new null key fails.
    ([("a", OLD), (None, NEW)], [(None, 1)]),
    # Old rows were checked by the build that wrote them: an old duplicate is not looked at again.
    ([("c", OLD), ("c", OLD), ("d", NEW)], []),
    ([("a", OLD), ("b", NEW)], []),
])
def test_primary_key_on_changed_rows_checks_their_keys_against_every_row(
        rows: list[tuple], expected: list[tuple]) -> None:
    assert failing_rows(rows, "k varchar, written_at timestamp", "primary_key", every_row=False,
                        column_name="k", changed_column="written_at") == expected


def test_primary_key_with_changed_column_checks_every_row_when_the_scope_is_all() -> None:
    rows = [("c", OLD), ("c", OLD), ("d", NEW)]
    assert failing_rows(rows, "k varchar, written_at timestamp", "primary_key", every_row=True,
                        column_name="k", changed_column="written_at") == [("c", 2)]


def test_unique_combination_on_changed_rows_checks_their_combinations_against_every_row() -> None:
    columns = "a int, b varchar, written_at timestamp"
    old = [(1, "x", OLD), (1, "y", OLD), (2, "x", OLD), (2, "x", OLD)]
    arguments = {"columns": ["a", "b"], "changed_column": "written_at"}
    assert failing_rows([*old, (3, "x", NEW)], columns, "unique_combination", every_row=False, **arguments) == []
    assert failing_rows([*old, (1, "y", NEW)], columns, "unique_combination", every_row=False,
                        **arguments) == [(1, "y", 2)]
    assert failing_rows(old, columns, "unique_combination", every_row=True, **arguments) == [(2, "x", 2)]

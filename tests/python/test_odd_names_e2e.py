"""Names a user gives reach SQL quoted (issue 28): the hand-derived scenario of test_facts_e2e built into warehouse
files and raw zones named with dashes, spaces, quotes, reserved words and non-ASCII letters gives the expected facts.

DuckDB names the catalog after the warehouse file (`my-warehouse.duckdb` is the catalog `my-warehouse`), so the file
name reaches every relation dbt renders and dbt-duckdb's catalog queries. One build per name:

* `full` and `order`: reserved words, one build of every batch;
* one name that holds a dash, a space, a single and a double quote and non-ASCII letters, in a raw zone named the same
  way: a dbt build of batch A, then the CLI's main job (`run`: the incremental build, `validate`, the serving copy,
  which both open the file by name) with batch B; the facts of the build file and of the serving copy are compared;
* PostgreSQL: a database (CA_PG_DATABASE) named with a dash, a space, a quote, non-ASCII letters and a reserved word.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from customer_agent_warehouse.postgres_server import PostgresServer
from tests.python import test_facts_e2e as scenario
from tests.python.postgres import PostgresWarehouse
from tests.python.warehouse import Warehouse

pytestmark = pytest.mark.slow

ODD_NAME = """my-warehouse it's "2026" entrepôt"""
ODD_RAW_ZONE = """raw zone (it's) "données"-1"""


def write_batch_a(warehouse: Warehouse) -> None:
    warehouse.write("conversation_logs", "dt=2026-11-20/part-0001.jsonl", scenario.logs_part_1())
    warehouse.write("conversation_logs", "dt=2026-11-20/part-0002.jsonl.gz", scenario.logs_part_2())
    warehouse.write("profiles", "profiles.jsonl", scenario.profiles())


def write_batch_b(warehouse: Warehouse) -> None:
    warehouse.write("conversation_logs", "dt=2026-11-21/part-0001.jsonl", scenario.logs_batch_b())


def assert_expected_facts(warehouse: Warehouse) -> None:
    for relation, columns, order_by, expected in scenario.EXPECTED_RELATIONS:
        assert warehouse.rows(relation, columns, order_by) == scenario.as_rows(columns, expected), relation
    feed = warehouse.rows("marts.fct_customer_agent_events", scenario.FEED_COLUMNS, scenario.FEED_ORDER)
    assert feed == scenario.expected_feed()


def catalog_of(warehouse: Warehouse) -> str:
    return warehouse.query("select current_database()")[0][0]


@pytest.mark.parametrize("name", ["full", "order"])
def test_a_reserved_word_as_the_warehouse_name(tmp_path, name: str) -> None:
    warehouse = Warehouse(root=tmp_path, db_name=f"{name}.duckdb", raw_name=ODD_RAW_ZONE)
    write_batch_a(warehouse)
    write_batch_b(warehouse)
    scenario.build_customer_agent_marts(warehouse)
    assert catalog_of(warehouse) == name
    assert_expected_facts(warehouse)


def test_dash_space_quotes_and_accents_in_the_warehouse_and_raw_zone_names(tmp_path) -> None:
    warehouse = Warehouse(root=tmp_path, db_name=f"{ODD_NAME}.duckdb", raw_name=ODD_RAW_ZONE)
    write_batch_a(warehouse)
    scenario.build_customer_agent_marts(warehouse)
    assert catalog_of(warehouse) == ODD_NAME

    # The main job on the same files: an incremental build (dbt-duckdb's rebuild path looks the catalog up again),
    # then validate and the serving copy, which open the file by its name.
    write_batch_b(warehouse)
    result = warehouse.cli("run", "--vars", '{as_of: "2026-11-22T00:00:00Z"}')
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "validate: ok" in result.stdout and "dbt build: ok" in result.stdout
    assert_expected_facts(warehouse)

    serving = Warehouse(root=warehouse.serving.parent, db_name=warehouse.serving.name)
    assert serving.db.name == warehouse.db.name and serving.db.is_file()
    assert catalog_of(serving) == ODD_NAME
    assert_expected_facts(serving)


@pytest.mark.postgres
def test_dash_space_quote_and_accents_in_the_postgres_database_name(tmp_path: Path,
                                                                    postgres_server: PostgresServer) -> None:
    database = f"ca-test it's entrepôt order {uuid.uuid4().hex[:8]}"
    postgres_server.create_database(database)
    try:
        warehouse = PostgresWarehouse(root=tmp_path, server=postgres_server, database=database,
                                      raw_zone=tmp_path / ODD_RAW_ZONE)
        write_batch_a(warehouse)
        scenario.build_customer_agent_marts(warehouse)
        write_batch_b(warehouse)
        scenario.build_customer_agent_marts(warehouse)
        assert warehouse.query("select current_database()") == [(database,)]
        assert_expected_facts(warehouse)
    finally:
        postgres_server.drop_database(database)

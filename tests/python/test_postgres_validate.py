"""`validate --target postgres`: every Great Expectations suite of expectations/ on a real PostgreSQL build,
through GX's PostgreSQL datasource, the suites' DuckDB SQL rules translated (customer_agent_warehouse/
ge_postgres.py). A clean build passes every expectation; a tampered copy fails exactly where it was tampered,
for GX's column expectations and for translated SQL rules (anti join, list lambdas, regexes, a variable).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import psycopg2
import pytest

from customer_agent_warehouse.ge_postgres import postgres_sql, session_options
from customer_agent_warehouse.postgres_server import PostgresServer
from customer_agent_warehouse.validate import load_suites, read_vocabulary
from tests.python.conftest import new_database
from tests.python.postgres import PostgresWarehouse
from tests.python.test_cli import one_line_error
from tests.python.warehouse import PROJECT_ROOT

pytestmark = pytest.mark.postgres

VALIDATION_TIME = "2026-12-31T00:00:00Z"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer) -> Iterator[PostgresWarehouse]:
    """A generated raw zone (300 conversations) loaded and built on PostgreSQL."""
    root = tmp_path_factory.mktemp("pg_validate")
    warehouse = PostgresWarehouse(root=root, server=postgres_server, database=new_database(postgres_server),
                                  vars={"as_of": "2026-11-20T12:00:00Z"})
    subprocess.run([sys.executable, "-m", "customer_agent_warehouse", "generate", "--conversations", "300",
                    "--seed", "5", "--start-date", "2026-11-01", "--days", "20", "--workers", "1", "--quiet",
                    "--out", str(warehouse.raw)], cwd=PROJECT_ROOT, check=True)
    warehouse.build()
    yield warehouse
    postgres_server.drop_database(warehouse.database)


def validate(warehouse: PostgresWarehouse, report: Path, *args: str) -> subprocess.CompletedProcess:
    return warehouse.cli("validate", "--target", "postgres", "--report-dir", str(report),
                         "--validation-time", VALIDATION_TIME, *args)


def test_every_suite_passes_on_a_clean_postgres_build(built: PostgresWarehouse, tmp_path: Path) -> None:
    result = validate(built, tmp_path / "report")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    specs = load_suites(PROJECT_ROOT / "expectations")
    expectations = sum(len(spec.document["expectations"]) for spec in specs)
    assert f"{len(specs)} suites, {expectations} expectations, passed" in result.stdout
    assert f"warehouse PostgreSQL postgres@127.0.0.1:{built.server.port}/{built.database}" in result.stdout
    document = json.loads((tmp_path / "report" / "results.json").read_text())
    assert document["success"] and document["statistics"]["failed_expectations"] == 0
    assert document["warehouse"] == f"PostgreSQL postgres@127.0.0.1:{built.server.port}/{built.database}"
    for path in (tmp_path / "report").rglob("*"):  # the password never lands in the report
        assert not path.is_file() or built.server.password not in path.read_text()


def test_every_sql_rule_of_the_suites_runs_on_postgres(built: PostgresWarehouse) -> None:
    rules = [(spec.table, expectation["kwargs"]["unexpected_rows_query"])
             for spec in load_suites(PROJECT_ROOT / "expectations") for expectation in spec.document["expectations"]
             if "unexpected_rows_query" in expectation["kwargs"]]
    assert len(rules) >= 80
    # The suite variables (a number, the seeds' lists), set as validate sets them for its sessions.
    variables = {"ca_followup_delay_hours": 2, **{f"ca_{key}": values for key, values in read_vocabulary().items()}}
    server = built.server
    with closing(psycopg2.connect(host=server.host, port=server.port, user=server.user, password=server.password,
                                  dbname=built.database, options=session_options(variables))) as connection:
        for table, query in rules:
            sql = postgres_sql(query, variables).format(batch=table)
            with connection.cursor() as cursor:
                cursor.execute(f"select count(*) from ({sql}) as unexpected_rows")
                assert cursor.fetchall() == [(0,)], sql


def test_postgres_sql_translates_duckdb_constructs() -> None:
    assert postgres_sql("SELECT a FROM {batch} WHERE NOT regexp_full_match(a, '[0-9]{{5,14}}')") == (
        "SELECT a FROM {batch} WHERE NOT a ~ ('^(?:' || '[0-9]{{5,14}}' || ')$')")
    assert postgres_sql("SELECT t FROM {batch} WHERE len(list_filter(t, lambda x: x IS NULL)) > 0") == (
        "SELECT t FROM {batch} WHERE CARDINALITY(ARRAY(SELECT x FROM UNNEST(t) AS _t0(x) WHERE x IS NULL)) > 0")
    assert "GROUP BY 1" in postgres_sql("SELECT c, count(*) AS n FROM {batch} GROUP BY ALL")
    assert postgres_sql("SELECT s.a FROM {batch} AS s ANTI JOIN t AS f ON f.a = s.a").startswith(
        "SELECT s.a FROM (SELECT * FROM {batch}) AS s WHERE NOT EXISTS(")
    assert "CAST(CURRENT_SETTING('ca.delay') AS DOUBLE PRECISION)" in postgres_sql(
        "SELECT getvariable('delay') FROM {batch}", {"delay": 2})
    assert "CAST(CURRENT_SETTING('ca.names') AS TEXT[]) @> c" in postgres_sql(
        "SELECT c FROM {batch} WHERE NOT list_has_all(getvariable('names'), c)", {"names": ["a", "b"]})


def _tampered(built: PostgresWarehouse, postgres_server: PostgresServer, tmp_path: Path) -> PostgresWarehouse:
    """A copy of the built database (template copy), for tampering."""
    database = new_database(postgres_server)
    postgres_server.drop_database(database)
    with closing(postgres_server.connect("postgres")) as connection, connection.cursor() as cursor:
        cursor.execute(f'create database "{database}" template "{built.database}"')
    return PostgresWarehouse(root=tmp_path, server=postgres_server, database=database)


def test_a_tampered_copy_fails_where_it_was_tampered(built: PostgresWarehouse, postgres_server: PostgresServer,
                                                     tmp_path: Path) -> None:
    copy = _tampered(built, postgres_server, tmp_path)
    try:
        copy.query("update marts.fct_conversation_started set channel = 'fax' "
                   "where event_id = (select min(event_id) from marts.fct_conversation_started)")
        copy.query("update marts.fct_conversation_escalated set tags = array['Not Normalised'] "
                   "where event_id = (select min(event_id) from marts.fct_conversation_escalated)")
        copy.query("update segments.seg_escalated_recent set last_escalation_reason = 'invented' "
                   "where profile_id = (select min(profile_id) from segments.seg_escalated_recent)")
        copy.query("update segments.seg_recommendation_followup set followup_due_at = recommended_at "
                   "+ interval '3 hours' where profile_id = (select min(profile_id) "
                   "from segments.seg_recommendation_followup)")
        result = validate(copy, tmp_path / "report")
        assert result.returncode == 1, result.stdout[-4000:] + result.stderr[-2000:]
        failures = json.loads((tmp_path / "report" / "results.json").read_text())["failures"]
        broken = {(failure["table"], tuple(failure["columns"])) for failure in failures}
        assert broken == {
            ("marts.fct_conversation_started", ("channel",)),  # not a canonical channel
            ("marts.fct_conversation_started", ("conversation_id", "profile_id", "channel")),  # != dim_conversations
            ("marts.fct_conversation_escalated", ("tags",)),
            ("segments.seg_escalated_recent", ("profile_id", "last_escalated_at", "last_escalation_reason")),
            ("segments.seg_recommendation_followup", ("followup_due_at", "recommended_at")),
        }, failures
        assert all(failure["error"] is None for failure in failures), failures
        tags = next(failure for failure in failures if failure["columns"] == ["tags"])
        assert tags["sample"][0]["tags"] == ["Not Normalised"]
        assert "PASS  dim_conversations" in result.stdout
    finally:
        postgres_server.drop_database(copy.database)


def test_an_unbuilt_database_is_one_line_and_exit_2(pg_warehouse: PostgresWarehouse, tmp_path: Path) -> None:
    line = one_line_error(validate(pg_warehouse, tmp_path / "report"))
    assert "not found in PostgreSQL" in line and "build --target postgres" in line


def test_an_unreachable_server_is_one_line_and_exit_2(pg_warehouse: PostgresWarehouse, tmp_path: Path) -> None:
    result = pg_warehouse.cli("validate", "--target", "postgres", "--report-dir", str(tmp_path / "r"),
                              env={**pg_warehouse.cli_env(), "CA_PG_PASSWORD": "wrong"})
    assert "CA_PG_USER and CA_PG_PASSWORD" in one_line_error(result)

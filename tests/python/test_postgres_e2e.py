"""The warehouse on a real PostgreSQL server: the same results as DuckDB, the engine's contract types,
the dbt unit tests, and the BI and activation roles.

One generated raw zone of 20,000 conversations arrives in three parts, by day folder (the days up to
11-14, then 11-15 to 11-18, then the rest: late and re-delivered lines land in later days, so the later
parts hold late records of earlier conversations). Each part is built with the real `dbt build` on
DuckDB, and loaded (the project's raw loader, COPY) and built with the real `dbt build --target
postgres` in a fresh PostgreSQL database: a full build, then two incremental passes. After each build
every mart and segment is compared row by row (event ids, lists, timestamps and decimals included), and
after the last one every staging, intermediate and audit relation too. The database uses a linguistic
(ICU) collation on purpose.
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from psycopg2 import errors

from customer_agent_warehouse.postgres_server import PostgresServer
from tests.python.compare import DuckDBReader, assert_same_relations, differences
from tests.python.conftest import new_database
from tests.python.postgres import PostgresWarehouse
from tests.python.warehouse import PROJECT_ROOT, Warehouse

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

# A fixed as_of, and files read whole however recently they were written: both builds see the same data.
VARS = {"as_of": "2026-11-20T12:00:00Z", "raw_file_settle_seconds": 0}
# When a build or a load ran, not what it computed.
BUILD_TIME_COLUMNS = ["loaded_at", "processed_at", "raw_loaded_at", "first_seen_at", "ingested_at", "checked_at",
                      "first_seen_ns", "ingested_ns", "checked_ns"]


CONVERSATIONS = 20_000
# The day folders of each part (the generator writes conversation_logs/, orders/, profiles/ by dt=YYYY-MM-DD).
PARTS = (("2026-11-01", "2026-11-14"), ("2026-11-15", "2026-11-18"), ("2026-11-19", "2026-12-31"))


@dataclass
class BothEngines:
    duckdb: Warehouse
    postgres: PostgresWarehouse
    incoming: Path

    def relations(self, schemas: tuple[str, ...] = ("staging", "intermediate", "marts", "segments", "audit")
                  ) -> list[str]:
        """The relations of these schemas in the DuckDB build."""
        listed = ", ".join(f"'{schema}'" for schema in schemas)
        return [f"{schema}.{name}" for schema, name in self.duckdb.query(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in ({listed}) order by all")]

    def release(self, part: int) -> int:
        """Move the day folders of one part into the raw zone; the number of files moved."""
        first, last = PARTS[part]
        moved = 0
        for folder in sorted(self.incoming.glob("*/dt=*")):
            if first <= folder.name.removeprefix("dt=") <= last:
                target = self.duckdb.raw / folder.parent.name / folder.name
                target.parent.mkdir(parents=True, exist_ok=True)
                folder.rename(target)
                moved += sum(1 for _ in target.iterdir())
        return moved

    def build(self) -> None:
        self.duckdb.build()
        self.postgres.build()

    def assert_equal(self, relations: list[str]) -> None:
        assert_same_relations(DuckDBReader(str(self.duckdb.db)), self.postgres.reader(), relations,
                              exclude_columns=BUILD_TIME_COLUMNS)


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer) -> Iterator[BothEngines]:
    root = tmp_path_factory.mktemp("both_engines")
    subprocess.run([sys.executable, "-m", "customer_agent_warehouse", "generate", "--conversations",
                    str(CONVERSATIONS), "--seed", "11", "--start-date", "2026-11-01", "--days", "20",
                    "--workers", "1", "--quiet", "--out", str(root / "incoming")], cwd=PROJECT_ROOT, check=True)
    duckdb_warehouse = Warehouse(root=root / "duckdb", vars=VARS)
    database = new_database(postgres_server)
    engines = BothEngines(duckdb_warehouse, PostgresWarehouse(root=root / "postgres", vars=VARS, server=postgres_server,
                                                              database=database, raw_zone=duckdb_warehouse.raw),
                          root / "incoming")
    assert engines.release(0) > 0
    engines.build()
    yield engines
    postgres_server.drop_database(database)


def test_after_a_full_build_every_mart_and_segment_equals_duckdb(both: BothEngines) -> None:
    relations = both.relations(("marts", "segments"))
    assert {"marts.fct_conversation_started", "marts.fct_conversation_resolved", "marts.fct_conversation_escalated",
            "marts.fct_product_recommendation_received", "marts.fct_customer_agent_events",
            "marts.agg_customer_agent_daily", "marts.agg_skill_performance", "marts.fct_attributed_orders",
            "segments.seg_recommendation_followup"} <= set(relations)
    assert both.postgres.query("select count(*) from marts.dim_conversations")[0][0] > 10_000
    for relation in ("segments.seg_recommended_not_purchased", "audit.rejected_records"):
        assert both.postgres.query(f"select count(*) from {relation}")[0][0] > 0, f"{relation} must not be empty"
    both.assert_equal(relations)


def test_after_two_incremental_passes_every_relation_equals_duckdb(both: BothEngines) -> None:
    for part in (1, 2):
        before = both.postgres.query("select count(*) from marts.fct_conversation_started")[0][0]
        files = {row[0] for row in both.postgres.query("select file_name from raw.conversation_log_files")}
        assert both.release(part) > 0
        both.build()
        assert both.postgres.query("select count(*) from marts.fct_conversation_started")[0][0] > before
        # The new files hold late records of conversations an earlier build had already seen.
        late = both.postgres.query(
            "select count(distinct new.conversation_id) from staging.stg_customer_agent__conversation_logs as new "
            "where new.file_name <> all(%s) and exists (select from staging.stg_customer_agent__conversation_logs "
            "as old where old.conversation_id = new.conversation_id and old.file_name = any(%s))",
            [list(files), list(files)])[0][0]
        assert late > 0
        both.assert_equal(both.relations(("marts", "segments")))
    relations = both.relations()
    # Every model and seed of the project is among them (from the build's manifest, not a count written here).
    manifest = json.loads((both.duckdb.root / "target" / "manifest.json").read_text())
    assert {f"{node['schema']}.{node['alias']}" for node in manifest["nodes"].values()
            if node["resource_type"] in ("model", "seed")} <= set(relations)
    # The logs of changes and the manifest of watermarks record when each build ran (history, by design).
    history = ("intermediate.int_conversations_changed", "intermediate.int_orders_changed",
               "audit.incremental_watermarks")
    both.assert_equal([relation for relation in relations
                       if not relation.startswith(("marts.", "segments.")) and relation not in history])


def test_the_comparison_reports_a_changed_row(both: BothEngines) -> None:
    both.postgres.query(
        "create schema if not exists tampered; "
        "drop table if exists tampered.fct_conversation_escalated; "
        "create table tampered.fct_conversation_escalated as select * from marts.fct_conversation_escalated; "
        "update tampered.fct_conversation_escalated set tags = array['tampered'] "
        "where event_id = (select min(event_id) from tampered.fct_conversation_escalated)")
    difference = differences(DuckDBReader(str(both.duckdb.db)), both.postgres.reader(),
                             "marts.fct_conversation_escalated", right_relation="tampered.fct_conversation_escalated")
    assert difference is not None
    assert "1 only in duckdb, 1 only in postgres" in difference
    assert "('tampered',)" in difference


def test_contracts_have_the_postgres_types(both: BothEngines) -> None:
    types = {(table, column): (data_type, udt) for table, column, data_type, udt in both.postgres.query(
        "select table_name, column_name, data_type, udt_name from information_schema.columns "
        "where table_schema in ('marts', 'segments')")}
    assert types["fct_conversation_resolved", "event_id"] == ("text", "text")
    assert types["fct_conversation_resolved", "resolved_at"] == ("timestamp without time zone", "timestamp")
    assert types["fct_conversation_resolved", "tags"] == ("ARRAY", "_text")
    assert types["fct_conversation_resolved", "resolution_seconds"] == ("double precision", "float8")
    assert types["fct_product_recommendation_received", "products"] == ("ARRAY", "_text")
    assert types["fct_product_recommendation_received", "product_count"] == ("integer", "int4")
    assert types["seg_started_conversation", "channels"] == ("ARRAY", "_text")
    assert types["fct_attributed_orders", "value"] == ("numeric", "numeric")


def test_descriptions_are_comments_on_postgres_as_on_duckdb(both: BothEngines) -> None:
    """+persist_docs: the models' descriptions are the table and column comments a BI tool reads on both engines."""
    schemas = "('staging', 'intermediate', 'marts', 'segments', 'audit')"
    postgres_tables = dict(both.postgres.query(
        "select n.nspname || '.' || c.relname, obj_description(c.oid, 'pg_class') from pg_class c "
        f"join pg_namespace n on n.oid = c.relnamespace where n.nspname in {schemas} and c.relkind in ('r', 'v')"))
    postgres_columns = {(relation, column): comment for relation, column, comment in both.postgres.query(
        "select table_schema || '.' || table_name, column_name, "
        "col_description((quote_ident(table_schema) || '.' || quote_ident(table_name))::regclass, ordinal_position) "
        f"from information_schema.columns where table_schema in {schemas}")}
    duckdb_tables = dict(both.duckdb.query(
        f"select schema_name || '.' || table_name, comment from duckdb_tables() where schema_name in {schemas} "
        "union all select schema_name || '.' || view_name, comment from duckdb_views() "
        f"where schema_name in {schemas}"))
    duckdb_columns = {(relation, column): comment for relation, column, comment in both.duckdb.query(
        "select schema_name || '.' || table_name, column_name, comment from duckdb_columns() "
        f"where schema_name in {schemas}")}
    assert postgres_tables["marts.fct_conversation_started"].startswith("Started Conversation with Customer Agent")
    for relation in both.relations():
        assert postgres_tables[relation] == duckdb_tables[relation], relation
    shared = set(postgres_columns) & set(duckdb_columns)
    assert len(shared) > len(both.relations())  # every relation's columns, not a few
    assert {key: postgres_columns[key] for key in shared} == {key: duckdb_columns[key] for key in shared}
    assert all(postgres_columns[key] for key in shared if key[0].split(".")[0] in ("marts", "segments"))


def test_the_dbt_unit_tests_pass_on_postgres(both: BothEngines) -> None:
    both.postgres.dbt("test", "--select", "test_type:unit")
    results = json.loads((both.postgres.root / "target" / "run_results.json").read_text())["results"]
    unit_tests = [result for result in results if result["unique_id"].startswith("unit_test.")]
    manifest = json.loads((both.postgres.root / "target" / "manifest.json").read_text())
    assert manifest["unit_tests"] and {result["unique_id"] for result in unit_tests} == set(manifest["unit_tests"])
    assert [result["unique_id"] for result in unit_tests if result["status"] != "pass"] == []


# ---------------------------------------------------------------- roles and personal data

@pytest.fixture
def login(both: BothEngines) -> Iterator:
    """Connect as a new login user that is a member of a group role (ca_bi, ca_activation)."""
    users: list[str] = []

    def connect(group: str):
        user, password = f"ca_test_{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
        both.postgres.query(f"create role {user} login password '{password}' in role {group}")
        users.append(user)
        return both.postgres.connect(user=user, password=password)

    yield connect
    for user in users:
        both.postgres.query(f"drop role if exists {user}")


def _can_select(connection, sql: str) -> bool:
    with connection.cursor() as cursor:
        try:
            cursor.execute(sql)
            cursor.fetchall()
        except errors.InsufficientPrivilege:
            return False
    return True


def test_the_bi_role_reads_the_marts_but_no_personal_data(login) -> None:
    with closing(login("ca_bi")) as bi:
        assert _can_select(bi, "select reporting_date, channel, resolution_rate from marts.agg_customer_agent_daily")
        assert _can_select(bi, "select * from marts.agg_skill_performance")
        assert _can_select(bi, "select * from marts.fct_attributed_orders")
        assert _can_select(bi, "select * from marts.dim_conversations")
        assert _can_select(bi, "select event_id, started_at, profile_id, channel from marts.fct_conversation_started")
        assert _can_select(bi, "select event_id, metric_name, tags, products from marts.fct_customer_agent_events")
        # Message text, email and phone: refused, whatever the relation.
        assert not _can_select(bi, "select first_message from marts.fct_conversation_started")
        assert not _can_select(bi, "select * from marts.fct_conversation_started")
        assert not _can_select(bi, "select first_message from marts.fct_customer_agent_events")
        assert not _can_select(bi, "select email, phone_number from segments.seg_started_conversation")
        assert not _can_select(bi, "select message_text, email from staging.stg_customer_agent__conversation_logs")
        assert not _can_select(bi, "select first_message from intermediate.int_conversations_aggregated")
        assert not _can_select(bi, "select * from staging.base_customer_agent__log_lines")
        assert not _can_select(bi, "select raw_line from audit.rejected_records")
        assert not _can_select(bi, "select raw_line from raw.conversation_log_lines")


def test_the_activation_role_reads_the_segments_with_their_contacts(login) -> None:
    with closing(login("ca_activation")) as activation:
        for segment in ("seg_started_conversation", "seg_recommended_not_purchased", "seg_escalated_recent",
                        "seg_recommendation_followup"):
            contacts = f"select profile_id, email, phone_number, email_consent from segments.{segment}"
            assert _can_select(activation, contacts)
        assert not _can_select(activation, "select * from marts.fct_conversation_started")
        assert not _can_select(activation, "select * from staging.stg_marketing__profiles")
        assert not _can_select(activation, "select raw_line from audit.rejected_records")
        assert not _can_select(activation, "select raw_line from raw.profile_lines")


def test_a_login_without_a_role_reads_nothing(both: BothEngines) -> None:
    user, password = f"ca_test_{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    both.postgres.query(f"create role {user} login password '{password}'")
    try:
        with closing(both.postgres.connect(user=user, password=password)) as nobody:
            assert not _can_select(nobody, "select * from marts.agg_customer_agent_daily")
            assert not _can_select(nobody, "select profile_id from segments.seg_started_conversation")
    finally:
        both.postgres.query(f"drop role if exists {user}")



# What personal data looks like in a value: an email, an E.164 phone number (or a national one written with
# separators), or the text of a message of the raw zone.
EMAIL = re.compile(r"[^@\s{},\"]+@[^@\s{},\"]+\.[a-z]{2,}", re.IGNORECASE)
PHONE = re.compile(r"(?<![\w+])\+[1-9]\d{7,14}(?!\d)|\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b")
# A column named like contact data or free text (its last word).
PERSONAL_DATA_NAME = re.compile(r"(^|_)(e_?mails?|phones?|phone_numbers?|mobiles?|messages?|texts?|raw_lines?|urls?)$")
# Every relation and column the connected user may select, in every schema it may use (not a list written here).
SELECTABLE_COLUMNS = """
    select n.nspname, c.relname, a.attname from pg_catalog.pg_class as c
    join pg_catalog.pg_namespace as n on n.oid = c.relnamespace
    join pg_catalog.pg_attribute as a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    where c.relkind in ('r', 'v', 'm', 'p', 'f') and n.nspname not in ('pg_catalog', 'information_schema')
        and n.nspname !~ '^pg_toast' and has_schema_privilege(n.oid, 'USAGE')
        and has_column_privilege(c.oid, a.attnum, 'SELECT')
    order by 1, 2, a.attnum
"""


def _raw_message_texts(raw_zone: Path) -> set[str]:
    """The text of every `message` record of the raw zone's conversation logs."""
    texts: set[str] = set()
    for path in raw_zone.glob("conversation_logs/**/*.jsonl*"):
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as lines:
            for line in lines:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and isinstance(record.get("text"), str) and record["text"].strip():
                    texts.add(record["text"].strip())
    return texts


def _flatten(value: object) -> Iterator[str]:
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _flatten(item)
    elif value is not None:
        yield str(value)


def _personal_data_kinds(values: Iterable[object], texts: set[str]) -> set[str]:
    """Which kinds of personal data (email, phone, message text) these column values hold."""
    kinds: set[str] = set()
    for text in (item for value in values for item in _flatten(value)):
        if EMAIL.search(text):
            kinds.add("email")
        if PHONE.search(text):
            kinds.add("phone")
        if text.strip() in texts:
            kinds.add("message text")
    return kinds


def _scan_columns(connection, texts: set[str], schemas: tuple[str, ...] | None = None) -> dict[str, set[str]]:
    """Select every column the connected user may select (of these schemas, or all) and judge its values:
    `schema.relation.column` -> the kinds of personal data found in it (empty when none)."""
    with connection.cursor() as cursor:
        cursor.execute(SELECTABLE_COLUMNS)
        columns = [row for row in cursor.fetchall() if schemas is None or row[0] in schemas]
        found: dict[str, set[str]] = {}
        for schema, relation, column in columns:
            cursor.execute(f'select distinct "{column}" from "{schema}"."{relation}"')
            found[f"{schema}.{relation}.{column}"] = _personal_data_kinds((row[0] for row in cursor), texts)
    return found


def test_no_column_the_bi_role_may_select_holds_personal_data(both: BothEngines, login) -> None:
    """Judged by the values: every column of every relation the BI role may select, none with an email, a phone
    number or a message text; the same scan finds all three in the marts as their owner."""
    texts = _raw_message_texts(both.duckdb.raw)
    assert len(texts) > 20
    with closing(both.postgres.connect()) as owner:
        in_marts = _scan_columns(owner, texts, ("marts",))
    assert set().union(*in_marts.values()) == {"email", "phone", "message text"}
    with closing(login("ca_activation")) as activation:
        in_segments = _scan_columns(activation, texts)
    assert set().union(*in_segments.values()) == {"email", "phone"}
    with closing(login("ca_bi")) as bi:
        readable = _scan_columns(bi, texts)
    leaks = {column: sorted(kinds) for column, kinds in readable.items() if kinds}
    assert leaks == {}, f"the BI role reads personal data: {leaks}"
    # It read the marts: every relation of the schema, every column but those flagged personal_data, nothing else.
    relations = {column.rsplit(".", 1)[0] for column in readable}
    assert relations == set(both.relations(("marts",)))
    manifest = json.loads((both.postgres.root / "target" / "manifest.json").read_text())
    flagged = {f"marts.{node['alias']}.{column['name']}" for node in manifest["nodes"].values()
               if node["resource_type"] == "model" and node["schema"] == "marts"
               for column in node["columns"].values() if column["meta"].get("personal_data")}
    assert len(flagged) >= 4 and set(in_marts) - set(readable) == flagged
    assert len(readable) > 100


def test_the_end_of_every_run_fences_relations_it_did_not_build(both: BothEngines, login) -> None:
    """A table grant an older version left on dim_profiles, and a hand-made table of marts granted whole with
    unflagged contact columns: after the next run, whatever it selects, the BI role reads their other columns only."""
    both.postgres.query(
        "drop table if exists marts.hand_made_contacts; create table marts.hand_made_contacts as "
        "select profile_id, email as contact_email, phone_number as mobile, conversations as messages "
        "from marts.dim_profiles; "
        "grant select on marts.hand_made_contacts, marts.dim_profiles to ca_bi")
    try:
        with closing(login("ca_bi")) as bi:
            assert _can_select(bi, "select contact_email, mobile from marts.hand_made_contacts")
            assert _can_select(bi, "select email from marts.dim_profiles")
            both.postgres.dbt("run", "--select", "metricflow_time_spine")
            for column in ("contact_email", "mobile"):
                assert not _can_select(bi, f"select {column} from marts.hand_made_contacts")
            assert not _can_select(bi, "select email from marts.dim_profiles")
            # A count named like free text is no text: readable.
            assert _can_select(bi, "select profile_id, messages from marts.hand_made_contacts")
            assert _can_select(bi, "select profile_id, email_consent, conversations from marts.dim_profiles")
    finally:
        both.postgres.query("drop table if exists marts.hand_made_contacts")


def test_every_mart_column_named_like_personal_data_says_whether_it_is(both: BothEngines) -> None:
    """The YAML of a mart flags each column named like contact data or free text (true, or false when it holds
    none), so the fence is written down, not only inferred from the name."""
    manifest = json.loads((both.postgres.root / "target" / "manifest.json").read_text())
    named = {(node["name"], column["name"]): column["meta"] for node in manifest["nodes"].values()
             if node["resource_type"] == "model" and node["schema"] == "marts"
             for column in node["columns"].values() if PERSONAL_DATA_NAME.search(column["name"].lower())}
    assert ("dim_profiles", "email") in named and ("fct_conversation_started", "first_message") in named
    assert [key for key, meta in named.items() if "personal_data" not in meta] == []
    assert named["dim_profiles", "phone_number"]["personal_data"] is True

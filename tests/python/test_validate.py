"""Issue #6: the Great Expectations suites and `python -m customer_agent_warehouse validate`.

The warehouse here is made by SQL (no dbt): every table a suite validates, with the contract's columns and
types and values that follow the spec, so a clean build passes and each tampering is the only defect.
`build_sample_warehouse` is also what the validation benchmark uses (1M conversations, 10M staged rows).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from customer_agent_warehouse.cli import main
from customer_agent_warehouse.validate import (
    DEFAULT_EXPECTATIONS_DIR,
    ValidationSetupError,
    resolve_followup_delay_hours,
    validate_warehouse,
)
from customer_agent_warehouse.vocabulary import SEEDS_DIR
from tests.python import clock

SUITES = {
    "stg_customer_agent__conversation_logs", "fct_conversation_started", "fct_conversation_resolved",
    "fct_conversation_escalated", "fct_product_recommendation_received", "dim_conversations",
    "seg_started_conversation", "seg_recommended_not_purchased", "seg_escalated_recent",
    "seg_recommendation_followup",
}
SEGMENTS = ("seg_started_conversation", "seg_recommended_not_purchased", "seg_escalated_recent",
            "seg_recommendation_followup")

SAMPLE_SQL = """
SET TimeZone = 'UTC';
CREATE SCHEMA IF NOT EXISTS staging; CREATE SCHEMA IF NOT EXISTS marts; CREATE SCHEMA IF NOT EXISTS segments;

CREATE TEMP TABLE conv AS
SELECT i,
       'conv-' || i AS conversation_id,
       CASE WHEN i % 10 = 9 THEN NULL ELSE 'prof-' || (i % {profiles}) END AS profile_id,
       CASE WHEN i % 11 = 10 THEN NULL ELSE ['web_chat', 'sms', 'email', 'whatsapp', 'other'][i % 5 + 1] END AS channel,
       TIMESTAMP '{base}' + to_seconds((i * 7919) % (40 * 86400)) AS t0,
       i % 20 <> 19 AS has_start,
       ['resolved_by_agent', 'escalated', 'resolved_by_human', 'unresolved'][i % 4 + 1] AS outcome
FROM range({conversations}) AS r(i);

CREATE TEMP TABLE profiles AS
SELECT profile_id,
       'user.' || replace(profile_id, 'prof-', '') || '@example.com' AS email,
       CASE WHEN hash(profile_id) % 5 = 0 THEN NULL
            ELSE '+1555' || lpad(replace(profile_id, 'prof-', ''), 7, '0') END AS phone_number,
       ['subscribed', 'unsubscribed', 'never_subscribed', NULL][CAST(hash(profile_id) % 4 AS BIGINT) + 1]
           AS email_consent,
       ['subscribed', 'never_subscribed', NULL][CAST(hash(profile_id) % 3 AS BIGINT) + 1] AS sms_consent
FROM (SELECT DISTINCT profile_id FROM conv WHERE profile_id IS NOT NULL);

CREATE TABLE staging.stg_customer_agent__conversation_logs AS
SELECT 'log-' || c.i || '-' || k AS log_id,
       c.conversation_id,
       c.t0 + to_seconds(k * 60) AS occurred_at,
       c.t0 + to_seconds(k * 60 + 30) AS received_at,
       c.channel,
       ['message', 'skill', 'status', 'recommendation', 'tag', 'identify', 'message', 'message', 'status',
        'message'][k + 1] AS record_type,
       ['agent', 'agent', 'system', 'agent', 'system', 'shopper', 'shopper', 'agent', 'human', 'shopper'][k + 1]
           AS actor,
       CASE WHEN k IN (0, 6, 7, 9) THEN 'message number ' || k END AS message_text,
       CASE WHEN k = 1 THEN 'order_tracking' END AS skill,
       CASE WHEN k = 2 THEN 'open' WHEN k = 8 THEN 'resolved' END AS status,
       CAST(NULL AS VARCHAR) AS escalation_reason,
       CASE WHEN k = 4 THEN ['returning', 'vip'] END AS tags,
       CASE WHEN k = 3 THEN [{{'product_id': 'prod-a', 'sku': 'sku-a'}}, {{'product_id': NULL, 'sku': 'sku-b'}}]
           END::STRUCT(product_id VARCHAR, sku VARCHAR)[] AS products,
       CASE WHEN k = 3 THEN 'card' END AS recommendation_format,
       CASE WHEN k = 5 THEN c.profile_id END AS profile_id,
       CASE WHEN k = 5 THEN p.email END AS email,
       CASE WHEN k = 5 THEN p.phone_number END AS phone_number,
       'conversation_logs/part-' || (c.i // 100000) || '.jsonl' AS file_name,
       CAST((c.i % 100000) * 10 + k + 1 AS BIGINT) AS line_number
FROM conv AS c CROSS JOIN range(10) AS r(k) LEFT JOIN profiles AS p USING (profile_id);

CREATE TABLE marts.fct_conversation_started AS
SELECT 'started-' || conversation_id AS event_id, conversation_id, profile_id, channel,
       t0 + INTERVAL 5 SECOND AS started_at, 'faq' AS initial_skill, 'Where is my order?' AS first_message
FROM conv WHERE has_start;

CREATE TABLE marts.fct_conversation_resolved AS
SELECT 'resolved-' || conversation_id AS event_id, conversation_id, profile_id, channel,
       t0 + INTERVAL 300 SECOND AS resolved_at, 'order_tracking' AS final_skill, ['returning', 'vip'] AS tags,
       CASE WHEN has_start THEN 295.0 END::DOUBLE AS resolution_seconds
FROM conv WHERE outcome = 'resolved_by_agent';

CREATE TABLE marts.fct_conversation_escalated AS
SELECT 'escalated-' || conversation_id AS event_id, conversation_id, profile_id, channel,
       t0 + INTERVAL 200 SECOND AS escalated_at,
       ['knowledge_gap', 'shopper_requested', 'sensitive_topic', 'unspecified'][i % 3 + 1] AS escalation_reason,
       CASE WHEN i % 3 = 0 THEN 'returns' END AS skill, CAST([] AS VARCHAR[]) AS tags
FROM conv WHERE outcome = 'escalated';

CREATE TABLE marts.fct_product_recommendation_received AS
SELECT 'recommendation-' || conversation_id AS event_id, conversation_id, profile_id, channel,
       t0 + INTERVAL 100 SECOND AS recommended_at,
       ['prod-a', 'prod-b', 'sku-c'][1:i % 3 + 1] AS products, CAST(i % 3 + 1 AS INTEGER) AS product_count,
       CASE WHEN i % 2 = 0 THEN 'card' ELSE 'list' END AS format
FROM conv WHERE i % 2 = 0 OR outcome = 'escalated';

CREATE TABLE marts.dim_conversations AS
SELECT conversation_id, profile_id, channel,
       CASE WHEN has_start THEN t0 + INTERVAL 5 SECOND END AS started_at,
       t0 AS first_activity_at, t0 + INTERVAL 540 SECOND AS last_activity_at,
       CAST(4 AS INTEGER) AS message_count, CAST(3 AS INTEGER) AS shopper_message_count,
       CAST(1 AS INTEGER) AS agent_message_count,
       CAST(CASE WHEN i % 2 = 0 OR outcome = 'escalated' THEN 1 ELSE 0 END AS INTEGER) AS recommendation_count,
       CAST(CASE WHEN outcome = 'escalated' THEN 1 ELSE 0 END AS INTEGER) AS escalation_count,
       CAST(CASE WHEN outcome = 'resolved_by_agent' THEN 1 ELSE 0 END AS INTEGER) AS agent_resolution_count,
       ['order_tracking'] AS skills, ['returning', 'vip'] AS tags, outcome
FROM conv;

CREATE TABLE segments.seg_started_conversation AS
SELECT s.profile_id, p.email, p.phone_number, p.email_consent, p.sms_consent,
       s.first_started_at, s.last_started_at, s.conversations_started, s.channels
FROM (SELECT profile_id, min(started_at) AS first_started_at, max(started_at) AS last_started_at,
             CAST(count(*) AS INTEGER) AS conversations_started, list_sort(list_distinct(list(channel))) AS channels
      FROM marts.fct_conversation_started WHERE profile_id IS NOT NULL GROUP BY profile_id) AS s
JOIN profiles AS p USING (profile_id);

CREATE TABLE segments.seg_recommended_not_purchased AS
SELECT s.profile_id, p.email, p.phone_number, p.email_consent, p.sms_consent,
       s.last_recommended_at, s.recommendations_received, s.recommended_products
FROM (SELECT profile_id, max(recommended_at) AS last_recommended_at,
             CAST(count(*) AS INTEGER) AS recommendations_received,
             list_sort(list_distinct(flatten(list(products)))) AS recommended_products
      FROM marts.fct_product_recommendation_received
      WHERE profile_id IS NOT NULL AND hash(profile_id) % 2 = 0 GROUP BY profile_id) AS s
JOIN profiles AS p USING (profile_id);

CREATE TABLE segments.seg_escalated_recent AS
SELECT s.profile_id, p.email, p.phone_number, p.email_consent, p.sms_consent,
       s.last_escalated_at, s.escalations, s.last_escalation_reason
FROM (SELECT profile_id, max(escalated_at) AS last_escalated_at, CAST(count(*) AS INTEGER) AS escalations,
             arg_max(escalation_reason, escalated_at) AS last_escalation_reason
      FROM marts.fct_conversation_escalated WHERE profile_id IS NOT NULL GROUP BY profile_id) AS s
JOIN profiles AS p USING (profile_id);

CREATE TABLE segments.seg_recommendation_followup AS
SELECT s.profile_id, p.email, p.phone_number, p.email_consent, p.sms_consent,
       s.latest.conversation_id AS conversation_id, s.latest.recommended_at AS recommended_at,
       s.latest.recommended_at + INTERVAL {delay_hours} HOUR AS followup_due_at, s.latest.products AS products
FROM (SELECT profile_id, arg_max({{'conversation_id': conversation_id, 'recommended_at': recommended_at,
                                   'products': products}}, recommended_at) AS latest
      FROM marts.fct_product_recommendation_received WHERE profile_id IS NOT NULL GROUP BY profile_id) AS s
JOIN profiles AS p USING (profile_id)
WHERE p.email_consent = 'subscribed';
"""


SAMPLE_CONVERSATIONS = 240
LOGS_PER_CONVERSATION = 10  # range(10) in SAMPLE_SQL


def build_sample_warehouse(path: Path, conversations: int = SAMPLE_CONVERSATIONS, delay_hours: int = 2) -> Path:
    """A warehouse file with every validated table, spec-conformant; 10 staged log rows per conversation."""
    base = "2026-09-01 00:00:00"  # a fixed 40 days of events, never relative to today
    sql = SAMPLE_SQL.format(conversations=conversations, profiles=max(conversations // 2, 1), base=base,
                            delay_hours=delay_hours)
    with duckdb.connect(str(path)) as connection:
        connection.execute(sql)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tamper(path: Path, *statements: str) -> None:
    with duckdb.connect(str(path)) as connection:
        for statement in statements:
            connection.execute(statement)


def write_suite(folder: Path, name: str, table: str, expectations: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"name": name, "meta": {"table": table}, "expectations": expectations}))
    return path


@pytest.fixture(scope="module")
def clean_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_warehouse(tmp_path_factory.mktemp("clean") / "warehouse.duckdb")


@pytest.fixture
def warehouse_copy(clean_warehouse: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(clean_warehouse, copy)
    return copy


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["validate", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ------------------------------------------------------------------------------------------------ suites
def test_every_suite_file_is_a_gx_suite_that_names_its_table() -> None:
    import great_expectations as gx

    names = set()
    for path in sorted(DEFAULT_EXPECTATIONS_DIR.glob("*.json")):
        document = json.loads(path.read_text())
        suite = gx.ExpectationSuite(**document)
        schema, table = document["meta"]["table"].split(".")
        assert suite.name == path.stem == table
        assert schema in {"staging", "marts", "segments"}
        assert len(suite.expectations) == len(document["expectations"]) >= 10, "GX dropped an invalid expectation"
        names.add(suite.name)
    assert names == SUITES


# ------------------------------------------------------------------------------------------------ CLI
def test_clean_warehouse_passes_and_is_not_modified(
    warehouse_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before, mtime = sha256(warehouse_copy), warehouse_copy.stat().st_mtime_ns
    report = tmp_path / "report"
    code, out, err = run_cli(capsys, "--duckdb-path", str(warehouse_copy), "--report-dir", str(report))

    assert code == 0, out + err
    suite_lines = [line for line in out.splitlines() if line.startswith(("PASS", "FAIL"))]
    assert len(suite_lines) == len(SUITES) and all(line.startswith("PASS") for line in suite_lines)
    assert all(name in out for name in SUITES)
    assert sha256(warehouse_copy) == before and warehouse_copy.stat().st_mtime_ns == mtime
    assert not list(tmp_path.glob("*.wal"))

    summary = json.loads((report / "results.json").read_text())
    assert summary["success"] is True and summary["statistics"]["failed_expectations"] == 0
    assert {suite["name"] for suite in summary["suites"]} == SUITES
    assert (report / "index.html").read_text().count("PASS") >= len(SUITES)
    assert (report / "suites" / "stg_customer_agent__conversation_logs.html").is_file()
    assert not (report / "data_docs").exists(), "GX Data Docs (CDN assets) are built only with --data-docs"
    staged = json.loads((report / "suites" / "stg_customer_agent__conversation_logs.json").read_text())
    not_null = [r for r in staged["results"]
                if r["expectation_config"]["type"] == "expect_column_values_to_not_be_null"]
    assert not_null and all(r["result"]["element_count"] == SAMPLE_CONVERSATIONS * LOGS_PER_CONVERSATION
                            for r in not_null), "rows were really evaluated"


def test_tampered_warehouse_fails_and_names_the_broken_columns(
    warehouse_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tamper(
        warehouse_copy,
        "UPDATE marts.fct_conversation_started SET conversation_id = NULL WHERE event_id = 'started-conv-1'",
        "UPDATE marts.fct_conversation_started SET channel = 'fax' WHERE event_id = 'started-conv-2'",
        "UPDATE segments.seg_started_conversation SET profile_id = NULL "
        "WHERE profile_id = (SELECT min(profile_id) FROM segments.seg_started_conversation)",
    )
    code, out, err = run_cli(capsys, "--duckdb-path", str(warehouse_copy), "--report-dir", str(tmp_path / "r"),
                             "--no-data-docs")

    assert code == 1, out + err
    assert "FAIL  fct_conversation_started" in out and "FAIL  seg_started_conversation" in out
    assert "PASS  fct_conversation_resolved" in out
    assert "marts.fct_conversation_started.conversation_id: expect_column_values_to_not_be_null -- 1 unexpected" in out
    assert "marts.fct_conversation_started.channel: expect_column_values_to_be_in_set -- 1 unexpected" in out
    assert '"fax"' in out
    assert "segments.seg_started_conversation.profile_id: expect_column_values_to_not_be_null -- 1 unexpected" in out
    failures = json.loads((tmp_path / "r" / "results.json").read_text())["failures"]
    broken = {(f["table"], tuple(f["columns"]), f["expectation_type"]) for f in failures}
    assert ("marts.fct_conversation_started", ("channel",), "expect_column_values_to_be_in_set") in broken
    assert ("segments.seg_started_conversation", ("profile_id",), "expect_column_values_to_not_be_null") in broken


def test_a_suite_with_one_passing_and_one_failing_expectation(warehouse_copy: Path, tmp_path: Path) -> None:
    with duckdb.connect(str(warehouse_copy), read_only=True) as connection:
        rows, not_sms = connection.execute(
            "SELECT count(*), count(*) FILTER (WHERE channel <> 'sms') FROM marts.fct_conversation_started").fetchone()
    assert 0 < not_sms < rows
    suites = tmp_path / "suites"
    write_suite(suites, "probe", "marts.fct_conversation_started", [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "event_id"}},
        {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "channel", "value_set": ["sms"]}},
        {"type": "expect_table_row_count_to_equal", "kwargs": {"value": rows}},
        {"type": "unexpected_rows_expectation", "meta": {"columns": ["started_at"]},
         "kwargs": {"unexpected_rows_query": "SELECT event_id, started_at FROM {batch} WHERE started_at IS NULL"}},
        {"type": "unexpected_rows_expectation", "meta": {"columns": ["conversation_id"]},
         "kwargs": {"unexpected_rows_query":
                    "SELECT conversation_id FROM {batch} WHERE conversation_id LIKE 'conv-1%'"}},
    ])

    outcome = validate_warehouse(warehouse_copy, suites, tmp_path / "report", data_docs=False)

    assert not outcome.success and outcome.exit_code == 1
    (suite,) = outcome.suites
    assert (suite.expectations, suite.failed) == (5, 2)
    in_set, like = outcome.failures
    assert (in_set.columns, in_set.unexpected_count) == (("channel",), not_sms)
    assert in_set.sample and "sms" not in in_set.sample
    assert like.columns == ("conversation_id",) and like.unexpected_count > 0
    assert all(row["conversation_id"].startswith("conv-1") for row in like.sample)
    result = json.loads(suite.result_path.read_text())
    assert [r["success"] for r in result["results"]].count(True) == 3
    assert all(not r["exception_info"].get("raised_exception") for r in result["results"] if "raised_exception" in
               r["exception_info"])


def test_empty_segments_pass(warehouse_copy: Path, tmp_path: Path) -> None:
    tamper(warehouse_copy, *(f"DELETE FROM segments.{name}" for name in SEGMENTS))
    outcome = validate_warehouse(warehouse_copy, report_dir=tmp_path / "r", suites=SEGMENTS, data_docs=False)
    assert outcome.success, [failure.line() for failure in outcome.failures]


def test_format_and_cross_column_rules_catch_bad_values(warehouse_copy: Path, tmp_path: Path) -> None:
    tamper(
        warehouse_copy,
        "UPDATE marts.fct_product_recommendation_received SET product_count = 7 "
        "WHERE event_id = 'recommendation-conv-0'",
        "UPDATE segments.seg_recommendation_followup SET email = 'not-an-email' "
        "WHERE profile_id = (SELECT min(profile_id) FROM segments.seg_recommendation_followup)",
        "UPDATE segments.seg_recommendation_followup SET followup_due_at = recommended_at + INTERVAL 3 HOUR "
        "WHERE profile_id = (SELECT max(profile_id) FROM segments.seg_recommendation_followup)",
        # After the end of the build's plausible-time window (the suite's pinned anchor + 1 day): in the future.
        "UPDATE staging.stg_customer_agent__conversation_logs SET log_id = ' log-x ', occurred_at = "
        f"TIMESTAMP '{clock.WINDOW_ANCHOR_AT + dt.timedelta(days=2)}' WHERE log_id = 'log-3-3'",
    )
    outcome = validate_warehouse(warehouse_copy, report_dir=tmp_path / "r", data_docs=False, suites=[
        "fct_product_recommendation_received", "seg_recommendation_followup", "stg_customer_agent__conversation_logs"])

    broken = {(f.table, f.columns) for f in outcome.failures}
    assert ("marts.fct_product_recommendation_received", ("product_count", "products")) in broken
    assert ("segments.seg_recommendation_followup", ("email",)) in broken
    assert ("segments.seg_recommendation_followup", ("followup_due_at", "recommended_at")) in broken
    assert ("staging.stg_customer_agent__conversation_logs", ("log_id",)) in broken
    assert ("staging.stg_customer_agent__conversation_logs", ("occurred_at",)) in broken
    emails = [f for f in outcome.failures if f.columns == ("email",)]
    assert emails[0].sample[0]["email"] == "not-an-email"


def test_a_suite_that_cannot_run_fails_alone(warehouse_copy: Path, tmp_path: Path) -> None:
    suites = tmp_path / "suites"
    write_suite(suites, "a_broken", "marts.dim_conversations", [{"type": "expect_no_such_thing", "kwargs": {}}])
    write_suite(suites, "b_fine", "marts.dim_conversations",
                [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "conversation_id"}}])
    outcome = validate_warehouse(warehouse_copy, suites, tmp_path / "report", data_docs=False)
    broken, fine = outcome.suites
    assert not broken.success and broken.failures[0].error and fine.success
    assert json.loads((tmp_path / "report" / "suites" / "a_broken.json").read_text())["success"] is False


def test_a_missing_contract_column_fails_without_crashing(warehouse_copy: Path, tmp_path: Path) -> None:
    tamper(warehouse_copy, "ALTER TABLE segments.seg_escalated_recent DROP COLUMN last_escalation_reason")
    outcome = validate_warehouse(warehouse_copy, report_dir=tmp_path / "r", suites=["seg_escalated_recent"],
                                 data_docs=False)
    assert not outcome.success
    # No expect_column_to_exist (the enforced contract guarantees the columns of a dbt build): the expectations
    # on the column fail, each with the error and the column named.
    assert outcome.failures
    assert all("last_escalation_reason" in f.columns and f.error for f in outcome.failures)
    assert "expect_column_values_to_not_be_null" in {f.expectation_type for f in outcome.failures}


def test_no_suite_checks_that_a_column_exists() -> None:
    for path in DEFAULT_EXPECTATIONS_DIR.glob("*.json"):
        types = {item["type"] for item in json.loads(path.read_text())["expectations"]}
        assert "expect_column_to_exist" not in types, path.name


def test_allowed_values_are_read_from_the_seeds(warehouse_copy: Path, tmp_path: Path) -> None:
    tamper(warehouse_copy,
           "UPDATE marts.fct_conversation_started SET channel = 'fax' WHERE event_id = 'started-conv-2'",
           "UPDATE marts.dim_conversations SET channel = 'fax' WHERE conversation_id = 'conv-2'",
           "UPDATE segments.seg_started_conversation SET channels = list_sort(list_append(channels, 'fax'))")
    suites = ["fct_conversation_started", "seg_started_conversation"]
    outcome = validate_warehouse(warehouse_copy, report_dir=tmp_path / "a", suites=suites, data_docs=False)
    broken = {(f.suite, f.columns, f.expectation_type) for f in outcome.failures}
    assert broken == {("fct_conversation_started", ("channel",), "expect_column_values_to_be_in_set"),
                      ("seg_started_conversation", ("channels",), "unexpected_rows_expectation")}

    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds)
    with (seeds / "channels.csv").open("a") as handle:
        handle.write("fax,A store that added a channel\n")
    extended = validate_warehouse(warehouse_copy, report_dir=tmp_path / "b", suites=suites, data_docs=False,
                                  seeds_dir=seeds)
    assert extended.success, [failure.line() for failure in extended.failures]


def test_a_missing_vocabulary_seed_is_one_clear_line(warehouse_copy: Path, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds)
    (seeds / "consent_statuses.csv").unlink()
    with pytest.raises(ValidationSetupError, match=r"consent_statuses\.csv") as raised:
        validate_warehouse(warehouse_copy, report_dir=tmp_path / "r", data_docs=False, seeds_dir=seeds)
    assert "\n" not in str(raised.value)
    (seeds / "channels.csv").write_text("name\nweb_chat\n")
    with pytest.raises(ValidationSetupError, match=r"channels\.csv has no column 'channel'"):
        validate_warehouse(warehouse_copy, report_dir=tmp_path / "r", data_docs=False, seeds_dir=seeds)


def test_future_events_fail_and_the_bound_can_be_set(warehouse_copy: Path, tmp_path: Path) -> None:
    tamper(warehouse_copy, "UPDATE marts.fct_conversation_escalated SET escalated_at = TIMESTAMP '2026-12-03' "
                           "WHERE event_id = 'escalated-conv-1'")
    run = {"duckdb_path": warehouse_copy, "report_dir": tmp_path / "r", "suites": ["fct_conversation_escalated"],
           "data_docs": False}
    (failure,) = validate_warehouse(**run, validation_time=dt.datetime(2026, 12, 1)).failures
    assert failure.columns == ("escalated_at",) and failure.unexpected_count == 1
    assert validate_warehouse(**run, validation_time=dt.datetime(2026, 12, 4)).success


def test_without_an_anchor_the_bound_is_the_warehouse_s_last_build(warehouse_copy: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CA_TIMESTAMP_WINDOW_ANCHOR")
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "no-target"))  # no run_results.json: the warehouse decides
    built = dt.datetime(2030, 6, 1, 12)  # any instant: the bound follows the warehouse, not the clock
    # This hand-made sample has no base tables and no build columns: give log staging the one a build writes.
    tamper(warehouse_copy,
           "ALTER TABLE staging.stg_customer_agent__conversation_logs ADD COLUMN processed_at TIMESTAMP",
           f"UPDATE staging.stg_customer_agent__conversation_logs SET processed_at = TIMESTAMP '{built}'")
    outcome = validate_warehouse(warehouse_copy, report_dir=tmp_path / "r", data_docs=False,
                                 suites=["fct_conversation_escalated"])
    assert outcome.validation_time == built + dt.timedelta(days=1)
    assert outcome.validation_time_source == "start of the warehouse's last build that read log lines + 1 day"


def test_followup_delay_is_the_build_value(tmp_path: Path) -> None:
    warehouse = build_sample_warehouse(tmp_path / "w.duckdb", conversations=120, delay_hours=3)
    run = {"duckdb_path": warehouse, "report_dir": tmp_path / "r", "suites": ["seg_recommendation_followup"],
           "data_docs": False}
    assert not validate_warehouse(**run, followup_delay_hours=2).success
    assert validate_warehouse(**run, followup_delay_hours=3).success

    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "run_results.json").write_text(json.dumps({"args": {"vars": {"followup_delay_hours": 3}}}))
    (tmp_path / "dbt_project.yml").write_text("vars:\n  followup_delay_hours: 4\n")
    value, source = resolve_followup_delay_hours(None, tmp_path)
    assert value == 3.0 and "run_results.json" in source
    (tmp_path / "target" / "run_results.json").write_text(json.dumps({"args": {"vars": {}}}))
    assert resolve_followup_delay_hours(None, tmp_path) == (4.0, "dbt_project.yml")
    assert resolve_followup_delay_hours(1.5, tmp_path) == (1.5, "--followup-delay-hours")
    assert resolve_followup_delay_hours(None, tmp_path / "nowhere") == (2.0, "default")


# ------------------------------------------------------------------------------------------------ setup errors
def test_missing_warehouse_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere" / "warehouse.duckdb"
    code, _, err = run_cli(capsys, "--duckdb-path", str(missing), "--report-dir", str(tmp_path / "r"))
    assert code == 2
    assert err.count("\n") == 1 and str(missing) in err
    assert "dbt build --profiles-dir profiles" in err and "CA_DUCKDB_PATH" in err
    assert not missing.exists()


def test_warehouse_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CA_DUCKDB_PATH", str(tmp_path / "env.duckdb"))
    code, _, err = run_cli(capsys, "--report-dir", str(tmp_path / "r"))
    assert code == 2 and str(tmp_path / "env.duckdb") in err


def test_missing_table_names_it(warehouse_copy: Path, tmp_path: Path) -> None:
    tamper(warehouse_copy, "DROP TABLE segments.seg_escalated_recent")
    with pytest.raises(ValidationSetupError) as error:
        validate_warehouse(warehouse_copy, report_dir=tmp_path / "r")
    message = str(error.value)
    assert "segments.seg_escalated_recent" in message and "dbt build --profiles-dir profiles" in message
    assert "\n" not in message


def test_locked_warehouse_is_reported(warehouse_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, sys, time
            connection = duckdb.connect({str(warehouse_copy)!r})
            print("locked", flush=True)
            sys.stdin.read()  # held until killed, however long the command under test takes
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        code, _, err = run_cli(capsys, "--duckdb-path", str(warehouse_copy), "--report-dir", str(tmp_path / "r"))
    finally:
        holder.kill()
        holder.wait()
    assert code == 2 and "lock" in err and str(warehouse_copy) in err


# ------------------------------------------------------------------------------------------------ the route
def test_route_keeps_results_after_the_connection_is_closed(clean_warehouse: Path) -> None:
    """The duckdb_engine trap: GX fetches after `with engine.connect()` has closed (rolled back) the connection."""
    import sqlalchemy as sa

    from customer_agent_warehouse.ge_connection import connection_factory, open_read_only, session_setup

    database = open_read_only(clean_warehouse)
    engine = sa.create_engine(f"duckdb:///{clean_warehouse}",
                              creator=connection_factory(database, session_setup({"ca_answer": 42})))
    try:
        with engine.connect() as connection:
            first = connection.execute(sa.text("SELECT count(*) FROM marts.dim_conversations"))
            second = connection.execute(sa.text("SELECT getvariable('ca_answer')"))
        assert first.fetchall() == [(SAMPLE_CONVERSATIONS,)]
        assert second.fetchall() == [(42,)]
    finally:
        engine.dispose()
        database.close()


def test_validation_is_fast_on_the_sample(clean_warehouse: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    outcome = validate_warehouse(clean_warehouse, report_dir=tmp_path / "r", data_docs=False)
    assert outcome.success
    assert time.monotonic() - started < 60

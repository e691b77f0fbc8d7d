"""Issue 16: every documented dbt var works with plain `dbt build`, unit tests included, and changes the models it
should, as the var says. One build with every default (as_of null: the build time), one `dbt build` with a
non-default value of EVERY var of dbt_project.yml (a var added later fails this test until it gets a value and a
check here); rows are derived by hand from the spec in the comments, never from the models.

Times are relative to N, a fixed instant (never the wall clock); A2 = N - 24 h is the explicit as_of of the second
build. The default as_of is the build time: the first build's segments are derived by hand from the as_of it
recorded, whatever day the suite runs on. All profiles are subscribed to email; there are no orders.

  c1  p1 web_chat  shopper A2-3h-1m, recommendation [A] at A2-3h
  c2  p2 sms       shopper A2-49h-1m, recommendation [B] at A2-49h
  c3  p3 email     shopper A2-20d-1m, recommendation [C] at A2-20d
  c4  p4 whatsapp  shopper A2-5h-1m, recommendation [D] at A2-5h
  c5  p1 web_chat  shopper A2-5d-1m, escalated (shopper_requested) at A2-5d
  c6  p2 sms       shopper A2-1d-1m, escalated (knowledge_gap) at A2-1d
  c7  p5 web_chat  shopper N-2h (after A2)
  m1  anonymous email, 2024-06-14: shopper 21:30Z, skill faq 21:45Z, resolved by the agent 22:30Z
  m2  anonymous email, 2024-06-14: shopper 22:15Z, skill returns 22:16Z, escalated 22:20Z
      (Europe/Rome is UTC+2 in June: 23:30, 23:45 on the 14th; 00:30, 00:15, 00:16, 00:20 on the 15th)

Raw-zone edge files (anonymous tag records, no effect on facts or segments):
  edge/old.jsonl     a record of 2021-06-01: staged; before timestamp_min 2022-01-01: timestamp_out_of_range
  edge/future.jsonl  a record 60 h after the window anchor (the suite pins it, tests/python/clock.py): out of
                     range 1 day after it; staged 2 days after an anchor 1 day later (both vars needed)
  edge/long.jsonl    a 3,000-byte line: staged; above raw_max_line_bytes 2048: line_too_long
  edge/tail.jsonl    a record, then a cut last line without a line break, file modified in 2000 (os.utime, no
                     clock): settled (60 s) the cut line is a finished line that is not JSON: invalid_json; with
                     raw_file_settle_seconds 10^10 (317 years) the file may still be written: incomplete_line
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.python import clock, raw_records
from tests.python.warehouse import PROJECT_ROOT, Warehouse

pytestmark = pytest.mark.slow

N = dt.datetime(2026, 11, 30, 12, 0)
A2 = N - dt.timedelta(hours=24)
H, D, M = dt.timedelta(hours=1), dt.timedelta(days=1), dt.timedelta(minutes=1)

# var -> (non-default value, where its effect is checked)
NON_DEFAULT_VARS: dict[str, tuple[Any, str]] = {
    "as_of": ((A2 + H).strftime("%Y-%m-%dT%H:%M:%S+01:00"), "segments below (the same instant as A2 in UTC)"),
    "recommendation_lookback_days": (14, "seg_recommended_not_purchased below (p3 leaves)"),
    "escalation_suppression_days": (3, "seg_escalated_recent below (p1 leaves)"),
    "followup_delay_hours": (4, "seg_recommendation_followup below (p1 not due yet, p4 due 4 h after)"),
    "followup_window_days": (2, "seg_recommendation_followup below (p2 too old)"),
    "reporting_timezone": ("Europe/Rome", "agg_customer_agent_daily and agg_skill_performance below"),
    "default_phone_country_code": ("39", "phone numbers without a prefix below"),
    "allow_empty_raw_zone": (True, "no effect on a raw zone with files; test_serving_raw_zone.py builds an empty one"),
    "raw_file_settle_seconds": (10**10, "edge/tail.jsonl below"),
    "raw_max_line_bytes": (2048, "edge/long.jsonl below"),
    "timestamp_min": ("2022-01-01", "edge/old.jsonl below"),
    "timestamp_max_days_after_build": (2, "edge/future.jsonl below"),
    "timestamp_window_anchor": ("2100-01-02T00:00:00Z", "edge/future.jsonl below (one day after the suite's pin)"),
    "data_tests_scope": ("all", "test_data_tests_scope_e2e.py: an old fault outside the changed rows is found"),
    # Spark only (partitions of the incremental models); no effect on DuckDB. test_spark_e2e.py checks
    # the partitions of the default.
    "spark_rebuild_buckets": (8, "test_spark_e2e.py (Spark)"),
    # Read by `export` (activation/config.py), not by any model: the build must accept them; their effect on the
    # request bodies is checked in test_activation_e2e.py.
    "activation_metric_names": ({"started": "Chat started", "resolved": None, "escalated": None,
                                 "recommendation": None}, "test_activation_e2e.py"),
    "activation_backfill_after_hours": (48, "test_activation_e2e.py"),
    "activation_include_first_message": (True, "test_activation_e2e.py"),
    "activation_profile_identifiers": (["email"], "test_activation_e2e.py"),
}
ENGINE_VARS = ("contract_types",)
EDGE_FILES = ("old", "future", "long", "tail")
DAILY = ["reporting_date", "channel", "conversations_started", "conversations_resolved_by_agent",
         "conversations_escalated", "started_conversations_resolved_by_agent", "resolution_rate", "recommendations",
         "attributed_orders", "ai_generated_sales", "average_order_value"]
SKILLS = ["reporting_date", "skill", "invocations", "conversations", "resolutions", "escalations"]


def iso(instant: dt.datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


log = raw_records.log


def conversation(conversation_id: str, profile: str, channel: str, at: dt.datetime, **event: Any) -> list[dict]:
    records = [log(f"{conversation_id}-1", conversation_id, at - M, "message", "shopper", text="hello",
                   channel=channel, profile_id=profile)]
    if event:
        records.append(log(f"{conversation_id}-2", conversation_id, at, actor="agent", **event))
    return records


def recommendation(product: str) -> dict[str, Any]:
    return {"record_type": "recommendation", "format": "card", "products": [{"product_id": product}]}


def escalation(reason: str) -> dict[str, Any]:
    return {"record_type": "status", "status": "escalated", "escalation_reason": reason}


def raw_logs() -> list[dict]:
    june = dt.datetime(2024, 6, 14)
    return [
        *conversation("c1", "p1", "web_chat", A2 - 3 * H, **recommendation("A")),
        *conversation("c2", "p2", "sms", A2 - 49 * H, **recommendation("B")),
        *conversation("c3", "p3", "email", A2 - 20 * D, **recommendation("C")),
        *conversation("c4", "p4", "whatsapp", A2 - 5 * H, **recommendation("D")),
        *conversation("c5", "p1", "web_chat", A2 - 5 * D, **escalation("shopper_requested")),
        *conversation("c6", "p2", "sms", A2 - D, **escalation("knowledge_gap")),
        log("c7-1", "c7", N - 2 * H, "message", "shopper", text="hi", channel="web_chat", profile_id="p5"),
        log("m1-1", "m1", june.replace(hour=21, minute=30), "message", "shopper", text="?", channel="email"),
        log("m1-2", "m1", june.replace(hour=21, minute=45), "skill", "agent", skill="faq"),
        log("m1-3", "m1", june.replace(hour=22, minute=30), "status", "agent", status="resolved"),
        log("m2-1", "m2", june.replace(hour=22, minute=15), "message", "shopper", text="!", channel="email"),
        log("m2-2", "m2", june.replace(hour=22, minute=16), "skill", "agent", skill="returns"),
        log("m2-3", "m2", june.replace(hour=22, minute=20), "status", "human", status="escalated",
            escalation_reason="sensitive_topic"),
    ]


def write_edge_files(warehouse: Warehouse) -> None:
    def tag(log_id: str, at: dt.datetime, **fields: Any) -> dict[str, Any]:
        return log(log_id, log_id, at, "tag", "system", tags=["edge"], **fields)

    warehouse.write("conversation_logs", "edge/old.jsonl", [tag("z-old", dt.datetime(2021, 6, 1))])
    warehouse.write("conversation_logs", "edge/future.jsonl", [tag("z-future", clock.WINDOW_ANCHOR_AT + 60 * H)])
    warehouse.write("conversation_logs", "edge/long.jsonl", [tag("z-long", A2, text="x" * 3000)])
    tail = warehouse.write("conversation_logs", "edge/tail.jsonl", [tag("z-tail", A2)])
    with tail.open("a") as handle:
        handle.write('{"log_id": "z-cut", "conversation_id": "z-cut", "occurred_at": "2026-')
    clock.mark_settled(tail)


def edge_fates(warehouse: Warehouse) -> dict[str, list[str]]:
    """Per edge file: what became of each of its lines (staged log_id, or the rejection reason), in line order."""
    rows = warehouse.query(
        "select regexp_extract(file_name, 'edge/(\\w+)[.]jsonl', 1), line_number, reason from audit.rejected_records "
        "where file_name like '%edge/%' union all "
        "select regexp_extract(file_name, 'edge/(\\w+)[.]jsonl', 1), line_number, 'staged ' || log_id "
        "from staging.stg_customer_agent__conversation_logs where file_name like '%edge/%' order by 1, 2")
    fates: dict[str, list[str]] = {name: [] for name in EDGE_FILES}
    for name, _, fate in rows:
        fates[name].append(fate)
    return fates


def raw_profiles() -> list[dict]:
    phones = {"p1": "555 010 0001", "p2": "+44 20 7946 0958"}
    return [{"profile_id": profile, "email": f"{profile}@example.com", "phone_number": phones.get(profile),
             "email_consent": "subscribed", "sms_consent": "never_subscribed", "updated_at": iso(A2 - 30 * D)}
            for profile in ("p1", "p2", "p3", "p4", "p5")]


def segments(warehouse: Warehouse) -> dict[str, list[dict]]:
    return {
        "started": warehouse.rows("segments.seg_started_conversation", [
            "profile_id", "phone_number", "conversations_started", "first_started_at", "last_started_at", "channels"]),
        "escalated": warehouse.rows("segments.seg_escalated_recent", [
            "profile_id", "last_escalated_at", "escalations", "last_escalation_reason"]),
        "not_purchased": warehouse.rows("segments.seg_recommended_not_purchased", [
            "profile_id", "last_recommended_at", "recommendations_received", "recommended_products"]),
        "followup": warehouse.rows("segments.seg_recommendation_followup", [
            "profile_id", "conversation_id", "recommended_at", "followup_due_at", "products"]),
    }


STARTS = {"p1": [A2 - 5 * D - M, A2 - 3 * H - M], "p2": [A2 - 49 * H - M, A2 - D - M], "p3": [A2 - 20 * D - M],
          "p4": [A2 - 5 * H - M], "p5": [N - 2 * H]}
CHANNELS = {"p1": "web_chat", "p2": "sms", "p3": "email", "p4": "whatsapp", "p5": "web_chat"}
ESCALATIONS = {"p1": (A2 - 5 * D, "shopper_requested"), "p2": (A2 - D, "knowledge_gap")}
RECOMMENDATIONS = {"p1": (A2 - 3 * H, "A", "c1"), "p2": (A2 - 49 * H, "B", "c2"), "p3": (A2 - 20 * D, "C", "c3"),
                   "p4": (A2 - 5 * H, "D", "c4")}


def expected_segments(as_of: dt.datetime, code: str, defaults: bool) -> dict[str, list[dict]]:
    """By hand from spec §5: only events at or before as_of count; windows are (as_of - N, as_of]."""
    phones = {"p1": f"+{code}5550100001", "p2": "+442079460958"}
    started = [{"profile_id": profile, "phone_number": phones.get(profile), "conversations_started": len(starts),
                "first_started_at": min(starts), "last_started_at": max(starts), "channels": [CHANNELS[profile]]}
               for profile, all_starts in STARTS.items() if (starts := [at for at in all_starts if at <= as_of])]
    suppression = (7 if defaults else 3) * D
    escalated = [{"profile_id": profile, "last_escalated_at": at, "escalations": 1, "last_escalation_reason": reason}
                 for profile, (at, reason) in ESCALATIONS.items() if as_of - suppression < at <= as_of]
    lookback = (30 if defaults else 14) * D
    not_purchased = [{"profile_id": profile, "last_recommended_at": at, "recommendations_received": 1,
                      "recommended_products": [product]}
                     for profile, (at, product, _) in RECOMMENDATIONS.items() if as_of - lookback < at <= as_of]
    delay, window = (2 * H, 7 * D) if defaults else (4 * H, 2 * D)
    followup = [{"profile_id": profile, "conversation_id": conversation_id, "recommended_at": at,
                 "followup_due_at": at + delay, "products": [product]}
                for profile, (at, product, conversation_id) in RECOMMENDATIONS.items()
                if as_of - window < at <= as_of - delay]
    return {"started": started, "escalated": escalated, "not_purchased": not_purchased, "followup": followup}


def daily_rows(warehouse: Warehouse, relation: str, columns: list[str]) -> list[dict]:
    return warehouse.rows(relation, columns, where="reporting_date between date '2024-06-01' and date '2024-06-30'")


def test_every_documented_var_has_a_non_default_value_here() -> None:
    project_vars = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())["vars"]
    for name in ENGINE_VARS:  # what each engine calls the contract types: not a knob a user sets
        project_vars.pop(name)
    assert set(NON_DEFAULT_VARS) == set(project_vars), "give every var of dbt_project.yml a value and a check here"
    for name, (value, _) in NON_DEFAULT_VARS.items():
        assert value != project_vars[name], name


def test_dbt_build_with_every_var_changes_the_models_as_the_var_says(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path)
    warehouse.write("conversation_logs", "dt=recent/part-1.jsonl", raw_logs())
    warehouse.write("profiles", "part-1.jsonl", raw_profiles())
    write_edge_files(warehouse)

    warehouse.build()
    (evaluated,), = warehouse.query("select distinct evaluated_as_of from segments.seg_started_conversation")
    assert warehouse.query("select distinct processed_at from intermediate.int_conversations_changed") == [
        (evaluated,)], "as_of null means the build time (the start of the dbt invocation)"
    assert segments(warehouse) == expected_segments(evaluated, "1", defaults=True)
    assert edge_fates(warehouse) == {"old": ["staged z-old"], "future": ["timestamp_out_of_range"],
                                     "long": ["staged z-long"], "tail": ["staged z-tail", "invalid_json"]}
    assert daily_rows(warehouse, "marts.agg_customer_agent_daily", DAILY) == [
        {"reporting_date": dt.date(2024, 6, 14), "channel": "email", "conversations_started": 2,
         "conversations_resolved_by_agent": 1, "conversations_escalated": 1,
         "started_conversations_resolved_by_agent": 1, "resolution_rate": 0.5, "recommendations": 0,
         "attributed_orders": 0, "ai_generated_sales": 0.0, "average_order_value": None},
    ]
    assert daily_rows(warehouse, "marts.agg_skill_performance", SKILLS) == [
        {"reporting_date": dt.date(2024, 6, 14), "skill": "faq", "invocations": 1, "conversations": 1,
         "resolutions": 1, "escalations": 0},
        {"reporting_date": dt.date(2024, 6, 14), "skill": "returns", "invocations": 1, "conversations": 1,
         "resolutions": 0, "escalations": 1},
    ]

    # --full-refresh: the raw-zone vars apply when a file is read, so every file is read again.
    result = warehouse.build("--full-refresh", unit_tests=True, check=False,
                             vars={name: value for name, (value, _) in NON_DEFAULT_VARS.items()})
    assert result.returncode == 0, result.stdout[-6000:]
    for relation in ("segments.seg_started_conversation", "segments.seg_recommendation_followup"):
        assert warehouse.query(f"select distinct evaluated_as_of from {relation}") == [(A2,)]
    assert segments(warehouse) == expected_segments(A2, "39", defaults=False)
    assert edge_fates(warehouse) == {"old": ["timestamp_out_of_range"], "future": ["staged z-future"],
                                     "long": ["line_too_long"], "tail": ["staged z-tail", "incomplete_line"]}
    assert warehouse.query("select phone_number from staging.stg_marketing__profiles where profile_id = 'p1'") == [
        ("+395550100001",)]
    # Europe/Rome (UTC+2 in June): m1 starts on the 14th and is resolved on the 15th; m2 starts and is escalated
    # on the 15th. The cohort rate follows the start day: m1 resolved_by_agent -> 1.0 on the 14th, m2 -> 0.0.
    assert daily_rows(warehouse, "marts.agg_customer_agent_daily", DAILY) == [
        {"reporting_date": dt.date(2024, 6, 14), "channel": "email", "conversations_started": 1,
         "conversations_resolved_by_agent": 0, "conversations_escalated": 0,
         "started_conversations_resolved_by_agent": 1, "resolution_rate": 1.0, "recommendations": 0,
         "attributed_orders": 0, "ai_generated_sales": 0.0, "average_order_value": None},
        {"reporting_date": dt.date(2024, 6, 15), "channel": "email", "conversations_started": 1,
         "conversations_resolved_by_agent": 1, "conversations_escalated": 1,
         "started_conversations_resolved_by_agent": 0, "resolution_rate": 0.0, "recommendations": 0,
         "attributed_orders": 0, "ai_generated_sales": 0.0, "average_order_value": None},
    ]
    assert daily_rows(warehouse, "marts.agg_skill_performance", SKILLS) == [
        {"reporting_date": dt.date(2024, 6, 14), "skill": "faq", "invocations": 1, "conversations": 1,
         "resolutions": 0, "escalations": 0},
        {"reporting_date": dt.date(2024, 6, 15), "skill": "faq", "invocations": 0, "conversations": 0,
         "resolutions": 1, "escalations": 0},
        {"reporting_date": dt.date(2024, 6, 15), "skill": "returns", "invocations": 1, "conversations": 1,
         "resolutions": 0, "escalations": 1},
    ]


def test_the_plausible_window_counts_from_the_build_unless_anchored(tmp_path: Path) -> None:
    """Unpinned (CA_TIMESTAMP_WINDOW_ANCHOR empty: the product's default), the window ends a day after the build,
    so a time in 2099 is out of range on any clock before 2099; a bad anchor stops the build with one line."""
    warehouse = Warehouse(tmp_path)
    warehouse.write("conversation_logs", "part-1.jsonl", [
        log("w1", "w", N, "message", "shopper", text="hi", channel="sms"),
        log("w2", "w", dt.datetime(2099, 6, 1), "tag", "system", tags=["edge"])])
    warehouse.dbt("build", "--exclude-resource-type", "unit_test",
                  env={"CA_TIMESTAMP_WINDOW_ANCHOR": ""})
    assert warehouse.query("select line_number, reason, detail like '%1 day(s) after the build)' "
                           "from audit.rejected_records") == [(2, "timestamp_out_of_range", True)]
    result = warehouse.build(vars={"timestamp_window_anchor": "next week"}, check=False)
    assert result.returncode != 0
    assert "var timestamp_window_anchor must be an ISO-8601 UTC time such as 2026-12-01T00:00:00Z" in result.stdout

"""Issue #8 end to end: raw zone → attribution, daily and skill marts, and a real MetricFlow query.

The raw zone below is small enough that every expected figure is derived by
hand in the comments, from the spec (§3, §4, §9), never from the models.

Attribution windows are the seed defaults: web_chat/sms/other 24 h, email 120 h.
A touch at T covers orders placed in [T, T + window).

Profiles: p1 ann@, p2 bob@, p3, p4. Conversations (UTC):
  cA  web_chat  p1         started 11-20 10:00, agent touches 10:00:10 .. 10:05 (resolved by the agent at 10:05),
                           recommendation of 3 products at 10:03, two order_tracking skill records.
  cB  email     p2 (email) started 11-20 08:00, touches 08:01 .. 08:30 (escalated at 08:30, skill returns).
  cC  web_chat  anonymous  started 11-20 23:30 (Rome: 11-21), skill faq, recommendation of 2 products at 23:31,
                           resolved by the agent at 23:40.
  cD  sms       p1         started 11-21 09:00, touches 09:01 and 09:02 (skill faq).
  cE  (none)    p3         started 11-20 12:00, one touch at 12:01 → window of `other` (24 h).
  cF  web_chat  p4         started 11-20 08:00, touch 08:30; a human (not a touch) writes on 11-22 10:00.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from customer_agent_warehouse.money import money_ratio
from tests.python import raw_records
from tests.python.warehouse import PROJECT_ROOT, Warehouse, ts

# Several real dbt builds: `./test.sh -m "not slow"` skips this module.
pytestmark = pytest.mark.slow

LOGS = "conversation_logs"
MF_EXECUTABLE = Path(sys.executable).parent / "mf"
# With the vocabulary seed their channel columns are tested against (a later build of the marts alone runs it).
PERFORMANCE_MODELS = "+agg_customer_agent_daily +agg_skill_performance +metricflow_time_spine channels"
DAILY_COLUMNS = [
    "reporting_date", "channel", "conversations_started", "conversations_resolved_by_agent",
    "conversations_escalated", "started_conversations_resolved_by_agent", "resolution_rate",
    "recommendations", "products_recommended", "attributed_orders", "ai_generated_sales", "average_order_value",
]
SKILL_COLUMNS = ["reporting_date", "skill", "invocations", "conversations", "resolutions", "escalations"]


_log = raw_records.log
_order = partial(raw_records.order, currency="eur")


CONVERSATION_LOGS = [
    _log("A1", "cA", "2026-11-20T10:00:00Z", "message", "shopper", channel="Web Chat", text="Where is it?",
         profile_id="p1"),
    _log("A2", "cA", "2026-11-20T10:00:10Z", "skill", "agent", skill="Order Tracking"),
    _log("A3", "cA", "2026-11-20T10:01:00Z", "skill", "agent", skill="order-tracking"),
    _log("A4", "cA", "2026-11-20T10:02:00Z", "message", "agent", text="On its way"),
    _log("A5", "cA", "2026-11-20T10:03:00Z", "recommendation", "agent", format="card",
         products=[{"product_id": "P1"}, {"product_id": "P2", "sku": "S2"}, {"sku": "S3"}]),
    _log("A6", "cA", "2026-11-20T10:05:00Z", "status", "agent", status="resolved"),
    _log("B1", "cB", "2026-11-20T08:00:00Z", "message", "shopper", channel="Email", text="Return?",
         email="  Bob@Example.com "),
    _log("B2", "cB", "2026-11-20T08:01:00Z", "skill", "agent", skill="Returns"),
    _log("B3", "cB", "2026-11-20T08:02:00Z", "message", "agent", text="Let me check"),
    _log("B4", "cB", "2026-11-20T08:30:00Z", "status", "agent", status="escalated", escalation_reason="Knowledge Gap"),
    _log("C1", "cC", "2026-11-20T23:30:00Z", "message", "shopper", channel="webchat", text="Any advice?"),
    _log("C2", "cC", "2026-11-20T23:30:30Z", "skill", "agent", skill="FAQ"),
    _log("C3", "cC", "2026-11-20T23:31:00Z", "recommendation", "agent", products=[{"product_id": "P7"}, {"sku": "S8"}]),
    _log("C4", "cC", "2026-11-20T23:40:00Z", "status", "agent", status="resolved"),
    _log("D1", "cD", "2026-11-21T09:00:00Z", "message", "shopper", channel="SMS", text="Hi again", profile_id="p1"),
    _log("D2", "cD", "2026-11-21T09:01:00Z", "message", "agent", text="Hello"),
    _log("D3", "cD", "2026-11-21T09:02:00Z", "skill", "agent", skill="faq"),
    _log("E1", "cE", "2026-11-20T12:00:00Z", "message", "shopper", text="No channel here", profile_id="p3"),
    _log("E2", "cE", "2026-11-20T12:01:00Z", "message", "agent", text="Hi"),
    _log("F1", "cF", "2026-11-20T08:00:00Z", "message", "shopper", channel="web_chat", text="Hey", profile_id="p4"),
    _log("F2", "cF", "2026-11-20T08:30:00Z", "message", "agent", text="Hi"),
    _log("F3", "cF", "2026-11-22T10:00:00Z", "message", "human", text="A human follows up"),
]

ORDERS = [
    _order("o1", "2026-11-20T10:05:00Z", 20.0, profile_id="p1"),        # at cA's last touch: cA, 0 h
    _order("o3", "2026-11-21T09:32:00Z", 30.0, profile_id="p1"),        # cD (09:02) beats cA (still open): 0.5 h
    _order("o4", "2026-11-22T09:02:00Z", 1.0, profile_id="p1"),         # cD window just closed, cA too: none
    _order("o6", "2026-11-22T10:30:00Z", 99.9, email="BOB@example.com "),  # by email → p2, cB email 50 h: yes
    _order("o7", "2026-11-25T08:30:00Z", 1.0, profile_id="p2"),         # exactly 120 h after cB: none
    _order("o8", "2026-11-25T08:29:59Z", 10.0, profile_id="p2"),        # 1 s before the end: cB
    _order("o9", "2026-11-20T23:35:00Z", 1.0, email="zed@example.com"),  # no profile (cC anonymous): none
    _order("o10", "2026-11-22T10:30:00Z", 1.0, profile_id="p4"),        # web chat 50 h after cF, human ≠ touch: none
    _order("o11", "2026-11-20T23:15:00Z", 40.0, profile_id="p2"),       # cB, 14.75 h; Rome: 11-21
    _order("oE0", "2026-11-20T12:00:59.999Z", 1.0, profile_id="p3"),    # 1 ms before cE's touch: none
    _order("oE1", "2026-11-21T12:00:59.999Z", 5.0, profile_id="p3"),    # 1 ms before `other` window ends: cE
    _order("oE2", "2026-11-21T12:01:00Z", 1.0, profile_id="p3"),        # at the end of the window: none
]

PROFILES = [
    {"profile_id": "p1", "email": "ann@example.com", "updated_at": "2026-11-01T00:00:00Z"},
    {"profile_id": "p2", "email": "bob@example.com", "updated_at": "2026-11-01T00:00:00Z"},
    {"profile_id": "p3", "updated_at": "2026-11-01T00:00:00Z"},
    {"profile_id": "p4", "updated_at": "2026-11-01T00:00:00Z"},
]


def _write_raw_zone(warehouse: Warehouse) -> None:
    warehouse.write(LOGS, "dt=2026-11-20/part-0001.jsonl", CONVERSATION_LOGS[:14])
    warehouse.write(LOGS, "dt=2026-11-21/part-0001.jsonl.gz", CONVERSATION_LOGS[14:])
    warehouse.write("orders", "2026-11-20.jsonl", ORDERS)
    warehouse.write("profiles", "profiles.jsonl", PROFILES)


def _build_performance_marts(warehouse: Warehouse, vars: dict[str, Any] | None = None) -> None:
    warehouse.build("--select", PERFORMANCE_MODELS, "--indirect-selection", "buildable", vars=vars)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    warehouse = Warehouse(root=tmp_path_factory.mktemp("performance"))
    _write_raw_zone(warehouse)
    _build_performance_marts(warehouse)
    return warehouse


@pytest.fixture(scope="module")
def built_in_rome(built: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """A copy of the built warehouse whose daily marts are rebuilt with reporting_timezone = Europe/Rome."""
    warehouse = Warehouse(root=tmp_path_factory.mktemp("performance_rome"), vars={"reporting_timezone": "Europe/Rome"})
    shutil.copy(built.db, warehouse.db)
    # Cautious: the marts' own tests only (a relationships test to a seed the first build did not select waits).
    warehouse.build("--select", "agg_customer_agent_daily agg_skill_performance", "--indirect-selection", "cautious")
    return warehouse


def _daily_row(day: str, channel: str | None, *, started: int = 0, resolved: int = 0, escalated: int = 0,
               started_resolved: int = 0, recommendations: int = 0, products: int = 0,
               orders: int = 0, sales: float = 0.0) -> dict[str, Any]:
    """An expected daily row; the two ratios follow from their parts (null when the denominator is 0)."""
    return {
        "reporting_date": ts(day).date(), "channel": channel, "conversations_started": started,
        "conversations_resolved_by_agent": resolved, "conversations_escalated": escalated,
        "started_conversations_resolved_by_agent": started_resolved,
        "resolution_rate": started_resolved / started if started else None,
        "recommendations": recommendations, "products_recommended": products,
        "attributed_orders": orders, "ai_generated_sales": Decimal(str(sales)),
        "average_order_value": money_ratio(Decimal(str(sales)), orders),
    }


def _daily(warehouse: Warehouse) -> list[dict[str, Any]]:
    return warehouse.rows("marts.agg_customer_agent_daily", DAILY_COLUMNS, order_by="reporting_date, channel")


def _skills(warehouse: Warehouse) -> list[dict[str, Any]]:
    return [tuple(row.values()) for row in warehouse.rows("marts.agg_skill_performance", SKILL_COLUMNS)]


def test_orders_are_attributed_to_the_last_covering_touch(built: Warehouse) -> None:
    columns = ["order_id", "profile_id", "placed_at", "value", "currency", "conversation_id", "channel", "touch_at",
               "hours_since_touch"]
    assert built.rows("marts.fct_attributed_orders", columns, order_by="order_id") == [
        {"order_id": "o1", "profile_id": "p1", "placed_at": ts("2026-11-20T10:05:00Z"), "value": Decimal("20.0"),
         "currency": "EUR", "conversation_id": "cA", "channel": "web_chat", "touch_at": ts("2026-11-20T10:05:00Z"),
         "hours_since_touch": 0.0},
        {"order_id": "o11", "profile_id": "p2", "placed_at": ts("2026-11-20T23:15:00Z"), "value": Decimal("40.0"),
         "currency": "EUR", "conversation_id": "cB", "channel": "email", "touch_at": ts("2026-11-20T08:30:00Z"),
         "hours_since_touch": 14.75},
        {"order_id": "o3", "profile_id": "p1", "placed_at": ts("2026-11-21T09:32:00Z"), "value": Decimal("30.0"),
         "currency": "EUR", "conversation_id": "cD", "channel": "sms", "touch_at": ts("2026-11-21T09:02:00Z"),
         "hours_since_touch": 0.5},
        {"order_id": "o6", "profile_id": "p2", "placed_at": ts("2026-11-22T10:30:00Z"), "value": Decimal("99.9"),
         "currency": "EUR", "conversation_id": "cB", "channel": "email", "touch_at": ts("2026-11-20T08:30:00Z"),
         "hours_since_touch": 50.0},
        {"order_id": "o8", "profile_id": "p2", "placed_at": ts("2026-11-25T08:29:59Z"), "value": Decimal("10.0"),
         "currency": "EUR", "conversation_id": "cB", "channel": "email", "touch_at": ts("2026-11-20T08:30:00Z"),
         "hours_since_touch": pytest.approx(120 - 1 / 3600)},
        {"order_id": "oE1", "profile_id": "p3", "placed_at": ts("2026-11-21T12:00:59.999Z"), "value": Decimal("5.0"),
         "currency": "EUR", "conversation_id": "cE", "channel": None, "touch_at": ts("2026-11-20T12:01:00Z"),
         "hours_since_touch": pytest.approx(24 - 0.001 / 3600)},
    ]


def test_daily_mart_in_utc(built: Warehouse) -> None:
    assert _daily(built) == [
        # cB started and escalated; o11 (23:15 UTC).
        _daily_row("2026-11-20", "email", started=1, escalated=1, orders=1, sales=40.0),
        # cA, cC, cF started; cA and cC resolved by the agent (both outcomes resolved_by_agent); 2 recommendations
        # (cA: 3 products, cC: 2); o1.
        _daily_row("2026-11-20", "web_chat", started=3, resolved=2, started_resolved=2, recommendations=2,
                   products=5, orders=1, sales=20.0),
        # cE has no channel: its own row, unresolved.
        _daily_row("2026-11-20", None, started=1),
        _daily_row("2026-11-21", "sms", started=1, orders=1, sales=30.0),   # cD; o3
        _daily_row("2026-11-21", None, orders=1, sales=5.0),                 # oE1 only: no start, rate null
        _daily_row("2026-11-22", "email", orders=1, sales=99.9),             # o6
        _daily_row("2026-11-25", "email", orders=1, sales=10.0),             # o8
    ]


def test_daily_mart_in_europe_rome(built_in_rome: Warehouse) -> None:
    # Rome is UTC+1 in November: cC (23:30 UTC), its recommendation and resolution, and o11 (23:15 UTC) move to
    # 11-21; everything else keeps its day.
    assert _daily(built_in_rome) == [
        _daily_row("2026-11-20", "email", started=1, escalated=1),
        _daily_row("2026-11-20", "web_chat", started=2, resolved=1, started_resolved=1, recommendations=1,
                   products=3, orders=1, sales=20.0),
        _daily_row("2026-11-20", None, started=1),
        _daily_row("2026-11-21", "email", orders=1, sales=40.0),
        _daily_row("2026-11-21", "sms", started=1, orders=1, sales=30.0),
        _daily_row("2026-11-21", "web_chat", started=1, resolved=1, started_resolved=1, recommendations=1,
                   products=2),
        _daily_row("2026-11-21", None, orders=1, sales=5.0),
        _daily_row("2026-11-22", "email", orders=1, sales=99.9),
        _daily_row("2026-11-25", "email", orders=1, sales=10.0),
    ]


def test_skill_performance_in_utc(built: Warehouse) -> None:
    day_1, day_2 = ts("2026-11-20").date(), ts("2026-11-21").date()
    # (day, skill, invocations, conversations, resolutions by final skill, escalations by active skill)
    assert _skills(built) == [
        (day_1, "faq", 1, 1, 1, 0),              # cC's skill record and resolution
        (day_1, "order_tracking", 2, 1, 1, 0),   # cA: two records, resolved with final skill order_tracking
        (day_1, "returns", 1, 1, 0, 1),          # cB escalated while in returns
        (day_2, "faq", 1, 1, 0, 0),              # cD
    ]


def test_skill_performance_in_europe_rome(built_in_rome: Warehouse) -> None:
    day_1, day_2 = ts("2026-11-20").date(), ts("2026-11-21").date()
    assert _skills(built_in_rome) == [
        (day_1, "order_tracking", 2, 1, 1, 0),
        (day_1, "returns", 1, 1, 0, 1),
        (day_2, "faq", 2, 2, 1, 0),              # cC (00:30 in Rome) and cD
    ]


def test_an_unknown_reporting_timezone_stops_the_build(built: Warehouse, tmp_path: Path) -> None:
    warehouse = Warehouse(root=tmp_path)
    shutil.copy(built.db, warehouse.db)
    result = warehouse.dbt("compile", "--select", "agg_customer_agent_daily",
                           vars={"reporting_timezone": "Europe/Atlantis"}, check=False)
    assert result.returncode != 0
    assert "var reporting_timezone = 'Europe/Atlantis' is not a valid time zone" in result.stdout
    assert "pg_timezone_names()" in result.stdout


# ---------------------------------------------------------------- MetricFlow

def _metricflow_project(warehouse: Warehouse) -> Path:
    """A directory MetricFlow accepts as the dbt project root.

    `mf` always reads `<project dir>/target/semantic_manifest.json`, whatever the
    target path of the build, so it gets a directory holding the project file and
    the manifest this build wrote (and its own logs), never the repository's target/.
    """
    project = warehouse.root / "metricflow_project"
    (project / "target").mkdir(parents=True, exist_ok=True)
    (project / "dbt_project.yml").unlink(missing_ok=True)
    (project / "dbt_project.yml").symlink_to(PROJECT_ROOT / "dbt_project.yml")
    shutil.copy(warehouse.root / "target" / "semantic_manifest.json", project / "target" / "semantic_manifest.json")
    return project


def _mf_query(warehouse: Warehouse, metrics: list[str], group_by: list[str]) -> list[dict[str, str]]:
    project = _metricflow_project(warehouse)
    output = warehouse.root / "mf_result.csv"
    env = {**warehouse.env(), "DBT_PROFILES_DIR": str(PROJECT_ROOT / "profiles")}
    command = [str(MF_EXECUTABLE), "query", "--metrics", ",".join(metrics), "--group-by", ",".join(group_by),
               "--order", ",".join(group_by), "--csv", str(output)]
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    assert result.returncode == 0 and output.exists(), f"mf query failed:\n{result.stdout[-4000:]}\n{result.stderr}"
    with output.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _number(text: str) -> float | None:
    return float(text) if text != "" else None


def test_metricflow_answers_the_dashboard_questions_like_the_mart(built: Warehouse) -> None:
    metrics = ["conversations_started", "conversations_resolved_by_agent", "conversations_escalated",
               "resolution_rate", "recommendations", "attributed_orders", "ai_generated_sales", "average_order_value"]
    rows = _mf_query(built, metrics, ["metric_time__day", "channel"])
    from_metricflow = sorted(
        ((row["metric_time__day"][:10], row["channel"] or None, *(_number(row[metric]) for metric in metrics))
         for row in rows),
        key=lambda row: (row[0], row[1] or ""),
    )
    from_mart = sorted(
        ((str(row["reporting_date"]), row["channel"], *(None if row[metric] is None else float(row[metric])
                                                        for metric in metrics))
         for row in _daily(built)),
        key=lambda row: (row[0], row[1] or ""),
    )
    assert [row[:2] for row in from_metricflow] == [row[:2] for row in from_mart]
    for metricflow_row, mart_row in zip(from_metricflow, from_mart, strict=True):
        assert metricflow_row[2:] == pytest.approx(mart_row[2:]), metricflow_row[:2]


def test_metricflow_recomputes_rates_over_a_period(built: Warehouse) -> None:
    # All days together, per channel: web_chat: 2 of the 3 started conversations resolved by the agent; email:
    # 3 orders (o11, o6, o8) worth 40 + 99.9 + 10 → 149.9 / 3; no channel: cE started, unresolved → 0.
    rows = _mf_query(built, ["resolution_rate", "attributed_orders", "average_order_value"], ["channel"])
    by_channel = {row["channel"] or None: row for row in rows}
    assert _number(by_channel["web_chat"]["resolution_rate"]) == pytest.approx(2 / 3)
    assert _number(by_channel["email"]["attributed_orders"]) == 3
    assert _number(by_channel["email"]["average_order_value"]) == pytest.approx(149.9 / 3)
    assert _number(by_channel[None]["resolution_rate"]) == 0.0

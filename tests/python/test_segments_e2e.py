"""End to end: raw conversation logs, orders and profiles -> the four segment tables (spec §5).

Six identified shoppers and one anonymous conversation. Expected rows are derived by hand from the spec for two
evaluation times, with the default windows (recommendation lookback 30 days, escalation suppression 7 days,
follow-up delay 2 hours, follow-up window 7 days):

AS_OF_1 = 2026-11-20 12:00 UTC
    windows: escalations (11-13 12:00, 11-20 12:00]; recommendations (10-21 12:00, 11-20 12:00];
    follow-up due when 11-13 12:00 < t <= 11-20 10:00.
AS_OF_2 = 2026-11-27 12:00 UTC (one week later)
    windows: escalations (11-20 12:00, 11-27 12:00]; recommendations (10-28 12:00, 11-27 12:00];
    follow-up due when 11-20 12:00 < t <= 11-27 10:00.

ann    (profile_id; subscribed, her current version) a1 sms on 11-10: recommendation [P2, P1], escalation
       (knowledge gap, before both escalation windows); a2 web chat on 11-20: recommendation [P1, sku SKU-2]
       at 08:05; she orders at 11-20 12:30, after AS_OF_1 (not a purchase yet), before AS_OF_2 (a purchase).
       AS_OF_1: recommended-not-purchased (2 recommendations) and follow-up due at 10:05.
       AS_OF_2: out of both (bought after her latest recommendation).
bob    (profile_id; unsubscribed) b1 email on 11-19: recommendation [P3], escalation (shopper requested).
       Recommended-not-purchased at both times, never followed up (no consent); escalated at AS_OF_1 only.
cat    (identified by her current email, written messily) c1 whatsapp on 11-18: recommendation [P4]; an
       order without profile_id but with her email (any case) at 15:00 is her purchase: in no
       recommendation segment.
dan    (profile_id; times with a +01:00 offset) d1 web chat on 11-20 11:00: recommendation [P5] at
       11:00:30, an order at 09:00 the same day (before it: not a purchase). AS_OF_1: recommended, not due
       yet (less than 2 hours). AS_OF_2: recommended, but too old for the follow-up (not after 11-20 12:00).
eve    (profile_id) e1 whatsapp starts at 11-20 12:30, after AS_OF_1: recommendation [P7] at 12:31,
       escalation without reason at 12:40. Nowhere at AS_OF_1; at AS_OF_2 started, recommended, escalated
       (`unspecified`) and followed up (due at 14:31).
ghost  (a profile_id with no profile row) g1 sms on 11-19: recommendation [P6]. In started and
       recommended-not-purchased with null profile columns; never followed up (no consent).
x1     anonymous: a start, a recommendation and an escalation that never appear in any segment.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests.python import raw_records
from tests.python.warehouse import Warehouse, ts

# Several real dbt builds: `./test.sh -m "not slow"` skips this module.
pytestmark = pytest.mark.slow

AS_OF_1 = "2026-11-20T12:00:00Z"
AS_OF_2 = "2026-11-27T12:00:00Z"
RECEIVED = "2026-11-21T00:00:00Z"
SEGMENTS_SELECTOR = ("--select", "+path:models/segments", "--indirect-selection", "cautious")

PROFILE_COLUMNS = ["profile_id", "email", "phone_number", "email_consent", "sms_consent"]
SEGMENT_COLUMNS = {
    "seg_started_conversation": [*PROFILE_COLUMNS, "first_started_at", "last_started_at", "conversations_started",
                                 "channels"],
    "seg_recommended_not_purchased": [*PROFILE_COLUMNS, "last_recommended_at", "recommendations_received",
                                      "recommended_products"],
    "seg_escalated_recent": [*PROFILE_COLUMNS, "last_escalated_at", "escalations", "last_escalation_reason"],
    "seg_recommendation_followup": [*PROFILE_COLUMNS, "conversation_id", "recommended_at", "followup_due_at",
                                    "products"],
}

ANN = {"profile_id": "p_ann", "email": "ann@example.com", "phone_number": "+14155550101",
       "email_consent": "subscribed", "sms_consent": "subscribed"}
BOB = {"profile_id": "p_bob", "email": "bob@example.com", "phone_number": "+14155550102",
       "email_consent": "unsubscribed", "sms_consent": "never_subscribed"}
CAT = {"profile_id": "p_cat", "email": "cat@example.com", "phone_number": None,
       "email_consent": "subscribed", "sms_consent": "unsubscribed"}
DAN = {"profile_id": "p_dan", "email": "dan@example.com", "phone_number": None,
       "email_consent": "subscribed", "sms_consent": None}
EVE = {"profile_id": "p_eve", "email": "eve@example.com", "phone_number": None,
       "email_consent": "subscribed", "sms_consent": "subscribed"}
GHOST = {"profile_id": "p_ghost", "email": None, "phone_number": None, "email_consent": None, "sms_consent": None}


# ----------------------------------------------------------------------------------------------- raw zone


log = partial(raw_records.log, received_at=RECEIVED)
products = raw_records.products


def conversation_logs() -> list[dict[str, Any]]:
    return [
        # ann, a1: sms on 11-10
        log("a1-1", "a1", "2026-11-10T09:00:00Z", "message", "shopper", channel="SMS", text="Hi", profile_id="p_ann"),
        log("a1-2", "a1", "2026-11-10T09:05:00Z", "recommendation", "agent", products=products("P2", "P1"),
            format="list"),
        log("a1-3", "a1", "2026-11-10T09:10:00Z", "status", "agent", status="escalated",
            escalation_reason="Knowledge Gap"),
        # ann, a2: web chat on 11-20
        log("a2-1", "a2", "2026-11-20T08:00:00Z", "message", "shopper", channel="Web Chat", text="Boots?",
            profile_id="p_ann"),
        log("a2-2", "a2", "2026-11-20T08:05:00Z", "recommendation", "agent", products=products("P1", "sku:SKU-2"),
            format="card"),
        # bob, b1: email on 11-19
        log("b1-1", "b1", "2026-11-19T10:00:00Z", "message", "shopper", channel="Email", text="Help",
            profile_id="p_bob"),
        log("b1-2", "b1", "2026-11-19T10:05:00Z", "recommendation", "agent", products=products("P3"), format="card"),
        log("b1-3", "b1", "2026-11-19T10:10:00Z", "status", "agent", status="escalated",
            escalation_reason="shopper-requested"),
        # cat, c1: whatsapp on 11-18, identified by her current email
        log("c1-1", "c1", "2026-11-18T09:00:00Z", "message", "shopper", channel="WhatsApp", text="Hello",
            email="  CAT@Example.com "),
        log("c1-2", "c1", "2026-11-18T09:05:00Z", "recommendation", "agent", products=products("P4"), format="card"),
        # dan, d1: web chat on 11-20 at 11:00 UTC, written with a +01:00 offset
        log("d1-1", "d1", "2026-11-20T12:00:00+01:00", "message", "shopper", channel="webchat", text="Gift ideas?",
            profile_id="p_dan"),
        log("d1-2", "d1", "2026-11-20T12:00:30+01:00", "recommendation", "agent", products=products("P5"),
            format="list"),
        # eve, e1: whatsapp on 11-20, after AS_OF_1
        log("e1-1", "e1", "2026-11-20T12:30:00Z", "message", "shopper", channel="whatsapp", text="Size?",
            profile_id="p_eve"),
        log("e1-2", "e1", "2026-11-20T12:31:00Z", "recommendation", "agent", products=products("P7"), format="card"),
        log("e1-3", "e1", "2026-11-20T12:40:00Z", "status", "system", status="escalated"),
        # ghost, g1: sms on 11-19, a profile_id the marketing platform does not know
        log("g1-1", "g1", "2026-11-19T12:00:00Z", "message", "shopper", channel="sms", text="Hey",
            profile_id="p_ghost"),
        log("g1-2", "g1", "2026-11-19T12:01:00Z", "recommendation", "agent", products=products("P6"), format="card"),
        # x1: anonymous
        log("x1-1", "x1", "2026-11-20T09:00:00Z", "message", "shopper", channel="sms", text="Anyone?"),
        log("x1-2", "x1", "2026-11-20T09:05:00Z", "recommendation", "agent", products=products("P9"), format="card"),
        log("x1-3", "x1", "2026-11-20T09:10:00Z", "status", "agent", status="escalated",
            escalation_reason="sensitive_topic"),
    ]


def profiles() -> list[dict[str, Any]]:
    return [
        {"profile_id": "p_ann", "email": "ann@example.com", "phone_number": "+1 415 555 0101",
         "email_consent": "unsubscribed", "sms_consent": "subscribed", "updated_at": "2026-11-01T00:00:00Z"},
        {"profile_id": "p_ann", "email": " Ann@Example.com", "phone_number": "+1 415 555 0101",
         "email_consent": "subscribed", "sms_consent": "subscribed", "updated_at": "2026-11-15T00:00:00Z"},
        {"profile_id": "p_bob", "email": "bob@example.com", "phone_number": "(415) 555-0102",
         "email_consent": "unsubscribed", "sms_consent": "never_subscribed", "updated_at": "2026-11-01T00:00:00Z"},
        {"profile_id": "p_cat", "email": "cat@example.com", "email_consent": "subscribed",
         "sms_consent": "unsubscribed", "updated_at": "2026-11-01T00:00:00Z"},
        {"profile_id": "p_dan", "email": "dan@example.com", "email_consent": "subscribed",
         "updated_at": "2026-11-01T00:00:00Z"},
        {"profile_id": "p_eve", "email": "eve@example.com", "email_consent": "subscribed",
         "sms_consent": "subscribed", "updated_at": "2026-11-01T00:00:00Z"},
    ]


def orders() -> list[dict[str, Any]]:
    item = [{"product_id": "P1", "sku": "S-P1", "quantity": 1, "price": 10.0}]
    return [
        {"order_id": "o-ann", "placed_at": "2026-11-20T12:30:00Z", "profile_id": "p_ann", "currency": "EUR",
         "value": 10.0, "items": item},
        {"order_id": "o-cat", "placed_at": "2026-11-18T15:00:00Z", "email": "Cat@EXAMPLE.com ", "currency": "EUR",
         "value": 20.0, "items": item},
        {"order_id": "o-dan", "placed_at": "2026-11-20T09:00:00Z", "profile_id": "p_dan", "currency": "EUR",
         "value": 30.0, "items": item},
        {"order_id": "o-stranger", "placed_at": "2026-11-19T11:00:00Z", "email": "stranger@example.com",
         "currency": "EUR", "value": 40.0, "items": item},
    ]


def write_raw_zone(warehouse: Warehouse) -> None:
    warehouse.write("conversation_logs", "dt=2026-11-21/part-0001.jsonl", conversation_logs())
    warehouse.write("profiles", "dt=2026-11-21/profiles.jsonl", profiles())
    warehouse.write("orders", "dt=2026-11-21/orders.jsonl.gz", orders())


# ----------------------------------------------------------------------------------------------- expected


def row(profile: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**profile, **extra}


def started(profile: dict[str, Any], first: str, last: str, count: int, channels: list[str]) -> dict[str, Any]:
    return row(profile, first_started_at=ts(first), last_started_at=ts(last), conversations_started=count,
               channels=channels)


def recommended(profile: dict[str, Any], last: str, count: int, items: list[str]) -> dict[str, Any]:
    return row(profile, last_recommended_at=ts(last), recommendations_received=count, recommended_products=items)


def escalated(profile: dict[str, Any], last: str, count: int, reason: str) -> dict[str, Any]:
    return row(profile, last_escalated_at=ts(last), escalations=count, last_escalation_reason=reason)


def followup(profile: dict[str, Any], conversation_id: str, recommended_at: str, due_at: str,
             items: list[str]) -> dict[str, Any]:
    return row(profile, conversation_id=conversation_id, recommended_at=ts(recommended_at),
               followup_due_at=ts(due_at), products=items)


EXPECTED_AS_OF_1 = {
    "seg_started_conversation": [
        started(ANN, "2026-11-10T09:00:00Z", "2026-11-20T08:00:00Z", 2, ["sms", "web_chat"]),
        started(BOB, "2026-11-19T10:00:00Z", "2026-11-19T10:00:00Z", 1, ["email"]),
        started(CAT, "2026-11-18T09:00:00Z", "2026-11-18T09:00:00Z", 1, ["whatsapp"]),
        started(DAN, "2026-11-20T11:00:00Z", "2026-11-20T11:00:00Z", 1, ["web_chat"]),
        started(GHOST, "2026-11-19T12:00:00Z", "2026-11-19T12:00:00Z", 1, ["sms"]),
    ],
    "seg_recommended_not_purchased": [
        recommended(ANN, "2026-11-20T08:05:00Z", 2, ["P1", "P2", "SKU-2"]),
        recommended(BOB, "2026-11-19T10:05:00Z", 1, ["P3"]),
        recommended(DAN, "2026-11-20T11:00:30Z", 1, ["P5"]),
        recommended(GHOST, "2026-11-19T12:01:00Z", 1, ["P6"]),
    ],
    "seg_escalated_recent": [
        escalated(BOB, "2026-11-19T10:10:00Z", 1, "shopper_requested"),
    ],
    "seg_recommendation_followup": [
        followup(ANN, "a2", "2026-11-20T08:05:00Z", "2026-11-20T10:05:00Z", ["P1", "SKU-2"]),
    ],
}

EXPECTED_AS_OF_2 = {
    "seg_started_conversation": [
        *EXPECTED_AS_OF_1["seg_started_conversation"][:4],
        started(EVE, "2026-11-20T12:30:00Z", "2026-11-20T12:30:00Z", 1, ["whatsapp"]),
        EXPECTED_AS_OF_1["seg_started_conversation"][4],
    ],
    "seg_recommended_not_purchased": [
        recommended(BOB, "2026-11-19T10:05:00Z", 1, ["P3"]),
        recommended(DAN, "2026-11-20T11:00:30Z", 1, ["P5"]),
        recommended(EVE, "2026-11-20T12:31:00Z", 1, ["P7"]),
        recommended(GHOST, "2026-11-19T12:01:00Z", 1, ["P6"]),
    ],
    "seg_escalated_recent": [
        escalated(EVE, "2026-11-20T12:40:00Z", 1, "unspecified"),
    ],
    "seg_recommendation_followup": [
        followup(EVE, "e1", "2026-11-20T12:31:00Z", "2026-11-20T14:31:00Z", ["P7"]),
    ],
}


# ----------------------------------------------------------------------------------------------- builds


def segment_rows(warehouse: Warehouse) -> dict[str, list[dict[str, Any]]]:
    return {
        segment: warehouse.rows(f"segments.{segment}", columns, order_by="profile_id")
        for segment, columns in SEGMENT_COLUMNS.items()
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Warehouse, dict[str, dict[str, list]]]]:
    """One raw zone, built as of AS_OF_1 then as of AS_OF_2; the segments of each build."""
    warehouse = Warehouse(root=tmp_path_factory.mktemp("segments"))
    write_raw_zone(warehouse)
    results: dict[str, dict[str, list]] = {}
    for as_of in (AS_OF_1, AS_OF_2):
        warehouse.build(*SEGMENTS_SELECTOR, vars={"as_of": as_of})
        results[as_of] = segment_rows(warehouse)
    yield warehouse, results


@pytest.mark.parametrize("segment", list(SEGMENT_COLUMNS))
def test_segments_as_of_first_time(built: tuple[Warehouse, dict], segment: str) -> None:
    _, results = built
    assert results[AS_OF_1][segment] == EXPECTED_AS_OF_1[segment]


@pytest.mark.parametrize("segment", list(SEGMENT_COLUMNS))
def test_segments_as_of_a_week_later(built: tuple[Warehouse, dict], segment: str) -> None:
    _, results = built
    assert results[AS_OF_2][segment] == EXPECTED_AS_OF_2[segment]


def test_membership_changes_between_the_two_times(built: tuple[Warehouse, dict]) -> None:
    _, results = built

    def members(as_of: str, segment: str) -> set[str]:
        return {member["profile_id"] for member in results[as_of][segment]}

    assert members(AS_OF_1, "seg_escalated_recent") == {"p_bob"}
    assert members(AS_OF_2, "seg_escalated_recent") == {"p_eve"}
    assert members(AS_OF_1, "seg_recommendation_followup") == {"p_ann"}
    assert members(AS_OF_2, "seg_recommendation_followup") == {"p_eve"}
    assert "p_ann" in members(AS_OF_1, "seg_recommended_not_purchased")
    assert "p_ann" not in members(AS_OF_2, "seg_recommended_not_purchased")


def test_anonymous_conversations_never_appear(built: tuple[Warehouse, dict]) -> None:
    _, results = built
    for per_segment in results.values():
        for rows in per_segment.values():
            assert all(member["profile_id"] is not None for member in rows)
            assert all("P9" not in member.get("products", member.get("recommended_products", [])) for member in rows)


def test_orders_are_attributed_by_profile_id_else_current_email(built: tuple[Warehouse, dict]) -> None:
    warehouse, _ = built
    assert warehouse.rows("intermediate.int_orders_matched_to_profiles",
                          ["order_id", "profile_id", "matched_by"], order_by="order_id") == [
        {"order_id": "o-ann", "profile_id": "p_ann", "matched_by": "profile_id"},
        {"order_id": "o-cat", "profile_id": "p_cat", "matched_by": "email"},
        {"order_id": "o-dan", "profile_id": "p_dan", "matched_by": "profile_id"},
        {"order_id": "o-stranger", "profile_id": None, "matched_by": None},
    ]


def test_segment_columns_have_the_contract_types(built: tuple[Warehouse, dict]) -> None:
    warehouse, _ = built
    types = dict(
        ((table, column), data_type)
        for table, column, data_type in warehouse.query(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'segments'"
        )
    )
    for segment, columns in SEGMENT_COLUMNS.items():
        assert [column for (table, column) in types if table == segment] == [*columns, "evaluated_as_of"]
        assert types[(segment, "evaluated_as_of")] == "TIMESTAMP"
    assert types[("seg_started_conversation", "channels")] == "VARCHAR[]"
    assert types[("seg_started_conversation", "conversations_started")] == "INTEGER"
    assert types[("seg_recommended_not_purchased", "recommended_products")] == "VARCHAR[]"
    assert types[("seg_escalated_recent", "last_escalated_at")] == "TIMESTAMP"
    assert types[("seg_recommendation_followup", "followup_due_at")] == "TIMESTAMP"
    evaluated = warehouse.query(" union ".join(
        f"select distinct evaluated_as_of from segments.{segment}" for segment in SEGMENT_COLUMNS))
    assert evaluated == [(ts(AS_OF_2),)], "every segment records the as_of of its build (the last one)"


# ----------------------------------------------------------------------------------------------- vars


def test_as_of_defaults_to_the_time_of_the_build(warehouse: Warehouse) -> None:
    """Without as_of, segments are evaluated at the start of the build (the loaded_at of its lines): a conversation
    of 2000 counts, one of 2099 (plausible: the suite anchors the window in 2100) not yet, on any clock between."""
    warehouse.write("conversation_logs", "times.jsonl", [
        log("n1-1", "n1", "2000-06-01T09:00:00Z", "message", "shopper", channel="sms", text="Hi", profile_id="p_past"),
        log("n2-1", "n2", "2099-06-01T09:00:00Z", "message", "shopper", channel="sms", text="Hi", profile_id="p_later"),
    ])
    warehouse.write("profiles", "profiles.jsonl", [
        {"profile_id": "p_past", "email": "past@example.com", "email_consent": "subscribed"},
        {"profile_id": "p_later", "email": "later@example.com", "email_consent": "subscribed"},
    ])
    warehouse.build(*SEGMENTS_SELECTOR)
    assert warehouse.rows("segments.seg_started_conversation", ["profile_id"]) == [{"profile_id": "p_past"}]
    (evaluated,), = warehouse.query("select distinct evaluated_as_of from segments.seg_started_conversation")
    assert warehouse.query("select max(loaded_at) from staging.base_customer_agent__log_lines") == [(evaluated,)]


@pytest.mark.parametrize(
    ("bad_vars", "message"),
    [
        ({"as_of": "yesterday"},
         "var as_of must be an ISO-8601 timestamp such as 2026-11-20T12:00:00Z"),
        ({"as_of": "2026-02-30T12:00:00Z"},
         "var as_of must be an ISO-8601 timestamp such as 2026-11-20T12:00:00Z"),
        ({"escalation_suppression_days": -7},
         "var escalation_suppression_days must be a non-negative number of days"),
        ({"followup_delay_hours": "two"},
         "var followup_delay_hours must be a non-negative number of hours"),
    ],
)
def test_bad_vars_stop_the_build_with_a_message_naming_the_var(tmp_path: Path, bad_vars: dict[str, Any],
                                                                message: str) -> None:
    warehouse = Warehouse(root=tmp_path)
    write_raw_zone(warehouse)
    result = warehouse.build(*SEGMENTS_SELECTOR, vars=bad_vars, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert message in output
    assert f"got '{next(iter(bad_vars.values()))}'" in output
    assert not warehouse.db.exists() or not warehouse.query(
        "select * from information_schema.tables where table_schema = 'segments'"
    )

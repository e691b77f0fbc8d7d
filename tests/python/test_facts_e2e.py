"""End to end: raw conversation logs and profiles -> the four Customer Agent facts, the items bridge,
dim_conversations and the activity feed (spec §3, §4).

Nine conversations cover every rule of §4 with messy raw values (channel spellings, offsets and
epoch-millisecond timestamps, emails and phones in any format, blank strings, a duplicate delivery).
Two builds: the first on batch A, the second (incremental) after batch B adds late records of an old
conversation and a new conversation. Expected rows are derived by hand from the spec, per conversation:

c1  web chat; initial skill before the shopper writes; agent resolution with final skill and tags at or
    before it, resolution_seconds with milliseconds; profile_id sent after every event.
c2  the shopper never writes (no start); agent resolution without a start (resolution_seconds null);
    then an escalation with no reason (`unspecified`); recommendations with no products are no events;
    identified by the current phone of a profile.
c3  a repeated status is not a change; re-open then resolve gives a second resolution; identified by a
    phone without country prefix that appears only later in the conversation.
c4  resolved by a human: no event, outcome resolved_by_human; the first shopper message has no channel,
    so the conversation's channel is the earliest record's; anonymous.
c5  the first shopper message's channel (an unknown label: `other`) wins over an earlier agent message's;
    two escalations (a repeated `escalated` is not a change) with normalised reasons and the skill active
    at each; an agent resolution after escalation is not counted.
c6  two shopper messages at the same instant (first by log_id wins); products by id else SKU in the order
    sent; a duplicate delivery; an email that only an old version of a profile had does not identify.
c7  identified by the current email (sent late, messy case); batch B adds a record that occurred before
    the start carrying a profile_id, which then wins for every event.
c8  blank channel and profile_id are missing; resolved by a missing actor: outcome resolved_by_human.
c9  batch B only: escalated by the agent right after the start.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

import pytest

from tests.python import raw_records
from tests.python.warehouse import Warehouse, ts

# Several real dbt builds (an incremental pass): `./test.sh -m "not slow"` skips this module.
pytestmark = pytest.mark.slow

RECEIVED_A = "2026-11-20T20:00:00Z"
RECEIVED_B = "2026-11-21T09:00:00Z"

STARTED = "Started Conversation with Customer Agent"
RESOLVED = "Conversation with Customer Agent Resolved"
ESCALATED = "Conversation with Customer Agent Escalated"
RECOMMENDATION = "Received Product Recommendation from Customer Agent"
METRIC_NAMES_IT = {
    STARTED: "Conversazione iniziata con Customer Agent",
    RESOLVED: "Conversazione con Customer Agent risolta",
    ESCALATED: "Intensificata la conversazione con Customer Agent",
    RECOMMENDATION: "Ha ricevuto consigli sui prodotti da Customer Agent",
}


log = partial(raw_records.log, received_at=RECEIVED_A)


def logs_part_1() -> list[dict[str, Any]]:
    return [
        # c1
        log("c1-01", "c1", "2026-11-20T10:00:00Z", "skill", "agent", skill="Order Tracking"),
        log("c1-02", "c1", "2026-11-20T10:00:05Z", "message", "shopper", channel="Web Chat",
            text="Where is my parcel?"),
        log("c1-03", "c1", 1795168810000, "message", "agent", channel="webchat", text="Let me check."),
        log("c1-04", "c1", "2026-11-20T10:01:00Z", "tag", "system", tags=["Order Status", "VIP"]),
        log("c1-05", "c1", "2026-11-20T10:02:00Z", "recommendation", "agent", format="Card",
            products=[{"product_id": "P-100", "sku": "SKU-100"}, {"sku": "SKU-200"}]),
        log("c1-06", "c1", "2026-11-20T10:03:00Z", "tag", "system", tags=["vip", "Delivery-Issue"]),
        log("c1-07", "c1", "2026-11-20T11:04:00.500+01:00", "status", "agent", status="Resolved"),
        log("c1-08", "c1", "2026-11-20T10:05:00Z", "identify", "system", profile_id="p_carl"),
        log("c1-09", "c1", "2026-11-20T10:06:00Z", "tag", "system", tags=["after resolution"]),
        # c2
        log("c2-01", "c2", "2026-11-20T11:00:00Z", "message", "agent", channel="SMS", text="Hi, can I help?",
            phone_number="0044 20 7946 0001"),
        log("c2-02", "c2", "2026-11-20T11:01:00Z", "recommendation", "agent", products=[], format="list"),
        log("c2-03", "c2", "2026-11-20T11:02:00Z", "recommendation", "agent",
            products=[{"product_id": " ", "sku": ""}], format="list"),
        log("c2-04", "c2", "2026-11-20T11:02:30Z", "status", "agent", status="resolved"),
        log("c2-05", "c2", "2026-11-20T11:03:00Z", "status", "system", status="escalated", escalation_reason="  "),
        # c3
        log("c3-01", "c3", "2026-11-20T12:00:00+01:00", "message", "shopper", channel="WhatsApp",
            text="Do you ship to Canada?"),
        log("c3-02", "c3", "2026-11-20T11:00:30Z", "skill", "agent", skill="FAQ"),
        log("c3-03", "c3", "2026-11-20T11:01:00Z", "status", "agent", status="open"),
        log("c3-04", "c3", "2026-11-20T11:02:00Z", "status", "agent", status="resolved"),
        log("c3-05", "c3", "2026-11-20T11:03:00Z", "status", "agent", status="RESOLVED "),
        log("c3-06", "c3", "2026-11-20T11:04:00Z", "message", "shopper", channel="whatsapp", text="One more question",
            phone_number="415-555-0134"),
        log("c3-07", "c3", "2026-11-20T11:04:30Z", "status", "shopper", status="open"),
        log("c3-08", "c3", "2026-11-20T11:05:00Z", "skill", "agent", skill="returns"),
        log("c3-09", "c3", "2026-11-20T11:05:00Z", "tag", "system", tags=["Returns Question"]),
        log("c3-10", "c3", "2026-11-20T11:06:00Z", "status", "agent", status="resolved"),
        # c4
        log("c4-01", "c4", "2026-11-20T13:00:00Z", "message", "agent", channel="e-mail", text="Hello"),
        log("c4-02", "c4", "2026-11-20T13:01:00Z", "message", "shopper", text="I need help"),
        log("c4-03", "c4", "2026-11-20T13:02:00Z", "message", "shopper", channel="SMS", text="Anyone?"),
        log("c4-04", "c4", "2026-11-20T13:03:00Z", "message", "human", channel="email", text="I'm Sam"),
        log("c4-05", "c4", "2026-11-20T13:04:00Z", "status", "human", status="resolved"),
    ]


def logs_part_2() -> list[dict[str, Any]]:
    return [
        # c5
        log("c5-00", "c5", "2026-11-20T13:59:00Z", "message", "agent", channel="SMS", text="Welcome back"),
        log("c5-01", "c5", "2026-11-20T14:00:00Z", "message", "shopper", channel="Instagram", text="I want a refund",
            profile_id="p_anna"),
        log("c5-02", "c5", "2026-11-20T14:01:00Z", "skill", "agent", skill="Returns"),
        log("c5-03", "c5", "2026-11-20T14:02:00Z", "tag", "system", tags=["Refund"]),
        log("c5-04", "c5", "2026-11-20T14:03:00Z", "status", "agent", status="escalated",
            escalation_reason=" Shopper Requested "),
        log("c5-05", "c5", "2026-11-20T14:04:00Z", "skill", "agent", skill="faq"),
        log("c5-06", "c5", "2026-11-20T14:05:00Z", "status", "human", status="Escalated"),
        log("c5-07", "c5", "2026-11-20T14:06:00Z", "status", "human", status="open"),
        log("c5-08", "c5", "2026-11-20T14:07:00Z", "status", "human", status="escalated",
            escalation_reason="knowledge-gap"),
        log("c5-09", "c5", "2026-11-20T14:08:00Z", "status", "human", status="open"),
        log("c5-10", "c5", "2026-11-20T14:09:00Z", "status", "agent", status="resolved"),
        # c6
        log("c6-b", "c6", "2026-11-20T15:00:00Z", "message", "shopper", channel="whatsapp", text="second by log_id"),
        log("c6-a", "c6", "2026-11-20T16:00:00+01:00", "message", "shopper", channel="SMS", text="first by log_id",
            email="Old.Only@Example.com"),
        log("c6-c", "c6", 1795186860000, "recommendation", "agent", format="LIST", received_at="2026-11-20T15:01:01Z",
            products=[{"sku": "SKU-9"}, {"product_id": "P-3", "sku": "SKU-3"}, {"product_id": "P-1"}]),
        log("c6-d", "c6", "2026-11-20T15:02:00Z", "recommendation", "agent", products=[{"product_id": "P-7"}]),
        # c7
        log("c7-01", "c7", "2026-11-20T16:00:00Z", "message", "shopper", channel="WEB-CHAT", text="Hi"),
        log("c7-02", "c7", "2026-11-20T16:01:00Z", "skill", "agent", skill="product_recommendations"),
        log("c7-03", "c7", "2026-11-20T16:02:00Z", "recommendation", "agent", format="card",
            products=[{"product_id": "P-5"}]),
        log("c7-04", "c7", "2026-11-20T16:03:00Z", "identify", "system", email=" ANNA@example.com"),
        # c8
        log("c8-01", "c8", "2026-11-20T17:00:00Z", "message", "shopper", channel="  ", text="Closing?",
            profile_id="  "),
        log("c8-02", "c8", "2026-11-20T17:01:00Z", "message", "agent", channel="Email", text="Sure"),
        log("c8-03", "c8", "2026-11-20T17:02:00Z", "status", status="resolved"),
        log("c8-04", "c8", "2026-11-20T17:03:00Z", "status", "system", status="closed"),
        # a second delivery of c6-c, received later: the same record
        log("c6-c", "c6", 1795186860000, "recommendation", "agent", format="LIST",
            products=[{"sku": "SKU-9"}, {"product_id": "P-3", "sku": "SKU-3"}, {"product_id": "P-1"}]),
    ]


def logs_batch_b() -> list[dict[str, Any]]:
    return [
        log("c7-00", "c7", "2026-11-20T15:59:00Z", "identify", "system", received_at=RECEIVED_B, profile_id="p_ben"),
        log("c9-01", "c9", "2026-11-20T18:00:00Z", "message", "shopper", received_at=RECEIVED_B, channel="sms",
            text="Status?"),
        log("c9-02", "c9", "2026-11-20T18:01:00Z", "status", "agent", received_at=RECEIVED_B, status="escalated",
            escalation_reason="Sensitive Topic"),
    ]


def profiles() -> list[dict[str, Any]]:
    return [
        {"profile_id": "p_anna", "email": "anna.old@example.com", "updated_at": "2026-11-01T00:00:00Z"},
        {"profile_id": "p_anna", "email": "Anna@Example.com ", "phone_number": "+44 20 7946 0001",
         "email_consent": "subscribed", "updated_at": "2026-11-10T00:00:00Z"},
        {"profile_id": "p_ben", "email": "ben@example.com", "phone_number": "(415) 555-0134",
         "updated_at": "2026-11-05T00:00:00Z"},
        {"profile_id": "p_carl", "email": "carl@example.com", "updated_at": "2026-11-05T00:00:00Z"},
        {"profile_id": "p_old", "email": "old.only@example.com", "updated_at": "2026-11-01T00:00:00Z"},
        {"profile_id": "p_old", "email": "new.only@example.com", "updated_at": "2026-11-12T00:00:00Z"},
    ]


STARTED_COLUMNS = ["conversation_id", "started_at", "profile_id", "channel", "initial_skill", "first_message"]
EXPECTED_STARTED = [
    ("c1", "2026-11-20T10:00:05Z", "p_carl", "web_chat", "order_tracking", "Where is my parcel?"),
    ("c3", "2026-11-20T11:00:00Z", "p_ben", "whatsapp", "faq", "Do you ship to Canada?"),
    ("c4", "2026-11-20T13:01:00Z", None, "email", None, "I need help"),
    ("c5", "2026-11-20T14:00:00Z", "p_anna", "other", "returns", "I want a refund"),
    ("c6", "2026-11-20T15:00:00Z", None, "sms", None, "first by log_id"),
    ("c7", "2026-11-20T16:00:00Z", "p_ben", "web_chat", "product_recommendations", "Hi"),
    ("c8", "2026-11-20T17:00:00Z", None, "email", None, "Closing?"),
    ("c9", "2026-11-20T18:00:00Z", None, "sms", None, "Status?"),
]

RESOLVED_COLUMNS = ["conversation_id", "resolved_at", "profile_id", "channel", "final_skill", "tags",
                    "resolution_seconds"]
EXPECTED_RESOLVED = [
    ("c1", "2026-11-20T10:04:00.500Z", "p_carl", "web_chat", "order_tracking",
     ["delivery_issue", "order_status", "vip"], 235.5),
    ("c2", "2026-11-20T11:02:30Z", "p_anna", "sms", None, [], None),
    ("c3", "2026-11-20T11:02:00Z", "p_ben", "whatsapp", "faq", [], 120.0),
    ("c3", "2026-11-20T11:06:00Z", "p_ben", "whatsapp", "returns", ["returns_question"], 360.0),
]

ESCALATED_COLUMNS = ["conversation_id", "escalated_at", "profile_id", "channel", "escalation_reason", "skill", "tags"]
EXPECTED_ESCALATED = [
    ("c2", "2026-11-20T11:03:00Z", "p_anna", "sms", "unspecified", None, []),
    ("c5", "2026-11-20T14:03:00Z", "p_anna", "other", "shopper_requested", "returns", ["refund"]),
    ("c5", "2026-11-20T14:07:00Z", "p_anna", "other", "knowledge_gap", "faq", ["refund"]),
    ("c9", "2026-11-20T18:01:00Z", None, "sms", "sensitive_topic", None, []),
]

RECOMMENDATION_COLUMNS = ["conversation_id", "recommended_at", "profile_id", "channel", "products", "product_count",
                          "format"]
EXPECTED_RECOMMENDATIONS = [
    ("c1", "2026-11-20T10:02:00Z", "p_carl", "web_chat", ["P-100", "SKU-200"], 2, "card"),
    ("c6", "2026-11-20T15:01:00Z", None, "sms", ["SKU-9", "P-3", "P-1"], 3, "list"),
    ("c6", "2026-11-20T15:02:00Z", None, "sms", ["P-7"], 1, None),
    ("c7", "2026-11-20T16:02:00Z", "p_ben", "web_chat", ["P-5"], 1, "card"),
]

ITEM_COLUMNS = ["conversation_id", "profile_id", "recommended_at", "position", "product", "product_id", "sku"]
EXPECTED_ITEMS = [
    ("c1", "p_carl", "2026-11-20T10:02:00Z", 1, "P-100", "P-100", "SKU-100"),
    ("c1", "p_carl", "2026-11-20T10:02:00Z", 2, "SKU-200", None, "SKU-200"),
    ("c6", None, "2026-11-20T15:01:00Z", 1, "SKU-9", None, "SKU-9"),
    ("c6", None, "2026-11-20T15:01:00Z", 2, "P-3", "P-3", "SKU-3"),
    ("c6", None, "2026-11-20T15:01:00Z", 3, "P-1", "P-1", None),
    ("c6", None, "2026-11-20T15:02:00Z", 1, "P-7", "P-7", None),
    ("c7", "p_ben", "2026-11-20T16:02:00Z", 1, "P-5", "P-5", None),
]

DIM_COLUMNS = ["conversation_id", "profile_id", "channel", "started_at", "first_activity_at", "last_activity_at",
               "message_count", "shopper_message_count", "agent_message_count", "skills", "tags",
               "recommendation_count", "escalation_count", "agent_resolution_count", "outcome"]
EXPECTED_DIM = [
    ("c1", "p_carl", "web_chat", "2026-11-20T10:00:05Z", "2026-11-20T10:00:00Z", "2026-11-20T10:06:00Z", 2, 1, 1,
     ["order_tracking"], ["after_resolution", "delivery_issue", "order_status", "vip"], 1, 0, 1, "resolved_by_agent"),
    ("c2", "p_anna", "sms", None, "2026-11-20T11:00:00Z", "2026-11-20T11:03:00Z", 1, 0, 1,
     [], [], 0, 1, 1, "escalated"),
    ("c3", "p_ben", "whatsapp", "2026-11-20T11:00:00Z", "2026-11-20T11:00:00Z", "2026-11-20T11:06:00Z", 2, 2, 0,
     ["faq", "returns"], ["returns_question"], 0, 0, 2, "resolved_by_agent"),
    ("c4", None, "email", "2026-11-20T13:01:00Z", "2026-11-20T13:00:00Z", "2026-11-20T13:04:00Z", 4, 2, 1,
     [], [], 0, 0, 0, "resolved_by_human"),
    ("c5", "p_anna", "other", "2026-11-20T14:00:00Z", "2026-11-20T13:59:00Z", "2026-11-20T14:09:00Z", 2, 1, 1,
     ["faq", "returns"], ["refund"], 0, 2, 0, "escalated"),
    ("c6", None, "sms", "2026-11-20T15:00:00Z", "2026-11-20T15:00:00Z", "2026-11-20T15:02:00Z", 2, 2, 0,
     [], [], 2, 0, 0, "unresolved"),
    ("c7", "p_ben", "web_chat", "2026-11-20T16:00:00Z", "2026-11-20T15:59:00Z", "2026-11-20T16:03:00Z", 1, 1, 0,
     ["product_recommendations"], [], 1, 0, 0, "unresolved"),
    ("c8", None, "email", "2026-11-20T17:00:00Z", "2026-11-20T17:00:00Z", "2026-11-20T17:03:00Z", 2, 1, 1,
     [], [], 0, 0, 0, "resolved_by_human"),
    ("c9", None, "sms", "2026-11-20T18:00:00Z", "2026-11-20T18:00:00Z", "2026-11-20T18:01:00Z", 1, 1, 0,
     [], [], 0, 1, 0, "escalated"),
]

EXPECTED_RELATIONS = [
    ("marts.fct_conversation_started", STARTED_COLUMNS, "conversation_id", EXPECTED_STARTED),
    ("marts.fct_conversation_resolved", RESOLVED_COLUMNS, "conversation_id, resolved_at", EXPECTED_RESOLVED),
    ("marts.fct_conversation_escalated", ESCALATED_COLUMNS, "conversation_id, escalated_at", EXPECTED_ESCALATED),
    ("marts.fct_product_recommendation_received", RECOMMENDATION_COLUMNS, "conversation_id, recommended_at",
     EXPECTED_RECOMMENDATIONS),
    ("marts.fct_product_recommendation_items", ITEM_COLUMNS, "conversation_id, recommended_at, position",
     EXPECTED_ITEMS),
    ("marts.dim_conversations", DIM_COLUMNS, "conversation_id", EXPECTED_DIM),
]

FEED_COLUMNS = ["metric_name", "metric_name_it", "event_at", "conversation_id", "profile_id", "channel",
                "initial_skill", "first_message", "final_skill", "skill", "escalation_reason", "tags",
                "resolution_seconds", "products", "product_count", "format"]
FEED_ORDER = "conversation_id, event_at, metric_name"

FACT_RELATIONS = {
    STARTED: ("marts.fct_conversation_started", "started_at"),
    RESOLVED: ("marts.fct_conversation_resolved", "resolved_at"),
    ESCALATED: ("marts.fct_conversation_escalated", "escalated_at"),
    RECOMMENDATION: ("marts.fct_product_recommendation_received", "recommended_at"),
}


def as_rows(columns: list[str], rows: Iterable[tuple]) -> list[dict[str, Any]]:
    """Expected rows as dicts; ISO strings of *_at columns become timestamps as DuckDB returns them."""
    result = []
    for row in rows:
        record = dict(zip(columns, row, strict=True))
        for column, value in record.items():
            if column.endswith("_at") and value is not None:
                record[column] = ts(value)
        result.append(record)
    return result


def expected_feed() -> list[dict[str, Any]]:
    """The activity feed derived from the expected facts: one row per event, other metrics' properties null."""
    feed = []
    sources = [
        (STARTED, STARTED_COLUMNS, EXPECTED_STARTED, "started_at"),
        (RESOLVED, RESOLVED_COLUMNS, EXPECTED_RESOLVED, "resolved_at"),
        (ESCALATED, ESCALATED_COLUMNS, EXPECTED_ESCALATED, "escalated_at"),
        (RECOMMENDATION, RECOMMENDATION_COLUMNS, EXPECTED_RECOMMENDATIONS, "recommended_at"),
    ]
    for metric_name, columns, rows, time_column in sources:
        for fact_row in as_rows(columns, rows):
            row = dict.fromkeys(FEED_COLUMNS)
            row.update({key: value for key, value in fact_row.items() if key != time_column})
            row.update(metric_name=metric_name, metric_name_it=METRIC_NAMES_IT[metric_name],
                       event_at=fact_row[time_column])
            feed.append(row)
    return sorted(feed, key=lambda row: (row["conversation_id"], row["event_at"], row["metric_name"]))


def event_ids_by_event(warehouse: Warehouse) -> dict[tuple, str]:
    """event_id of every feed row, keyed by (metric_name, conversation_id, event_at)."""
    rows = warehouse.query(
        "select metric_name, conversation_id, event_at, event_id from marts.fct_customer_agent_events"
    )
    ids = {(metric, conversation, event_at): event_id for metric, conversation, event_at, event_id in rows}
    assert len(ids) == len(rows), "two events of one metric at the same instant in one conversation"
    return ids


def build_customer_agent_marts(warehouse: Warehouse) -> None:
    """These marts and their parents only, with their own data tests (not those of downstream models)."""
    warehouse.build("--select", "+path:models/marts/customer_agent", "--indirect-selection", "cautious")


def assert_event_ids_consistent(warehouse: Warehouse) -> None:
    """event_id is non-null, unique across the four facts, the same in each fact and the feed and in the bridge."""
    feed_ids = [row[0] for row in warehouse.query("select event_id from marts.fct_customer_agent_events")]
    assert all(feed_ids) and len(set(feed_ids)) == len(feed_ids)
    fact_ids = []
    for metric_name, (relation, time_column) in FACT_RELATIONS.items():
        fact_rows = warehouse.query(f"select event_id, conversation_id, {time_column} from {relation}")
        fact_ids += [event_id for event_id, _, _ in fact_rows]
        feed_rows = warehouse.query(
            "select event_id, conversation_id, event_at from marts.fct_customer_agent_events where metric_name = ?",
            [metric_name],
        )
        assert sorted(fact_rows) == sorted(feed_rows), metric_name
    assert sorted(fact_ids) == sorted(feed_ids)
    orphans = warehouse.query(
        "select items.event_id from marts.fct_product_recommendation_items as items "
        "left join marts.fct_product_recommendation_received as facts "
        "on items.event_id = facts.event_id and items.recommended_at = facts.recommended_at "
        "and items.conversation_id = facts.conversation_id where facts.event_id is null"
    )
    assert orphans == []


def test_facts_dimension_and_feed_end_to_end(warehouse: Warehouse) -> None:
    warehouse.write("conversation_logs", "dt=2026-11-20/part-0001.jsonl", logs_part_1())
    warehouse.write("conversation_logs", "dt=2026-11-20/part-0002.jsonl.gz", logs_part_2())
    warehouse.write("profiles", "profiles.jsonl", profiles())
    build_customer_agent_marts(warehouse)

    # Batch A: c7 is identified by its current email (sent after the recommendation), c9 does not exist yet.
    first_ids = event_ids_by_event(warehouse)
    assert warehouse.query(
        "select distinct profile_id from marts.fct_customer_agent_events where conversation_id = 'c7'"
    ) == [("p_anna",)]
    assert {conversation for _, conversation, _ in first_ids} == {"c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"}
    assert_event_ids_consistent(warehouse)

    # Batch B: late records of c7 and a new conversation c9, built incrementally.
    warehouse.write("conversation_logs", "dt=2026-11-21/part-0001.jsonl", logs_batch_b())
    build_customer_agent_marts(warehouse)

    for relation, columns, order_by, expected in EXPECTED_RELATIONS:
        assert warehouse.rows(relation, columns, order_by) == as_rows(columns, expected), relation
    assert warehouse.rows("marts.fct_customer_agent_events", FEED_COLUMNS, FEED_ORDER) == expected_feed()

    # The same events keep the same ids across builds; ids stay unique and consistent between relations.
    second_ids = event_ids_by_event(warehouse)
    assert {key: second_ids.get(key) for key in first_ids} == first_ids
    assert_event_ids_consistent(warehouse)

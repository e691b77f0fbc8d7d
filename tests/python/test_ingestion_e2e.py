"""Issue #2 end to end: raw zone → staging → audit on a real DuckDB file, compared row by row with hand-derived rows."""

from __future__ import annotations

import pytest

from tests.python.warehouse import Warehouse, ts

# Several real dbt builds: `./test.sh -m "not slow"` skips this module.
pytestmark = pytest.mark.slow

LOGS = "conversation_logs"

VALID_FIRST = {
    "log_id": "l1", "conversation_id": "c1", "occurred_at": "2026-11-20T10:00:00.250+01:00",
    "received_at": "2026-11-20T09:00:05Z", "channel": "Web Chat", "type": "message", "actor": "Shopper",
    "text": "Where is my order?", "email": "  Jane.Doe@Example.COM ",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    warehouse = Warehouse(root=tmp_path_factory.mktemp("ingestion"))
    write_raw_zone(warehouse)
    warehouse.build()
    return warehouse


def write_raw_zone(warehouse: Warehouse) -> None:
    """The scenario's raw files (also replayed on PostgreSQL: test_postgres_scenarios.py)."""
    warehouse.write(LOGS, "dt=2026-11-20/part-0001.jsonl", [
        VALID_FIRST,                                                                  # 1 staged
        {"log_id": "l2", "conversation_id": "c1", "occurred_at": 1795165260000,     # 2 epoch ms = 09:01:00Z
         "received_at": "2026-11-20T09:01:01Z", "channel": "WEB-CHAT", "type": "skill", "actor": "agent",
         "skill": " Order-Tracking "},
        "this is not json",                                                           # 3 invalid_json
        "",                                                                           # 4 empty line
        {"log_id": "l3", "occurred_at": "2026-11-20T10:00:00Z", "type": "message"},   # 5 missing_conversation_id
        {"conversation_id": "c2", "occurred_at": "2026-11-20T10:00:00Z", "type": "message"},  # 6 missing_log_id
        {"log_id": "l4", "conversation_id": "c2", "occurred_at": "yesterday", "type": "message"},  # 7 bad time
        {"log_id": "l5", "conversation_id": "  ", "occurred_at": "2026-11-20T10:00:00Z", "type": "tag"},  # 8 blank id
        '{"log_id": "l6", "conversation_id": "c2", "occurred_at": "2026-11-20T10',  # 9 truncated JSON
        "[1, 2, 3]",                                                                  # 10 not an object
        {"log_id": "l7", "conversation_id": "c2", "occurred_at": "2026-11-20T10:00:00-05:00",  # 11 staged
         "received_at": "2026-11-20T15:00:02Z", "channel": "Instagram", "type": "tag",
         "tags": [" VIP Customer ", "order-status", ""], "phone_number": "(415) 555-0134"},
        {"log_id": "l8", "conversation_id": "c2", "occurred_at": "2026-11-20T15:00:00Z", "type": "  "},  # 12 no type
    ])
    warehouse.write(LOGS, "dt=2026-11-21/nested/part-0002.jsonl.gz", [
        {**VALID_FIRST, "received_at": "2026-11-20T09:30:00Z", "text": "re-delivered later"},  # 1 duplicate of l1
        {"log_id": "l9", "conversation_id": "c3", "occurred_at": "2026-11-21T08:00:00Z",       # 2 staged
         "received_at": "2026-11-21T08:00:01Z", "channel": "sms", "type": "status", "actor": "agent",
         "status": " Escalated ", "escalation_reason": "Knowledge Gap", "profile_id": " p1 "},
        {"log_id": "l2", "conversation_id": "c1", "occurred_at": 1795165260000,                # 3 duplicate of l2 ...
         "received_at": "2026-11-20T09:01:00Z", "channel": "whatsapp", "type": "skill",       # ... received earlier:
         "actor": "agent", "skill": "faq"},                                                     #     this copy is kept
    ])
    warehouse.write("orders", "2026-11-20.jsonl.gz", [
        {"order_id": "o1", "placed_at": "2026-11-20T12:00:00+02:00", "email": " JANE.DOE@example.com",
         "currency": "usd", "value": 42.5, "items": [{"product_id": "p1", "sku": "S1", "quantity": 2, "price": 21.25}]},
        {"order_id": "o1", "placed_at": "2026-11-20T12:00:00Z", "value": 1},           # duplicate delivery
        {"placed_at": "2026-11-20T12:00:00Z"},                                         # missing_order_id
        {"order_id": "o2", "placed_at": "soon"},                                       # invalid_placed_at
        {"order_id": "o3", "placed_at": 1795176000000, "profile_id": "p1",
         "items": [{"sku": "S9", "quantity": 1}, {"product_id": "p2"}]},
        {"order_id": "o4", "placed_at": "2026-11-20T12:00:00Z", "value": "12,50"},     # invalid_value
    ])
    warehouse.write("profiles", "all/profiles.jsonl", [
        {"profile_id": "p1", "email": "Jane.Doe@example.com ", "phone_number": "+1 (415) 555-0134",
         "email_consent": "Subscribed", "sms_consent": "never subscribed", "updated_at": "2026-11-01T00:00:00Z"},
        {"profile_id": "p1", "email": "jane.doe@example.com", "email_consent": "unsubscribed",
         "updated_at": "2026-11-05T00:00:00Z"},
        {"profile_id": "p1", "email": "jane.doe@example.com", "email_consent": "unsubscribed",
         "updated_at": "2026-11-05T00:00:00Z"},                                        # duplicate version
        {"email": "nobody@example.com"},                                               # missing_profile_id
        {"profile_id": "p2", "updated_at": "last week"},                               # invalid_updated_at
        {"profile_id": "p3", "phone_number": "020 7946 0958"},                         # no updated_at: accepted
    ])
    warehouse.write("orders", "empty.jsonl", [])


def test_every_rejected_line_is_kept_with_file_line_text_and_reason(built: Warehouse) -> None:
    log_file = "conversation_logs/dt=2026-11-20/part-0001.jsonl"
    expected = [
        ("conversation_logs", log_file, 3, "this is not json", "invalid_json", "(line)"),
        ("conversation_logs", log_file, 4, "", "invalid_json", "(line)"),
        ("conversation_logs", log_file, 5, '{"log_id": "l3", "occurred_at": "2026-11-20T10:00:00Z", "type": "message"}',
         "missing_conversation_id", "conversation_id"),
        ("conversation_logs", log_file, 6,
         '{"conversation_id": "c2", "occurred_at": "2026-11-20T10:00:00Z", "type": "message"}',
         "missing_log_id", "log_id"),
        ("conversation_logs", log_file, 7,
         '{"log_id": "l4", "conversation_id": "c2", "occurred_at": "yesterday", "type": "message"}',
         "invalid_occurred_at", "occurred_at"),
        ("conversation_logs", log_file, 8,
         '{"log_id": "l5", "conversation_id": "  ", "occurred_at": "2026-11-20T10:00:00Z", "type": "tag"}',
         "missing_conversation_id", "conversation_id"),
        ("conversation_logs", log_file, 9, '{"log_id": "l6", "conversation_id": "c2", "occurred_at": "2026-11-20T10',
         "invalid_json", "(line)"),
        ("conversation_logs", log_file, 10, "[1, 2, 3]", "invalid_json", "(line)"),
        ("conversation_logs", log_file, 12,
         '{"log_id": "l8", "conversation_id": "c2", "occurred_at": "2026-11-20T15:00:00Z", "type": "  "}',
         "missing_type", "type"),
        ("orders", "orders/2026-11-20.jsonl.gz", 3, '{"placed_at": "2026-11-20T12:00:00Z"}', "missing_order_id",
         "order_id"),
        ("orders", "orders/2026-11-20.jsonl.gz", 4, '{"order_id": "o2", "placed_at": "soon"}', "invalid_placed_at",
         "placed_at"),
        ("orders", "orders/2026-11-20.jsonl.gz", 6,
         '{"order_id": "o4", "placed_at": "2026-11-20T12:00:00Z", "value": "12,50"}', "invalid_value", "value"),
        ("profiles", "profiles/all/profiles.jsonl", 4, '{"email": "nobody@example.com"}', "missing_profile_id",
         "profile_id"),
        ("profiles", "profiles/all/profiles.jsonl", 5, '{"profile_id": "p2", "updated_at": "last week"}',
         "invalid_updated_at", "updated_at"),
    ]
    actual = built.query(
        "select source, file_name, line_number, raw_line, reason, field from audit.rejected_records order by all")
    assert actual == sorted(expected)
    assert built.query("select count(*) from audit.rejected_records where fix is null or fix = ''") == [(0,)]


def test_reconciliation_accounts_for_every_line_of_every_file(built: Warehouse) -> None:
    assert built.rows("audit.reconciliation", ["source", "file_name", "lines_read", "staged", "duplicates", "rejected"],
                      order_by="source, file_name") == [
        {"source": "conversation_logs", "file_name": "conversation_logs/dt=2026-11-20/part-0001.jsonl",
         "lines_read": 12, "staged": 2, "duplicates": 1, "rejected": 9},
        {"source": "conversation_logs", "file_name": "conversation_logs/dt=2026-11-21/nested/part-0002.jsonl.gz",
         "lines_read": 3, "staged": 2, "duplicates": 1, "rejected": 0},
        {"source": "orders", "file_name": "orders/2026-11-20.jsonl.gz",
         "lines_read": 6, "staged": 2, "duplicates": 1, "rejected": 3},
        {"source": "orders", "file_name": "orders/empty.jsonl",
         "lines_read": 0, "staged": 0, "duplicates": 0, "rejected": 0},
        {"source": "profiles", "file_name": "profiles/all/profiles.jsonl",
         "lines_read": 6, "staged": 3, "duplicates": 1, "rejected": 2},
    ]


def test_log_records_are_deduplicated_and_normalised(built: Warehouse) -> None:
    columns = ["log_id", "conversation_id", "occurred_at", "received_at", "channel", "record_type", "actor",
               "message_text", "skill", "status", "escalation_reason", "tags", "profile_id", "email", "phone_number",
               "file_name", "line_number"]
    assert built.rows("staging.stg_customer_agent__conversation_logs", columns, order_by="log_id") == [
        {"log_id": "l1", "conversation_id": "c1", "occurred_at": ts("2026-11-20T09:00:00.250Z"),
         "received_at": ts("2026-11-20T09:00:05Z"), "channel": "web_chat", "record_type": "message", "actor": "shopper",
         "message_text": "Where is my order?", "skill": None, "status": None, "escalation_reason": None, "tags": None,
         "profile_id": None, "email": "jane.doe@example.com", "phone_number": None,
         "file_name": "conversation_logs/dt=2026-11-20/part-0001.jsonl", "line_number": 1},
        {"log_id": "l2", "conversation_id": "c1", "occurred_at": ts("2026-11-20T09:01:00Z"),
         "received_at": ts("2026-11-20T09:01:00Z"), "channel": "whatsapp", "record_type": "skill", "actor": "agent",
         "message_text": None, "skill": "faq", "status": None, "escalation_reason": None, "tags": None,
         "profile_id": None, "email": None, "phone_number": None,
         "file_name": "conversation_logs/dt=2026-11-21/nested/part-0002.jsonl.gz", "line_number": 3},
        {"log_id": "l7", "conversation_id": "c2", "occurred_at": ts("2026-11-20T15:00:00Z"),
         "received_at": ts("2026-11-20T15:00:02Z"), "channel": "other", "record_type": "tag", "actor": None,
         "message_text": None, "skill": None, "status": None, "escalation_reason": None,
         "tags": ["vip_customer", "order_status"], "profile_id": None, "email": None, "phone_number": "+14155550134",
         "file_name": "conversation_logs/dt=2026-11-20/part-0001.jsonl", "line_number": 11},
        {"log_id": "l9", "conversation_id": "c3", "occurred_at": ts("2026-11-21T08:00:00Z"),
         "received_at": ts("2026-11-21T08:00:01Z"), "channel": "sms", "record_type": "status", "actor": "agent",
         "message_text": None, "skill": None, "status": "escalated", "escalation_reason": "knowledge_gap", "tags": None,
         "profile_id": "p1", "email": None, "phone_number": None,
         "file_name": "conversation_logs/dt=2026-11-21/nested/part-0002.jsonl.gz", "line_number": 2},
    ]


def test_orders_items_and_profiles_are_staged(built: Warehouse) -> None:
    assert built.rows("staging.stg_shop__orders", ["order_id", "placed_at", "profile_id", "email", "currency",
                                                   "order_value", "line_number"]) == [
        {"order_id": "o1", "placed_at": ts("2026-11-20T10:00:00Z"), "profile_id": None,
         "email": "jane.doe@example.com", "currency": "USD", "order_value": 42.5, "line_number": 1},
        {"order_id": "o3", "placed_at": ts("2026-11-20T12:00:00Z"), "profile_id": "p1", "email": None,
         "currency": None, "order_value": None, "line_number": 5},
    ]
    assert built.rows("staging.stg_shop__order_items",
                      ["order_id", "item_position", "product_id", "sku", "quantity", "price"]) == [
        {"order_id": "o1", "item_position": 1, "product_id": "p1", "sku": "S1", "quantity": 2.0, "price": 21.25},
        {"order_id": "o3", "item_position": 1, "product_id": None, "sku": "S9", "quantity": 1.0, "price": None},
        {"order_id": "o3", "item_position": 2, "product_id": "p2", "sku": None, "quantity": None, "price": None},
    ]
    assert built.rows("staging.stg_marketing__profiles",
                      ["profile_id", "email", "phone_number", "email_consent", "sms_consent", "updated_at"]) == [
        {"profile_id": "p1", "email": "jane.doe@example.com", "phone_number": None, "email_consent": "unsubscribed",
         "sms_consent": None, "updated_at": ts("2026-11-05T00:00:00Z")},
        {"profile_id": "p3", "email": None, "phone_number": "+12079460958", "email_consent": None,
         "sms_consent": None, "updated_at": None},
    ]


def test_new_files_are_picked_up_and_old_files_are_not_read_again(warehouse: Warehouse) -> None:
    warehouse.write(LOGS, "dt=2026-11-21/part-0001.jsonl", [
        {"log_id": "l9", "conversation_id": "c3", "occurred_at": "2026-11-21T08:00:00Z", "type": "message"},
        {"log_id": "l9", "conversation_id": "c3", "occurred_at": "2026-11-21T08:00:00Z", "type": "message"},
    ])
    warehouse.build()
    built = warehouse
    built.write(LOGS, "dt=2026-11-22/part-0003.jsonl", [
        {"log_id": "l10", "conversation_id": "c3", "occurred_at": "2026-11-22T08:00:00Z",
         "received_at": "2026-11-22T08:00:01Z", "type": "message", "actor": "shopper", "text": "hello again"},
        "{broken",
    ])
    built.build()
    assert built.query("select count(*), count(distinct file_name) from staging.base_customer_agent__log_lines") == [
        (4, 2)]
    assert built.query("select lines_read, staged, duplicates, rejected from audit.reconciliation "
                       "where file_name = 'conversation_logs/dt=2026-11-21/part-0001.jsonl'") == [(2, 1, 1, 0)]
    assert built.query(
        "select lines_read, staged, duplicates, rejected from audit.reconciliation "
        "where file_name = 'conversation_logs/dt=2026-11-22/part-0003.jsonl'") == [(2, 1, 0, 1)]
    assert built.query("select log_id from staging.stg_customer_agent__conversation_logs where conversation_id = 'c3' "
                       "order by log_id") == [("l10",), ("l9",)]

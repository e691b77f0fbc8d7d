"""Issue #5: incremental builds equal a full rebuild, Snowplow style, and a rebuild with no new data changes nothing.

A raw zone arrives in passes. Warehouse `incremental` is built after every pass;
warehouse `full` is built once with `--full-refresh` on all files. Every mart,
segment and audit table, and the staged log records, must be equal row by row
(event ids included), apart from the lineage columns that record when a build
ran (loaded_at, processed_at).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.python import raw_records
from tests.python.warehouse import Warehouse, ts

# Several real dbt builds: `./test.sh -m "not slow"` skips this module.
pytestmark = pytest.mark.slow

AS_OF = {"as_of": "2026-11-23T00:00:00Z"}
# When a build ran, and when the test wrote each raw file: history, not content.
LINEAGE_COLUMNS = ("loaded_at", "processed_at", "first_seen_at", "ingested_at", "checked_at", "first_seen_ns",
                   "ingested_ns", "checked_ns", "modified_at", "modified_ns")
COMPARED_SCHEMAS = ("marts", "segments", "audit", "intermediate")
# Relations that record the history of builds by design: the change log (one row per change of a
# conversation) and the manifest of processed watermarks.
HISTORY_RELATIONS = ("intermediate.int_conversations_changed", "intermediate.int_orders_changed",
                     "audit.incremental_watermarks")


def compared_relations(warehouse: Warehouse) -> list[str]:
    rows = warehouse.query(
        "select table_schema || '.' || table_name from information_schema.tables "
        f"where table_schema in {COMPARED_SCHEMAS} and table_type = 'BASE TABLE' order by 1")
    relations = [row[0] for row in rows if row[0] not in HISTORY_RELATIONS]
    relations.append("staging.stg_customer_agent__conversation_logs")
    assert "marts.fct_conversation_resolved" in relations and "segments.seg_started_conversation" in relations
    return relations


def assert_same_content(left: Warehouse, right: Warehouse) -> None:
    relations = compared_relations(left)
    assert relations == compared_relations(right)
    left_snapshot = left.snapshot(relations, exclude_columns=LINEAGE_COLUMNS)
    right_snapshot = right.snapshot(relations, exclude_columns=LINEAGE_COLUMNS)
    for relation in relations:
        assert left_snapshot[relation] == right_snapshot[relation], f"{relation} differs"


log = raw_records.log


PASS_1 = {
    ("conversation_logs", "dt=2026-11-20/part-0001.jsonl"): [
        log("a1", "c1", "2026-11-20T10:00:00Z", "message", "agent", channel="Web Chat", text="Hi! Need help?"),
        log("a2", "c1", "2026-11-20T10:10:00Z", "message", "shopper", channel="webchat", text="my order"),
        log("a3", "c1", "2026-11-20T10:11:00Z", "skill", "agent", skill="Order Tracking"),
        log("a4", "c1", "2026-11-20T10:20:00Z", "status", "agent", status="resolved"),
        log("b1", "c2", "2026-11-20T12:00:00Z", "message", "shopper", channel="SMS", text="shoes?",
            phone_number="(415) 555-0199"),
        log("b2", "c2", "2026-11-20T12:05:00Z", "recommendation", "agent",
            products=[{"product_id": "p1"}, {"sku": "S2"}], format="card"),
    ],
    ("profiles", "dt=2026-11-20/profiles.jsonl"): [
        {"profile_id": "p1", "email": "c1@example.com", "email_consent": "subscribed",
         "updated_at": "2026-11-01T00:00:00Z"},
    ],
}
PASS_2 = {
    ("conversation_logs", "dt=2026-11-21/part-0001.jsonl"): [
        # A late first message: the conversation now starts earlier, on WhatsApp.
        log("a0", "c1", "2026-11-20T09:55:00Z", "message", "shopper", channel="WhatsApp", text="hello?",
            received_at="2026-11-21T08:00:00Z"),
        # A re-delivered duplicate of a2.
        log("a2", "c1", "2026-11-20T10:10:00Z", "message", "shopper", channel="webchat", text="my order",
            received_at="2026-11-21T08:00:01Z"),
        # Re-open and a second resolution by the agent, late.
        log("a5", "c1", "2026-11-20T11:00:00Z", "status", "shopper", status="open", received_at="2026-11-21T08:00:02Z"),
        log("a6", "c1", "2026-11-20T11:05:00Z", "status", "agent", status="Resolved",
            received_at="2026-11-21T08:00:03Z"),
        # Identification a day later, by messy email: applies to every event of c1.
        log("a7", "c1", "2026-11-20T11:10:00Z", "identify", "system", email=" C1@Example.COM ",
            received_at="2026-11-21T08:00:04Z"),
        "{not json",
    ],
}
PASS_3 = {
    ("conversation_logs", "dt=2026-11-22/part-0001.jsonl.gz"): [
        log("a8", "c1", "2026-11-22T09:00:00Z", "status", "agent", status="escalated",
            escalation_reason="Knowledge-Gap"),
        log("c1-x", "c3", "2026-11-22T09:30:00Z", "message", "shopper", channel="email", text="returns",
            profile_id="p3"),
    ],
    # The profile of c2's phone arrives only now: c2 becomes identified.
    ("profiles", "dt=2026-11-22/profiles.jsonl"): [
        {"profile_id": "p2", "phone_number": "+1 415-555-0199", "email": "p2@example.com",
         "email_consent": "subscribed", "updated_at": "2026-11-22T00:00:00Z"},
    ],
}


def write_pass(warehouse: Warehouse, files: dict) -> None:
    for (source, relative_path), records in files.items():
        warehouse.write(source, relative_path, records)


@pytest.fixture(scope="module")
def late_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Warehouse, Warehouse]:
    incremental = Warehouse(root=tmp_path_factory.mktemp("incremental"), vars=AS_OF)
    full = Warehouse(root=tmp_path_factory.mktemp("full"), vars=AS_OF)
    for files in (PASS_1, PASS_2, PASS_3):
        write_pass(incremental, files)
        incremental.build()
        write_pass(full, files)
    full.build("--full-refresh")
    return incremental, full


def test_incremental_passes_equal_a_full_refresh(late_data: tuple[Warehouse, Warehouse]) -> None:
    incremental, full = late_data
    assert_same_content(incremental, full)
    assert incremental.query("select event_id from marts.fct_customer_agent_events order by 1") == full.query(
        "select event_id from marts.fct_customer_agent_events order by 1")


def test_late_records_change_earlier_conversations_as_derived_by_hand(
        late_data: tuple[Warehouse, Warehouse]) -> None:
    incremental, _ = late_data
    assert incremental.rows("marts.fct_conversation_started",
                            ["conversation_id", "started_at", "profile_id", "channel", "initial_skill",
                             "first_message"]) == [
        {"conversation_id": "c1", "started_at": ts("2026-11-20T09:55:00Z"), "profile_id": "p1",
         "channel": "whatsapp", "initial_skill": "order_tracking", "first_message": "hello?"},
        {"conversation_id": "c2", "started_at": ts("2026-11-20T12:00:00Z"), "profile_id": "p2",
         "channel": "sms", "initial_skill": None, "first_message": "shoes?"},
        {"conversation_id": "c3", "started_at": ts("2026-11-22T09:30:00Z"), "profile_id": "p3",
         "channel": "email", "initial_skill": None, "first_message": "returns"},
    ]
    assert incremental.rows("marts.fct_conversation_resolved",
                            ["conversation_id", "resolved_at", "profile_id", "channel", "final_skill",
                             "resolution_seconds"]) == [
        {"conversation_id": "c1", "resolved_at": ts("2026-11-20T10:20:00Z"), "profile_id": "p1",
         "channel": "whatsapp", "final_skill": "order_tracking", "resolution_seconds": 25 * 60.0},
        {"conversation_id": "c1", "resolved_at": ts("2026-11-20T11:05:00Z"), "profile_id": "p1",
         "channel": "whatsapp", "final_skill": "order_tracking", "resolution_seconds": 70 * 60.0},
    ]
    assert incremental.rows("marts.fct_conversation_escalated",
                            ["conversation_id", "escalated_at", "profile_id", "channel", "escalation_reason"]) == [
        {"conversation_id": "c1", "escalated_at": ts("2026-11-22T09:00:00Z"), "profile_id": "p1",
         "channel": "whatsapp", "escalation_reason": "knowledge_gap"},
    ]
    assert incremental.rows("marts.fct_product_recommendation_received",
                            ["conversation_id", "profile_id", "channel", "products"]) == [
        {"conversation_id": "c2", "profile_id": "p2", "channel": "sms", "products": ["p1", "S2"]},
    ]
    assert incremental.rows("marts.dim_conversations", ["conversation_id", "outcome"]) == [
        {"conversation_id": "c1", "outcome": "escalated"},
        {"conversation_id": "c2", "outcome": "unresolved"},
        {"conversation_id": "c3", "outcome": "unresolved"},
    ]
    assert incremental.query(
        "select source, sum(lines_read), sum(staged), sum(duplicates), sum(rejected) "
        "from audit.reconciliation group by source order by source") == [
        ("conversation_logs", 14, 12, 1, 1), ("profiles", 2, 2, 0, 0)]


def test_a_build_with_no_new_files_changes_nothing(late_data: tuple[Warehouse, Warehouse]) -> None:
    incremental, _ = late_data
    relations = compared_relations(incremental)
    before = incremental.snapshot(relations, exclude_columns=("checked_at", "checked_ns"))
    changes_before = incremental.query("select count(*) from intermediate.int_conversations_changed")
    incremental.build()
    assert incremental.snapshot(relations, exclude_columns=("checked_at", "checked_ns")) == before
    # No conversation changed: the change log did not grow, so no mart rebuilt anything.
    assert incremental.query("select count(*) from intermediate.int_conversations_changed") == changes_before


def test_generated_raw_zone_in_three_passes_equals_full_refresh(tmp_path: Path) -> None:
    from customer_agent_warehouse.generate import generate_raw_zone

    source = tmp_path / "generated"
    generate_raw_zone(source, conversations=400, seed=7)
    files = sorted(path.relative_to(source) for path in source.rglob("*.jsonl*"))
    days = sorted({part for path in files for part in path.parts if part.startswith("dt=")})
    assert len(days) >= 3, "the generator should spread files over several days"
    cut_1, cut_2 = days[len(days) // 3], days[2 * len(days) // 3]

    def pass_of(path: Path) -> int:
        day = next((part for part in path.parts if part.startswith("dt=")), days[0])
        return 0 if day < cut_1 else 1 if day < cut_2 else 2

    incremental = Warehouse(root=tmp_path / "incremental", vars=AS_OF)
    full = Warehouse(root=tmp_path / "full", vars=AS_OF)
    for number in range(3):
        for path in files:
            if pass_of(path) == number:
                for target in (incremental.raw, full.raw):
                    (target / path).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(source / path, target / path)
        incremental.build()
    full.build("--full-refresh")
    assert_same_content(incremental, full)
    assert incremental.query("select count(*) > 100 from marts.fct_conversation_started") == [(True,)]

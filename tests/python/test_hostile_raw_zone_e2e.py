"""No raw file can stop the pipeline (spec §6): hostile raw zones, real `dbt build` runs.

Every scenario is a small valid baseline plus hostile files. For each one the build
succeeds, the baseline's facts, segments and orders all arrive, every physical line
of the raw zone (counted here from the bytes, independently of the reader) is
staged, a duplicate or rejected with the expected reason, and the ingestion manifest
shows the expected status. One build covers the file-level cases (the other files of
the build must be ingested as usual); cases that need their own raw zone path or
several builds have their own test.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from pathlib import Path

import pytest

from tests.python import clock
from tests.python.warehouse import Warehouse, ts

pytestmark = pytest.mark.slow

LOGS = "conversation_logs"
STAGED_LOGS = "staging.stg_customer_agent__conversation_logs"
AS_OF = {"as_of": "2026-11-21T00:00:00Z"}


def physical_lines(data: bytes) -> int:
    """Lines in decompressed bytes: pieces between "\\n", a last piece without "\\n" included."""
    if not data:
        return 0
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def readable_bytes(path: Path) -> bytes:
    """What a tolerant gzip reader gets out of a file (the readable part of a damaged stream), else the bytes."""
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    out, data = [], raw
    while data[:2] == b"\x1f\x8b":
        decompressor = zlib.decompressobj(31)
        try:
            out.append(decompressor.decompress(data))
        except zlib.error:
            break
        if not decompressor.eof:
            break
        data = decompressor.unused_data
    return b"".join(out)


def baseline(warehouse: Warehouse) -> None:
    """Two conversations, an order and two profiles with known facts (see assert_baseline_arrived)."""
    warehouse.write(LOGS, "dt=2026-11-20/baseline.jsonl", [
        {"log_id": "b1-1", "conversation_id": "b1", "occurred_at": "2026-11-20T10:00:00Z",
         "received_at": "2026-11-20T10:00:01Z", "channel": "web_chat", "type": "message", "actor": "shopper",
         "text": "hi", "profile_id": "pb1"},
        {"log_id": "b1-2", "conversation_id": "b1", "occurred_at": "2026-11-20T10:01:00Z",
         "received_at": "2026-11-20T10:01:01Z", "type": "skill", "actor": "agent", "skill": "product_recommendations"},
        {"log_id": "b1-3", "conversation_id": "b1", "occurred_at": "2026-11-20T10:02:00Z",
         "received_at": "2026-11-20T10:02:01Z", "type": "recommendation", "actor": "agent",
         "products": [{"product_id": "p1", "sku": "S1"}], "format": "card"},
        {"log_id": "b1-4", "conversation_id": "b1", "occurred_at": "2026-11-20T10:05:00Z",
         "received_at": "2026-11-20T10:05:01Z", "type": "status", "actor": "agent", "status": "resolved"},
        {"log_id": "b2-1", "conversation_id": "b2", "occurred_at": "2026-11-20T12:00:00Z",
         "received_at": "2026-11-20T12:00:01Z", "channel": "sms", "type": "message", "actor": "shopper",
         "text": "help", "email": "B2@example.com"},
        {"log_id": "b2-2", "conversation_id": "b2", "occurred_at": "2026-11-20T12:03:00Z",
         "received_at": "2026-11-20T12:03:01Z", "type": "status", "actor": "agent", "status": "escalated",
         "escalation_reason": "shopper_requested"},
    ])
    warehouse.write("orders", "baseline.jsonl", [
        {"order_id": "ob1", "placed_at": "2026-11-20T11:00:00Z", "profile_id": "pb1", "currency": "EUR",
         "value": 25.5},
    ])
    warehouse.write("profiles", "baseline.jsonl", [
        {"profile_id": "pb1", "email": "b1@example.com", "email_consent": "subscribed",
         "updated_at": "2026-11-01T00:00:00Z"},
        {"profile_id": "pb2", "email": "b2@example.com", "email_consent": "subscribed",
         "updated_at": "2026-11-01T00:00:00Z"},
    ])


def assert_baseline_arrived(warehouse: Warehouse) -> None:
    """The baseline's facts, segments and orders are all there."""
    assert warehouse.query("select conversation_id, profile_id, channel from marts.fct_conversation_started "
                           "where conversation_id in ('b1', 'b2') order by 1") == [
        ("b1", "pb1", "web_chat"), ("b2", "pb2", "sms")]
    assert warehouse.query("select conversation_id, final_skill from marts.fct_conversation_resolved "
                           "where conversation_id = 'b1'") == [("b1", "product_recommendations")]
    assert warehouse.query("select conversation_id, escalation_reason from marts.fct_conversation_escalated "
                           "where conversation_id = 'b2'") == [("b2", "shopper_requested")]
    assert warehouse.query("select conversation_id, products from marts.fct_product_recommendation_received "
                           "where conversation_id = 'b1'") == [("b1", ["p1"])]
    assert warehouse.query("select order_id, conversation_id, value from marts.fct_attributed_orders "
                           "where order_id = 'ob1'") == [("ob1", "b1", 25.5)]
    assert warehouse.query("select profile_id from segments.seg_started_conversation "
                           "where profile_id in ('pb1', 'pb2') order by 1") == [("pb1",), ("pb2",)]
    assert warehouse.query("select profile_id from segments.seg_escalated_recent where profile_id = 'pb2'") == [
        ("pb2",)]


def assert_no_line_lost(warehouse: Warehouse) -> None:
    """Every physical line of every readable raw file is staged, a duplicate or rejected: none is lost."""
    counted = {}
    for source in ("conversation_logs", "orders", "profiles"):
        for path in sorted((warehouse.raw / source).rglob("*")):
            if path.is_symlink() or not path.is_file() or not path.name.endswith((".jsonl", ".jsonl.gz")) \
                    or path.name.startswith((".", "_")):
                continue
            counted[path.relative_to(warehouse.raw).as_posix()] = physical_lines(readable_bytes(path))
    reconciled = dict(warehouse.query(
        "select file_name, lines_read from audit.reconciliation where lines_read = staged + duplicates + rejected"))
    lost = {name: (count, reconciled.get(name)) for name, count in counted.items() if reconciled.get(name) != count}
    assert lost == {}, f"files whose lines are not all accounted for (physical, reconciled): {lost}"


def manifest(warehouse: Warehouse, file_name: str) -> dict:
    columns = ["status", "change", "error", "fix", "lines_read", "fault_offset", "is_present"]
    rows = [dict(zip(columns, row, strict=True)) for row in warehouse.query(
        f"select {', '.join(columns)} from audit.ingestion_manifest where file_name = ?", [file_name])]
    assert len(rows) == 1, f"{file_name} is not in the manifest once: {rows}"
    return rows[0]


def rejected(warehouse: Warehouse, file_name: str) -> list[tuple]:
    return warehouse.query("select line_number, reason, field from audit.rejected_records "
                           "where file_name = ? order by line_number", [file_name])


def valid_log(log_id: str, conversation_id: str = "h1", **fields) -> dict:
    return {"log_id": log_id, "conversation_id": conversation_id, "occurred_at": "2026-11-20T09:00:00Z",
            "received_at": "2026-11-20T09:00:01Z", "type": "message", "actor": "shopper", "text": "x", **fields}


def line(record: dict) -> bytes:
    return (json.dumps(record) + "\n").encode()


# --- one raw zone with every file-level hostile case ---------------------------------------------


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    warehouse = Warehouse(root=tmp_path_factory.mktemp("hostile"), vars=AS_OF)
    baseline(warehouse)
    logs = warehouse.raw / LOGS / "hostile"
    logs.mkdir(parents=True)
    (logs / "bad-utf8.jsonl").write_bytes(
        line(valid_log("u1")) + b'{"log_id": "u2", "text": "caf\xe9 \xff"}\n' + line(valid_log("u3")))
    (logs / "utf16.jsonl").write_bytes((json.dumps(valid_log("w1")) + "\n" + json.dumps(valid_log("w2")) + "\n")
                                       .encode("utf-16"))
    (logs / "surrogate.jsonl").write_bytes(line(valid_log("s1")) + b'{"log_id": "s2", "conversation_id": "h1", '
                                           b'"occurred_at": "2026-11-20T09:00:00Z", "type": "message", '
                                           b'"text": "\\ud800"}\n')
    complete = gzip.compress(b"".join(line(valid_log(f"t{i}")) for i in range(1, 41)), mtime=0)
    (logs / "truncated.jsonl.gz").write_bytes(complete[: len(complete) * 2 // 3])
    (logs / "plain-named-gz.jsonl.gz").write_bytes(line(valid_log("g1")) + line(valid_log("g2")))
    (logs / "empty.jsonl.gz").write_bytes(b"")
    (logs / "trailing-garbage.jsonl.gz").write_bytes(gzip.compress(line(valid_log("tg1")), mtime=0) + b"GARBAGE!")
    (logs / "gzip-named-plain.jsonl").write_bytes(gzip.compress(line(valid_log("gz1")), mtime=0))
    (logs / "long-line.jsonl").write_bytes(
        line(valid_log("l1")) + line(valid_log("l2", text="y" * (17 << 20))) + line(valid_log("l3")))
    (logs / "crlf-cr-bom-no-final-newline.jsonl").write_bytes(
        b"\xef\xbb\xbf" + line(valid_log("c1"))[:-1] + b"\r\n"
        + json.dumps(valid_log("c2")).replace(', "conversation_id"', ',\r "conversation_id"').encode()
        + b"\n\n   \n" + json.dumps(valid_log("c3")).encode())
    times = [
        valid_log("e1", occurred_at=99999999999999999999),          # epoch beyond every timestamp type
        valid_log("e2", occurred_at=253402300800000),               # epoch ms just after 9999-12-31
        valid_log("e3", occurred_at=1763630000),                    # epoch seconds (10 digits)
        valid_log("e4", occurred_at="infinity"),
        valid_log("e5", occurred_at="-infinity"),
        valid_log("e6", occurred_at="epoch"),
        valid_log("e7", occurred_at="0001-01-01T00:00:00Z"),
        valid_log("e8", occurred_at="9999-12-31T00:00:00Z"),
        valid_log("e9", received_at=99999999999999999),
        valid_log("e10", occurred_at=1763630000000),                # valid epoch ms: staged
    ]
    warehouse.write(LOGS, "hostile/times.jsonl", times)
    warehouse.write(LOGS, "hostile/types.jsonl", [
        valid_log("y1", type="recommendation", products="p1"),
        valid_log("y2", type="recommendation", products={"product_id": "p1"}),
        valid_log("y3", type="tag", tags="vip"),
        {**valid_log("y4"), "log_id": True},
        valid_log("y5", conversation_id={"id": "h1"}),
        valid_log("y6", type="recommendation", products=["p1"]),
        valid_log("y7", text=12),                                    # a number as text: kept as "12"
    ])
    warehouse.write("orders", "hostile.jsonl", [
        '{"order_id": "on1", "placed_at": "2026-11-20T11:00:00Z", "value": NaN}',
        '{"order_id": "on2", "placed_at": "2026-11-20T11:00:00Z", "value": Infinity}',
        {"order_id": "on3", "placed_at": "2026-11-20T11:00:00Z", "value": "12,50"},
        {"order_id": "on4", "placed_at": 99999999999999999, "value": 1},
        {"order_id": "on5", "placed_at": "2026-11-20T11:00:00Z", "value": 1e400},
    ])
    warehouse.write("profiles", "hostile.jsonl", [
        {"profile_id": "ph1", "updated_at": 99999999999999999},
        {"profile_id": "ph2", "updated_at": "epoch"},
    ])
    for name in ("x'); drop table marts.fct_conversation_started; --.jsonl", "quote ' and \" space;[1]*?.jsonl",
                 "üñíçødé.jsonl", "back\\slash.jsonl", "part-*.jsonl"):
        (logs / name).write_bytes(line(valid_log(f"n-{len(name)}")))
    for name in ("upper.JSONL", "upper.jsonl.GZ", "other.ndjson", "other.json", "upload.jsonl.tmp", ".hidden.jsonl",
                 "_in_progress.jsonl"):
        (logs / name).write_bytes(line(valid_log("ignored")))
    (logs / "folder.jsonl").mkdir()
    (logs / "folder.jsonl" / "inside.jsonl").write_bytes(line(valid_log("d1")))
    outside = warehouse.root / "outside-secret.jsonl"
    outside.write_text('{"secret": "must never be read"}\n')
    (logs / "link-outside.jsonl").symlink_to(outside)
    (logs / "link-inside.jsonl").symlink_to(logs / "plain-named-gz.jsonl.gz")
    (logs / "dangling.jsonl").symlink_to(logs / "missing.jsonl")
    os.mkfifo(logs / "fifo.jsonl")
    warehouse.build()
    return warehouse


HOSTILE = "conversation_logs/hostile/"


def test_the_build_succeeds_and_the_baseline_arrives(hostile: Warehouse) -> None:
    assert_baseline_arrived(hostile)


def test_no_line_of_any_readable_file_is_lost(hostile: Warehouse) -> None:
    assert_no_line_lost(hostile)


def test_bytes_that_are_not_utf8_reject_only_their_line_and_keep_a_readable_text(hostile: Warehouse) -> None:
    assert rejected(hostile, HOSTILE + "bad-utf8.jsonl") == [(2, "invalid_encoding", "(line)")]
    assert hostile.query("select raw_line from audit.rejected_records where file_name = ?",
                         [HOSTILE + "bad-utf8.jsonl"]) == [('{"log_id": "u2", "text": "caf\ufffd \ufffd"}',)]
    assert hostile.query(f"select log_id from {STAGED_LOGS} "
                         "where log_id in ('u1', 'u3') order by 1") == [("u1",), ("u3",)]


def test_a_utf16_file_is_rejected_line_by_line_and_reported(hostile: Warehouse) -> None:
    assert {reason for _, reason, _ in rejected(hostile, HOSTILE + "utf16.jsonl")} == {"invalid_encoding"}
    assert "UTF-16" in manifest(hostile, HOSTILE + "utf16.jsonl")["error"]


def test_a_lone_surrogate_escape_is_an_encoding_rejection(hostile: Warehouse) -> None:
    assert rejected(hostile, HOSTILE + "surrogate.jsonl") == [(2, "invalid_encoding", "(line)")]


def test_a_truncated_gzip_keeps_the_lines_before_the_fault(hostile: Warehouse) -> None:
    row = manifest(hostile, HOSTILE + "truncated.jsonl.gz")
    assert row["status"] == "partially_ingested" and "truncated" in row["error"] and row["fault_offset"] > 0
    staged = hostile.query("select count(*) from staging.base_customer_agent__log_lines "
                           "where file_name = ? and rejection_reason is null", [HOSTILE + "truncated.jsonl.gz"])
    assert 0 < staged[0][0] < 40
    assert [reason for _, reason, _ in rejected(hostile, HOSTILE + "truncated.jsonl.gz")] in ([], ["corrupt_gzip"])


def test_gzip_and_plain_files_are_read_by_their_content_not_their_name(hostile: Warehouse) -> None:
    assert manifest(hostile, HOSTILE + "plain-named-gz.jsonl.gz")["status"] == "ingested"
    assert manifest(hostile, HOSTILE + "gzip-named-plain.jsonl")["status"] == "ingested"
    assert "not gzip-compressed" in manifest(hostile, HOSTILE + "plain-named-gz.jsonl.gz")["error"]
    assert hostile.query(f"select log_id from {STAGED_LOGS} "
                         "where log_id in ('g1', 'g2', 'gz1') order by 1") == [("g1",), ("g2",), ("gz1",)]


def test_an_empty_gzip_and_trailing_garbage(hostile: Warehouse) -> None:
    assert manifest(hostile, HOSTILE + "empty.jsonl.gz")["status"] == "ingested"
    garbage = manifest(hostile, HOSTILE + "trailing-garbage.jsonl.gz")
    assert garbage["status"] == "partially_ingested" and "after the end of the gzip stream" in garbage["error"]
    assert hostile.query(f"select count(*) from {STAGED_LOGS} where log_id = 'tg1'") == [
        (1,)]


def test_a_line_above_the_size_limit_is_rejected_and_its_neighbours_staged(hostile: Warehouse) -> None:
    assert rejected(hostile, HOSTILE + "long-line.jsonl") == [(2, "line_too_long", "(line)")]
    lengths = "select length(raw_line) < 2000 from audit.rejected_records where reason = 'line_too_long'"
    assert hostile.query(lengths) == [(True,)]


def test_line_breaks_are_newlines_only_and_a_bom_and_a_missing_final_newline_are_fine(hostile: Warehouse) -> None:
    file_name = HOSTILE + "crlf-cr-bom-no-final-newline.jsonl"
    assert rejected(hostile, file_name) == [(3, "invalid_json", "(line)"), (4, "invalid_json", "(line)")]
    assert hostile.query(f"select log_id, line_number, message_text from {STAGED_LOGS} "
                         "where file_name = ? order by 2", [file_name]) == [
        ("c1", 1, "x"), ("c2", 2, "x"), ("c3", 5, "x")]


def test_implausible_or_unparseable_times_are_rejected_never_crash(hostile: Warehouse) -> None:
    assert rejected(hostile, HOSTILE + "times.jsonl") == [
        (1, "timestamp_out_of_range", "occurred_at"),
        (2, "timestamp_out_of_range", "occurred_at"),
        (3, "timestamp_out_of_range", "occurred_at"),
        (4, "invalid_occurred_at", "occurred_at"),
        (5, "invalid_occurred_at", "occurred_at"),
        (6, "invalid_occurred_at", "occurred_at"),
        (7, "timestamp_out_of_range", "occurred_at"),
        (8, "timestamp_out_of_range", "occurred_at"),
        (9, "timestamp_out_of_range", "received_at"),
    ]
    detail = hostile.query("select detail from audit.rejected_records where file_name = ? and line_number = 3",
                           [HOSTILE + "times.jsonl"])[0][0]
    assert "epoch seconds" in detail and "1763630000000" in detail
    assert hostile.query(f"select occurred_at from {STAGED_LOGS} where log_id = 'e10'") == [
        (ts("2025-11-20T09:13:20Z"),)]


def test_wrong_json_types_are_rejected_with_the_field(hostile: Warehouse) -> None:
    assert rejected(hostile, HOSTILE + "types.jsonl") == [
        (1, "invalid_field_type", "products"),
        (2, "invalid_field_type", "products"),
        (3, "invalid_field_type", "tags"),
        (4, "invalid_field_type", "log_id"),
        (5, "invalid_field_type", "conversation_id"),
        (6, "invalid_field_type", "products"),
    ]
    assert hostile.query(f"select message_text from {STAGED_LOGS} where log_id = 'y7'") == [
        ("12",)]


def test_order_values_that_are_not_finite_numbers_are_rejected_and_sales_stay_exact(hostile: Warehouse) -> None:
    assert rejected(hostile, "orders/hostile.jsonl") == [
        (1, "invalid_value", "value"), (2, "invalid_value", "value"), (3, "invalid_value", "value"),
        (4, "timestamp_out_of_range", "placed_at"), (5, "invalid_value", "value")]
    assert rejected(hostile, "profiles/hostile.jsonl") == [
        (1, "timestamp_out_of_range", "updated_at"), (2, "invalid_updated_at", "updated_at")]
    sales = "select sum(ai_generated_sales)::varchar from marts.agg_customer_agent_daily"
    assert hostile.query(sales) == [("25.5000",)]


def test_names_with_quotes_globs_backslashes_and_sql_are_plain_names(hostile: Warehouse) -> None:
    names = ["x'); drop table marts.fct_conversation_started; --.jsonl", "quote ' and \" space;[1]*?.jsonl",
             "üñíçødé.jsonl", "back\\slash.jsonl", "part-*.jsonl"]
    for name in names:
        row = manifest(hostile, HOSTILE + name)
        assert (row["status"], row["lines_read"]) == ("ingested", 1), name
        assert hostile.query(f"select count(*) from {STAGED_LOGS} where file_name = ?",
                             [HOSTILE + name]) == [(1,)], name


def test_other_extensions_are_listed_as_ignored(hostile: Warehouse) -> None:
    for name in ("upper.JSONL", "upper.jsonl.GZ", "other.ndjson", "other.json", "upload.jsonl.tmp", ".hidden.jsonl",
                 "_in_progress.jsonl"):
        row = manifest(hostile, HOSTILE + name)
        assert row["status"] == "ignored" and row["fix"], name
    assert hostile.query("select count(*) from staging.base_customer_agent__log_lines where file_name like '%upper%' "
                         "or file_name like '%other%' or file_name like '%.tmp'") == [(0,)]


def test_links_fifos_and_directories_named_like_files_are_quarantined_never_read(hostile: Warehouse) -> None:
    for name, words in [("link-outside.jsonl", "outside the raw zone"), ("dangling.jsonl", "broken symlink"),
                        ("fifo.jsonl", "not a regular file"), ("folder.jsonl", "directory")]:
        row = manifest(hostile, HOSTILE + name)
        assert row["status"] == "quarantined" and words in row["error"], name
    assert hostile.query("select count(*) from audit.rejected_records where raw_line like '%must never be read%'") == [
        (0,)]
    assert manifest(hostile, HOSTILE + "link-inside.jsonl")["status"] == "ingested"
    assert manifest(hostile, HOSTILE + "folder.jsonl/inside.jsonl")["status"] == "ingested"


def test_a_rebuild_changes_nothing_and_reads_nothing_again(hostile: Warehouse) -> None:
    before = hostile.query("select count(*), max(loaded_at) from staging.base_customer_agent__log_lines")
    hostile.build()
    assert hostile.query("select count(*), max(loaded_at) from staging.base_customer_agent__log_lines") == before
    assert_no_line_lost(hostile)


# --- cases with a raw zone of their own, or several builds ----------------------------------------


def test_a_raw_zone_path_with_quotes_spaces_and_dots_works(tmp_path: Path) -> None:
    root = tmp_path / "it's a \"raw\" zone; (1)" / "ü"
    warehouse = Warehouse(root=root, vars=AS_OF)
    baseline(warehouse)
    written = warehouse.raw
    env_path = f"{root}//sub/../raw"
    (root / "sub").mkdir()
    result = warehouse.dbt("build", "--exclude-resource-type", "unit_test", env={"CA_RAW_PATH": env_path})
    assert result.returncode == 0
    assert written.exists()
    assert_baseline_arrived(warehouse)
    assert warehouse.query("select min(file_name) from audit.ingestion_manifest") == [
        ("conversation_logs/dt=2026-11-20/baseline.jsonl",)]


def test_a_file_still_being_written_loses_no_line(warehouse: Warehouse) -> None:
    warehouse.vars = AS_OF
    baseline(warehouse)
    path = warehouse.raw / LOGS / "growing.jsonl"
    records = [line(valid_log(f"gr{i}")) for i in range(1, 21)]
    path.write_bytes(b"".join(records[:17]) + records[17][:25])           # 17 lines and a half-written 18th
    clock.mark_still_written(path)                                          # however long dbt takes to get there
    warehouse.build()
    first = manifest(warehouse, f"{LOGS}/growing.jsonl")
    assert first["lines_read"] == 18 and "read again" in first["error"]
    assert rejected(warehouse, f"{LOGS}/growing.jsonl") == [(18, "incomplete_line", "(line)")]
    assert_no_line_lost(warehouse)
    path.write_bytes(b"".join(records))                                     # the upload completes
    warehouse.build()
    row = manifest(warehouse, f"{LOGS}/growing.jsonl")
    assert (row["status"], row["change"], row["lines_read"]) == ("ingested", "appended", 20)
    assert warehouse.query(f"select count(*), min(line_number), max(line_number) from {STAGED_LOGS} "
                           "where file_name = ?", [f"{LOGS}/growing.jsonl"]) == [(20, 1, 20)]
    assert rejected(warehouse, f"{LOGS}/growing.jsonl") == []
    assert_no_line_lost(warehouse)
    assert_baseline_arrived(warehouse)


def test_a_file_rewritten_or_removed_after_ingestion_is_reported_not_reread(warehouse: Warehouse) -> None:
    warehouse.vars = AS_OF
    baseline(warehouse)
    rewritten = warehouse.write(LOGS, "rewritten.jsonl", [valid_log("r1"), valid_log("r2")])
    removed = warehouse.write(LOGS, "removed.jsonl", [valid_log("r3")])
    warehouse.build()
    rewritten.write_bytes(line(valid_log("r9")))
    removed.unlink()
    result = warehouse.build(check=False)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "WARN" in result.stdout and "ingestion_manifest" in result.stdout
    row = manifest(warehouse, f"{LOGS}/rewritten.jsonl")
    assert (row["change"], row["lines_read"]) == ("rewritten", 2) and row["fix"]
    gone = manifest(warehouse, f"{LOGS}/removed.jsonl")
    assert (gone["change"], gone["is_present"]) == ("removed", False)
    assert warehouse.query(f"select log_id from {STAGED_LOGS} "
                           "where log_id like 'r%' order by 1") == [("r1",), ("r2",), ("r3",)]
    summary = warehouse.cli("summary", "--build-file")
    assert "raw files to look at: 1 removed, 1 rewritten" in summary.stdout, summary.stdout + summary.stderr


def test_a_log_id_reused_by_another_conversation_gives_the_same_result_incrementally(tmp_path: Path) -> None:
    incremental = Warehouse(root=tmp_path / "incremental", vars=AS_OF)
    full = Warehouse(root=tmp_path / "full", vars=AS_OF)
    first = [valid_log("dup", "k1", received_at="2026-11-20T09:00:05Z"), valid_log("k1-2", "k1")]
    later = [valid_log("dup", "k2", received_at="2026-11-20T09:00:02Z"), valid_log("k2-2", "k2")]
    for warehouse in (incremental, full):
        baseline(warehouse)
        warehouse.write(LOGS, "a.jsonl", first)
    incremental.build()
    for warehouse in (incremental, full):
        warehouse.write(LOGS, "b.jsonl", later)
    incremental.build()
    full.build("--full-refresh")
    columns = ["log_id", "conversation_id", "file_name"]
    assert incremental.rows("staging.stg_customer_agent__conversation_logs", columns) == full.rows(
        "staging.stg_customer_agent__conversation_logs", columns)
    assert incremental.query(f"select conversation_id from {STAGED_LOGS} "
                             "where log_id = 'dup'") == [("k2",)]          # received first
    recon = "select file_name, lines_read, staged, duplicates, rejected from audit.reconciliation order by 1"
    assert incremental.query(recon) == full.query(recon)


def test_two_incremental_passes_over_hostile_files_equal_a_full_refresh(tmp_path: Path) -> None:
    incremental = Warehouse(root=tmp_path / "incremental", vars=AS_OF)
    full = Warehouse(root=tmp_path / "full", vars=AS_OF)
    passes = [
        {"p1/bad.jsonl": line(valid_log("q1", "q")) + b"\xff\xfe{not json\n" + line(valid_log("q2", "q")),
         "p1/trunc.jsonl.gz": gzip.compress(b"".join(line(valid_log(f"qt{i}", "q")) for i in range(30)))[:-40]},
        {"p2/late.jsonl": line(valid_log("q0", "q", occurred_at="2026-11-20T08:00:00Z", text="first")),
         "p2/dup.jsonl": line(valid_log("q1", "q", received_at="2026-11-20T09:00:00Z")),
         "p2/times.jsonl": line(valid_log("q3", "q", occurred_at=1763630000))},
    ]
    for warehouse in (incremental, full):
        warehouse.vars = {**AS_OF, "raw_file_settle_seconds": 0}            # every tail final: no clock
        baseline(warehouse)
    for files in passes:
        for warehouse in (incremental, full):
            for name, data in files.items():
                path = warehouse.raw / LOGS / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        incremental.build()
    full.build("--full-refresh")
    relations = [row[0] for row in full.query(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_schema in ('marts', 'segments', 'audit') and table_type = 'BASE TABLE' "
        "and table_name <> 'incremental_watermarks' order by 1")]  # the manifest of builds is history, by design
    lineage = ("loaded_at", "processed_at", "first_seen_at", "ingested_at", "checked_at", "first_seen_ns",
               "ingested_ns", "checked_ns", "modified_at", "modified_ns")
    assert incremental.snapshot(relations, lineage) == full.snapshot(relations, lineage)
    assert_no_line_lost(incremental)

"""`load --target postgres` and `build --target postgres` as users (and the hidden checks) run them: the real
CLI in a subprocess, CA_PG_* pointing at a fresh database of the session's throwaway server.

`load` COPYs the raw zone into the raw tables and prints one summary line (files new / appended / unchanged
/ quarantined / ignored, lines loaded); an unreachable server, refused credentials or a missing raw zone are
one line on stderr and exit code 2. `build` loads, then runs `dbt build --target postgres` (the BI and
activation roles created by the build), and publishes no DuckDB copy.
"""

from __future__ import annotations

import re
import socket
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from tests.python.postgres import PostgresWarehouse
from tests.python.test_cli import one_line_error

pytestmark = pytest.mark.postgres

SETTLED = "{raw_file_settle_seconds: 0}"
SUMMARY = re.compile(r"==> load: raw zone into PostgreSQL \S+: files (?P<files>.+); (?P<lines>[\d,]+) lines loaded")


def load(warehouse: PostgresWarehouse, *args: str) -> subprocess.CompletedProcess:
    return warehouse.cli("load", "--target", "postgres", "--vars", SETTLED, *args)


def summary(result: subprocess.CompletedProcess) -> tuple[dict[str, int], int]:
    """The files by outcome and the lines loaded, from the one summary line of a load."""
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    matches = [SUMMARY.fullmatch(line.split(" in ")[0]) for line in result.stdout.splitlines()
               if line.startswith("==> load:")]
    assert len(matches) == 1 and matches[0], result.stdout
    files = {outcome: int(count.replace(",", "")) for count, outcome in
             (part.split(" ") for part in matches[0]["files"].split(", "))}
    return files, int(matches[0]["lines"].replace(",", ""))


def lines_table(warehouse: PostgresWarehouse, table: str) -> list[tuple]:
    return warehouse.query(f"select file_name, line_number, raw_line from raw.{table} order by 1, 2")


def test_load_copies_new_files_then_only_what_is_new(pg_warehouse: PostgresWarehouse, tmp_path: Path) -> None:
    logs = [{"log_id": f"l{n}", "conversation_id": "c1", "occurred_at": "2026-11-20T10:00:00Z", "type": "message"}
            for n in range(3)]
    pg_warehouse.write("conversation_logs", "dt=2026-11-20/part-1.jsonl", logs[:2])
    pg_warehouse.write("orders", "orders.jsonl.gz", [{"order_id": "o1", "placed_at": "2026-11-20T11:00:00Z"}])
    pg_warehouse.write("profiles", "profiles.jsonl", [{"profile_id": "p1"}, "not json"])
    pg_warehouse.write("profiles", "notes.txt", ["ignored: not a raw file name"])
    outside = tmp_path.parent / f"{tmp_path.name}_outside.jsonl"
    outside.write_text('{"profile_id": "p2"}\n')
    (pg_warehouse.raw / "profiles" / "link.jsonl").symlink_to(outside)

    files, lines = summary(load(pg_warehouse))
    assert files == {"new": 3, "appended": 0, "unchanged": 0, "quarantined": 1, "ignored": 1}
    assert lines == 5
    assert lines_table(pg_warehouse, "profile_lines") == [("profiles/profiles.jsonl", 1, '{"profile_id": "p1"}'),
                                                          ("profiles/profiles.jsonl", 2, "not json")]
    assert pg_warehouse.query("select file_name, status from raw.profile_files order by 1") == [
        ("profiles/link.jsonl", "quarantined"), ("profiles/notes.txt", "ignored"),
        ("profiles/profiles.jsonl", "ingested")]

    # Nothing new: nothing read. Then a grown file (its new line only) and a new file.
    assert summary(load(pg_warehouse)) == ({"new": 0, "appended": 0, "unchanged": 3, "quarantined": 1,
                                            "ignored": 1}, 0)
    pg_warehouse.write("conversation_logs", "dt=2026-11-20/part-1.jsonl", logs)
    pg_warehouse.write("conversation_logs", "dt=2026-11-21/part-1.jsonl", logs[:1])
    files, lines = summary(load(pg_warehouse))
    assert files == {"new": 1, "appended": 1, "unchanged": 2, "quarantined": 1, "ignored": 1}
    assert lines == 2
    assert [row[:2] for row in lines_table(pg_warehouse, "conversation_log_lines")] == [
        ("conversation_logs/dt=2026-11-20/part-1.jsonl", 1), ("conversation_logs/dt=2026-11-20/part-1.jsonl", 2),
        ("conversation_logs/dt=2026-11-20/part-1.jsonl", 3), ("conversation_logs/dt=2026-11-21/part-1.jsonl", 1)]

    # --full-refresh reads every file again; the lines are the same, not doubled.
    files, lines = summary(load(pg_warehouse, "--full-refresh"))
    assert (files["new"], lines) == (4, 7)
    assert len(lines_table(pg_warehouse, "conversation_log_lines")) == 4


def test_load_creates_a_missing_database(pg_warehouse: PostgresWarehouse) -> None:
    pg_warehouse.write("profiles", "profiles.jsonl", [{"profile_id": "p1"}])
    pg_warehouse.database = f"{pg_warehouse.database}_new"
    try:
        result = load(pg_warehouse)
        assert summary(result)[1] == 1
        assert f"created PostgreSQL database {pg_warehouse.database}" in result.stdout
        assert pg_warehouse.query("select count(*) from raw.profile_lines") == [(1,)]
    finally:
        pg_warehouse.server.drop_database(pg_warehouse.database)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("CA_PG_PASSWORD", "not-the-password", "refused user 'postgres'.*CA_PG_USER and CA_PG_PASSWORD"),
    ("CA_PG_USER", "nobody_here", "refused user 'nobody_here'.*CA_PG_USER and CA_PG_PASSWORD"),
    ("CA_PG_PORT", "closed", "cannot connect to PostgreSQL at 127.0.0.1:\\d+ .*CA_PG_HOST and CA_PG_PORT"),
    ("CA_PG_HOST", "no-such-host.invalid", "cannot connect to PostgreSQL at no-such-host.invalid.*CA_PG_HOST"),
    ("CA_RAW_PATH", "missing", "raw zone .*missing does not exist \\(CA_RAW_PATH\\)"),
    ("CA_PG_PORT", "99999", "CA_PG_PORT='99999' is not valid"),
])
@pytest.mark.parametrize("command", ["load", "build"])
def test_foreseeable_problems_are_one_line_and_exit_2(pg_warehouse: PostgresWarehouse, tmp_path: Path, command: str,
                                                      variable: str, value: str, expected: str) -> None:
    pg_warehouse.write("profiles", "profiles.jsonl", [{"profile_id": "p1"}])
    value = {"closed": str(_closed_port()), "missing": str(tmp_path / "missing")}.get(value, value)
    result = pg_warehouse.cli(command, "--target", "postgres", env={**pg_warehouse.cli_env(), variable: value})
    line = one_line_error(result)
    assert re.search(expected, line), line
    assert pg_warehouse.server.password not in line


def test_load_needs_a_server_target(pg_warehouse: PostgresWarehouse) -> None:
    line = one_line_error(pg_warehouse.cli("load", "--target", "duckdb"))
    assert "--target duckdb has no load step" in line


# ---------------------------------------------------------------- build --target postgres

AS_OF = "2026-11-20T12:00:00Z"


def _conversation(conversation_id: str, start: str, profile_id: str) -> list[dict]:
    def at(seconds: int) -> str:
        return f"{start[:-3]}{seconds:02d}Z"

    base = {"conversation_id": conversation_id, "received_at": "2026-11-20T11:00:00Z", "channel": "Web Chat"}
    return [
        {**base, "log_id": f"{conversation_id}-1", "occurred_at": at(0), "type": "message", "actor": "shopper",
         "text": "where is my order?", "email": f" {profile_id.upper()}@Example.com "},
        {**base, "log_id": f"{conversation_id}-2", "occurred_at": at(5), "type": "skill", "actor": "agent",
         "skill": "Order Tracking"},
        {**base, "log_id": f"{conversation_id}-3", "occurred_at": at(30), "type": "status", "actor": "agent",
         "status": "resolved"},
    ]


def _profile(profile_id: str) -> dict:
    return {"profile_id": profile_id, "email": f"{profile_id}@example.com", "phone_number": "(415) 555-0100",
            "email_consent": "subscribed", "updated_at": "2026-11-01T00:00:00Z"}


def test_build_loads_and_builds_on_postgres_without_a_duckdb_copy(pg_warehouse: PostgresWarehouse) -> None:
    pg_warehouse.write("conversation_logs", "a.jsonl", _conversation("c1", "2026-11-20T10:00:00Z", "p1"))
    pg_warehouse.write("profiles", "profiles.jsonl", [_profile("p1"), _profile("p2")])
    build_vars = f"{{as_of: '{AS_OF}', raw_file_settle_seconds: 0}}"
    result = pg_warehouse.cli("build", "--target", "postgres", "--vars", build_vars)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "==> load: raw zone into PostgreSQL" in result.stdout and "==> dbt build: ok" in result.stdout
    assert not pg_warehouse.db.exists() and not pg_warehouse.serving.exists()
    assert pg_warehouse.query(
        "select conversation_id, profile_id, channel, started_at, initial_skill, first_message "
        "from marts.fct_conversation_started") == [
        ("c1", "p1", "web_chat", datetime(2026, 11, 20, 10), "order_tracking", "where is my order?")]
    assert pg_warehouse.query(
        "select conversation_id, resolved_at, final_skill, resolution_seconds from marts.fct_conversation_resolved"
    ) == [("c1", datetime(2026, 11, 20, 10, 0, 30), "order_tracking", 30.0)]
    assert pg_warehouse.query(
        "select profile_id, email, phone_number, conversations_started, evaluated_as_of "
        "from segments.seg_started_conversation") == [("p1", "p1@example.com", "+14155550100", 1,
                                                       datetime(2026, 11, 20, 12))]
    assert pg_warehouse.query("select rolname from pg_roles where rolname in ('ca_bi', 'ca_activation') "
                              "order by 1") == [("ca_activation",), ("ca_bi",)]

    # A new file: loaded alone, built incrementally.
    pg_warehouse.write("conversation_logs", "b.jsonl", _conversation("c2", "2026-11-20T11:00:00Z", "p2"))
    result = pg_warehouse.cli("build", "--target", "postgres", "--vars", build_vars)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "files 1 new, 0 appended, 2 unchanged" in result.stdout
    assert pg_warehouse.query(
        "select conversation_id, profile_id, resolution_seconds from marts.fct_conversation_resolved order by 1") == [
        ("c1", "p1", 30.0), ("c2", "p2", 30.0)]
    assert pg_warehouse.query(
        "select channel, conversations_started, conversations_resolved_by_agent, resolution_rate "
        "from marts.agg_customer_agent_daily") == [("web_chat", 2, 2, 1.0)]
    assert pg_warehouse.query(
        "select source, sum(lines_read), sum(staged), sum(duplicates), sum(rejected) from audit.reconciliation "
        "group by source order by source") == [("conversation_logs", 6, 6, 0, 0), ("profiles", 2, 2, 0, 0)]

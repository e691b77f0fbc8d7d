"""Issue 27, spec §13: `run --watch` end to end, with the real watcher process, real in-process dbt builds, real
validation and real publishes of the serving copy.

One watcher lives through the module (its steps depend on each other, so they run in one test): it builds the
starting raw zone once, then

1. a dropped file's conversation appears in the serving copy (rows derived by hand from spec §4);
2. listings that find no new file build nothing (the build file and the serving copy stay as they are, dbt parsed
   once), and another build of the same warehouse is refused while the watcher runs;
3. a cycle that fails (a notebook holds the build file open) prints one line and keeps the last good serving copy;
   the next cycle after the file is closed publishes the waiting file;
4. SIGTERM during a cycle ends the watcher after that cycle, with exit code 0.

Every wait polls the watcher's status file or the serving copy with a deadline; the watcher lists every 0.2 s.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pytest

from customer_agent_warehouse.generate import generate_raw_zone
from tests.python import raw_records
from tests.python.warehouse import PROJECT_ROOT, Warehouse, ts

pytestmark = pytest.mark.slow

DEADLINE_SECONDS = 600.0
log = raw_records.log  # received when it happened


def wait_for(what: str, condition: Callable[[], Any], watcher: subprocess.Popen, output: Path,
             deadline: float = DEADLINE_SECONDS) -> Any:
    """Poll `condition` until it returns a truthy value; fail with the watcher's output at the deadline."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        if watcher.poll() is not None and what != "exit":
            break
        time.sleep(0.1)
    pytest.fail(f"{what}: not within {deadline:.0f}s (watcher exit {watcher.poll()}):\n{output.read_text()[-4000:]}")


def status(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def serving_rows(serving: Path, sql: str) -> list[tuple] | None:
    """Rows of the serving copy, or None while it is not published yet."""
    if not serving.is_file():
        return None
    with duckdb.connect(str(serving), read_only=True) as connection:
        connection.execute("set TimeZone = 'UTC'")
        return connection.execute(sql).fetchall()


def conversation(number: int, day: str, channel: str, skill: str, reason: str) -> list[dict[str, Any]]:
    """A shopper who writes once on `channel` after the skill is set, is identified, then is escalated."""
    cid = f"watch-{number}"
    return [
        log(f"{cid}-01", cid, f"{day}T09:00:00Z", "skill", "agent", skill=skill),
        log(f"{cid}-02", cid, f"{day}T09:00:10Z", "message", "shopper", channel=channel, text=f"Question {number}"),
        log(f"{cid}-03", cid, f"{day}T09:00:20Z", "identify", "system", profile_id=f"p_watch_{number}"),
        log(f"{cid}-04", cid, f"{day}T09:01:00Z", "status", "agent", status="escalated", escalation_reason=reason),
    ]


STARTED_SQL = ("select conversation_id, started_at, profile_id, channel, initial_skill, first_message "
               "from marts.fct_conversation_started where conversation_id like 'watch-%' order by 1")
ESCALATED_SQL = ("select conversation_id, escalated_at, profile_id, channel, escalation_reason, skill "
                 "from marts.fct_conversation_escalated where conversation_id like 'watch-%' order by 1")
# By hand from spec §4: the start is the first shopper message; its channel and the skill active then are
# normalised labels; the profile sent later identifies every event; the escalation carries its normalised reason.
EXPECTED_STARTED = {
    1: ("watch-1", ts("2026-11-20T09:00:10Z"), "p_watch_1", "sms", "returns", "Question 1"),
    2: ("watch-2", ts("2026-11-21T09:00:10Z"), "p_watch_2", "web_chat", "order_tracking", "Question 2"),
    3: ("watch-3", ts("2026-11-22T09:00:10Z"), "p_watch_3", "email", "faq", "Question 3"),
}
EXPECTED_ESCALATED = {
    1: ("watch-1", ts("2026-11-20T09:01:00Z"), "p_watch_1", "sms", "shopper_requested", "returns"),
    2: ("watch-2", ts("2026-11-21T09:01:00Z"), "p_watch_2", "web_chat", "sensitive_topic", "order_tracking"),
    3: ("watch-3", ts("2026-11-22T09:01:00Z"), "p_watch_3", "email", "knowledge_gap", "faq"),
}
DROPS = {
    1: ("2026-11-20", "SMS", "Returns", "Shopper Requested"),
    2: ("2026-11-21", "Web Chat", "Order Tracking", "Sensitive Topic"),
    3: ("2026-11-22", "email", "FAQ", "Knowledge Gap"),
}


def drop(warehouse: Warehouse, number: int) -> None:
    """Write the file under a hidden name, then rename it: as an upload tool delivers a complete file."""
    day = DROPS[number][0]
    written = warehouse.write("conversation_logs", f"dt={day}/_watch-{number}.jsonl",
                              conversation(number, *DROPS[number]))
    written.rename(written.with_name(f"watch-{number}.jsonl"))


def expected(numbers: range) -> tuple[list[tuple], list[tuple]]:
    return [EXPECTED_STARTED[n] for n in numbers], [EXPECTED_ESCALATED[n] for n in numbers]


def test_watch_publishes_new_files_skips_idle_listings_recovers_and_stops_on_sigterm(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path)
    generate_raw_zone(warehouse.raw, conversations=40, seed=5, start_date=dt.date(2026, 11, 1), days=10)
    status_file, output = tmp_path / "watch-status.json", tmp_path / "watch-output.txt"
    with output.open("w") as stream:
        watcher = subprocess.Popen(
            [sys.executable, "-m", "customer_agent_warehouse", "run", "--watch", "--interval", "0.2",
             "--status-file", str(status_file)],
            cwd=PROJECT_ROOT, env=warehouse.cli_env(), stdout=stream, stderr=subprocess.STDOUT)
    try:
        wait = partial(wait_for, watcher=watcher, output=output)
        serving = warehouse.serving
        wait("the first cycle", lambda: status(status_file).get("cycles") == 1)
        assert serving_rows(serving, STARTED_SQL) == []
        assert serving_rows(serving, "select count(*) from marts.fct_conversation_started")[0][0] > 20

        # 1. a new file is published
        drop(warehouse, 1)
        wait("watch-1 in the serving copy", lambda: serving_rows(serving, STARTED_SQL))
        assert (serving_rows(serving, STARTED_SQL), serving_rows(serving, ESCALATED_SQL)) == expected(range(1, 2))
        wait("the second cycle's status", lambda: status(status_file).get("cycles") == 2)
        lines = output.read_text().splitlines()
        cycle_2 = next(line for line in lines if line.startswith("==> cycle 2:"))
        assert "1 new or grown file, 4 lines = 4 staged + 0 duplicates + 0 rejected" in cycle_2, cycle_2
        assert all(phase in cycle_2 for phase in ("build ", "validate ", "publish ", "dashboard ", "after it landed"))

        # 2. listings without a new file build nothing; dbt was parsed once; other builds are refused
        before = status(status_file)
        build_mtime, serving_inode = warehouse.db.stat().st_mtime_ns, serving.stat().st_ino
        wait("ten idle listings", lambda: status(status_file).get("listings", 0) >= before["listings"] + 10)
        after = status(status_file)
        assert (after["cycles"], after["failed_cycles"], after["parses"]) == (2, 0, 1)
        assert (warehouse.db.stat().st_mtime_ns, serving.stat().st_ino) == (build_mtime, serving_inode)
        other = warehouse.cli("build")
        assert other.returncode == 2 and "run --watch" in other.stderr and "being built by" in other.stderr, \
            other.stderr

        # 3. a failed cycle keeps the last good copy; the next cycle recovers
        notebook = duckdb.connect(str(warehouse.db))  # a notebook holds the build file open
        try:
            drop(warehouse, 2)
            wait("a failed cycle", lambda: status(status_file).get("failed_cycles") == 1)
            failed = [line for line in output.read_text().splitlines() if "FAILED" in line]
            assert len(failed) == 1 and "is open in another process" in failed[0] \
                and "last good one" in failed[0], failed
            assert serving.stat().st_ino == serving_inode
            assert serving_rows(serving, STARTED_SQL) == expected(range(1, 2))[0]
        finally:
            notebook.close()
        wait("watch-2 in the serving copy", lambda: len(serving_rows(serving, STARTED_SQL)) == 2)
        assert (serving_rows(serving, STARTED_SQL), serving_rows(serving, ESCALATED_SQL)) == expected(range(1, 3))

        # 4. SIGTERM during a cycle: the cycle completes, then the watcher exits 0
        wait("the recovery's status", lambda: status(status_file).get("cycles") == 3)
        drop(warehouse, 3)
        wait("the fourth cycle starts", lambda: status(status_file).get("building"))
        watcher.send_signal(signal.SIGTERM)
        wait("exit", lambda: watcher.poll() is not None)
        assert watcher.returncode == 0, output.read_text()[-3000:]
        assert (serving_rows(serving, STARTED_SQL), serving_rows(serving, ESCALATED_SQL)) == expected(range(1, 4))
        last = output.read_text().splitlines()[-1]
        assert last.startswith("==> watcher stopped (SIGTERM) after 4 cycle(s), 1 failed"), last
        assert not any("Traceback" in line for line in output.read_text().splitlines())
    finally:
        if watcher.poll() is None:
            os.kill(watcher.pid, signal.SIGKILL)
            watcher.wait()

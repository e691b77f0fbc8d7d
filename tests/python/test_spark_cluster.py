"""Issue 24: the standalone cluster of the tests and the bench (customer_agent_warehouse/spark_cluster.py) starts
from pyspark's own launch scripts and leaves no process behind: stopped by pid when its block ends, also on an
exception, and by its watchdog when the Python process that started it dies.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from customer_agent_warehouse.spark_cluster import Cluster, standalone_cluster
from tests.python.warehouse import PROJECT_ROOT

pytestmark = pytest.mark.spark


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def wait_until(condition: Callable[[], bool], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_a_cluster_is_up_when_its_block_starts_and_gone_when_it_fails(spark_env: dict[str, str],
                                                                      tmp_path: Path) -> None:
    os.environ.setdefault("JAVA_HOME", spark_env["JAVA_HOME"])
    pids: list[int] = []
    with pytest.raises(RuntimeError, match="the block failed"), \
            standalone_cluster(tmp_path, workers=1, worker_memory="512m") as cluster:
        pids = [process.popen.pid for process in cluster.processes]
        pids += [process.watchdog.pid for process in cluster.processes if process.watchdog]
        assert cluster.master_url.startswith("spark://127.0.0.1:") and cluster.alive_workers() == 1
        assert all(alive(pid) for pid in pids)
        raise RuntimeError("the block failed")
    assert len(pids) == 4 and wait_until(lambda: not any(alive(pid) for pid in pids), 30), pids


def test_the_watchdog_stops_the_process_group_when_its_parent_dies() -> None:
    group = subprocess.Popen(["sleep", "600"], start_new_session=True)
    parent = subprocess.Popen(["sleep", "600"])
    watchdog = subprocess.Popen([sys.executable, "-m", "customer_agent_warehouse.spark_cluster", "_watch",
                                 str(parent.pid), str(group.pid)])
    try:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert wait_until(lambda: group.poll() is not None, 30), "the group outlived its parent"
        assert watchdog.wait(30) == 0
    finally:
        for process in (group, parent, watchdog):
            if process.poll() is None:
                process.kill()
                process.wait()


def test_the_raw_loader_on_the_cluster_runs_executors_on_the_workers_and_no_python(
        spark_env: dict[str, str], spark_cluster: Cluster, tmp_path: Path) -> None:
    """`load --target spark` on the session's cluster (a clean file read by Spark's text source, a file with a byte
    order mark whose lines the reader hands over, then a second load with a new file): executors on both workers,
    and no Python worker started there, so a cluster's workers need Java only."""
    logs = tmp_path / "raw" / "conversation_logs"
    logs.mkdir(parents=True)
    line = '{"log_id": "l%d", "conversation_id": "c1", "occurred_at": "2026-11-20T10:00:00Z", "type": "message"}\n'
    (logs / "clean.jsonl").write_text("".join(line % number for number in range(50)))
    (logs / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + (line % 50).encode())
    for source in ("orders", "profiles"):
        (tmp_path / "raw" / source).mkdir()
    env = dict(spark_env, CA_SPARK_MASTER=spark_cluster.master_url, CA_RAW_PATH=str(tmp_path / "raw"),
               CA_SPARK_WAREHOUSE=str(tmp_path / "warehouse"))
    command = [sys.executable, "-m", "customer_agent_warehouse", "load", "--target", "spark", "--vars",
               '{raw_file_settle_seconds: 0}']
    for delivery in range(2):
        if delivery:
            (logs / "later.jsonl").write_text(line % 51)
        result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = ds.dataset(tmp_path / "warehouse" / "raw.db" / "conversation_log_lines", format="parquet",
                       partitioning="hive").count_rows()
    assert lines == 52
    executor_logs = spark_cluster.executor_logs()
    assert {log.relative_to(spark_cluster.work_dir).parts[0] for log in executor_logs} == {"worker-1", "worker-2"}
    assert any("Running task" in log.read_text() for log in executor_logs)
    python = [str(log) for log in executor_logs if "PythonRunner" in log.read_text()]
    assert not python, f"Python workers started on the cluster: {python}"

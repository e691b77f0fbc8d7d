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

import pytest

from customer_agent_warehouse.spark_cluster import standalone_cluster

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

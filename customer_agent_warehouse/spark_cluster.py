"""A Spark standalone cluster (a master and workers on 127.0.0.1) and a Spark Thrift server, run from the pinned
pyspark's own launch scripts: for the test suite, the Spark bench and local trials. Nothing is downloaded.

    with standalone_cluster(Path("/tmp/cluster"), workers=2) as cluster:
        build_env = {"CA_SPARK_MASTER": cluster.master_url}                  # spark://127.0.0.1:<port>
        with thrift_server(cluster.master_url, Path("/tmp/wh"), Path("/tmp/thrift")) as server:
            ...                                                              # server.env(): CA_SPARK_HOST/PORT/USER

Every process is started in the foreground of its own process group (`spark-class` execs the JVM, so the pid is
the JVM's), waited for by polling with a deadline (the master's JSON page for the workers, the Thrift port), and
stopped by pid when the block ends, also on an exception, on SIGTERM and at interpreter exit. Logs are in
`<root>/<process>.log`.

    python -m customer_agent_warehouse.spark_cluster [--workers 2] [--thrift-warehouse DIR]   # runs until Ctrl-C
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
START_SECONDS = 120.0
STOP_SECONDS = 20.0
THRIFT_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"


class ClusterError(RuntimeError):
    """A process of the cluster did not start: one line naming it and its log."""


def spark_home() -> Path:
    """The pip pyspark's package folder: it has `bin/spark-class` and every jar (Thrift server included)."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@dataclass
class Process:
    """One JVM started by this module, the leader of its own process group (a worker's executors are in it too),
    and the watchdog that stops the group if this Python process dies without stopping it."""

    name: str
    popen: subprocess.Popen
    log: Path
    watchdog: subprocess.Popen | None = None

    def tail(self, lines: int = 20) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.popen.poll() is None:
            stop_group(self.popen.pid, lambda: self.popen.poll() is not None)
            self.popen.wait(STOP_SECONDS)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)  # executors left behind by a worker
        if self.watchdog is not None and self.watchdog.poll() is None:
            self.watchdog.kill()
            self.watchdog.wait()


def stop_group(group: int, stopped: Callable[[], bool]) -> None:
    """SIGTERM to a process group, SIGKILL when it has not stopped within STOP_SECONDS."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    while not stopped() and time.monotonic() < deadline:
        time.sleep(0.2)
    if not stopped():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def watch(parent: int, group: int) -> None:
    """The watchdog's loop: stop the group when `parent` is gone; return when the group is gone."""
    while _group_alive(group):
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            stop_group(group, lambda: not _group_alive(group))
            return
        time.sleep(1)


def _start_watchdog(group: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "customer_agent_warehouse.spark_cluster", "_watch", str(os.getpid()),
                             str(group)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


_RUNNING: list[Process] = []


def stop_all() -> None:
    """Stop every process this module started and that still runs, newest first."""
    while _RUNNING:
        _RUNNING.pop().stop()


def _on_sigterm(signum: int, _frame: object) -> None:
    stop_all()
    raise SystemExit(128 + signum)


atexit.register(stop_all)


def _install_sigterm_handler() -> None:
    """On SIGTERM (a killed test run) stop the cluster before exiting; only from the main thread."""
    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        with contextlib.suppress(ValueError):  # not the main thread
            signal.signal(signal.SIGTERM, _on_sigterm)


def process_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The launch scripts' environment: this pyspark as SPARK_HOME, this Python for Python workers, UTC."""
    from customer_agent_warehouse.spark_session import ensure_java

    ensure_java()
    env = dict(os.environ, SPARK_HOME=str(spark_home()), SPARK_LOCAL_IP=HOST, PYSPARK_PYTHON=sys.executable,
               TZ="UTC")
    env.update(extra or {})
    return env


def start_process(name: str, args: list[str], root: Path, env: dict[str, str]) -> Process:
    """`spark-class <args>` in its own process group, output in `<root>/<name>.log`."""
    root.mkdir(parents=True, exist_ok=True)
    log = root / f"{name}.log"
    with log.open("wb") as output:
        popen = subprocess.Popen([str(spark_home() / "bin" / "spark-class"), *args], cwd=root, env=env,
                                 stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    process = Process(name, popen, log, _start_watchdog(popen.pid))
    _RUNNING.append(process)
    _install_sigterm_handler()
    return process


def wait_for(ready: Callable[[], bool], processes: list[Process], what: str, seconds: float = START_SECONDS) -> None:
    """Poll `ready` until true; fail at once when a process died, or at the deadline."""
    deadline = time.monotonic() + seconds
    while not ready():
        for process in processes:
            if process.popen.poll() is not None:
                raise ClusterError(f"{process.name} exited with {process.popen.returncode} before {what}; "
                                   f"see {process.log}:\n{process.tail()}")
        if time.monotonic() > deadline:
            raise ClusterError(f"{what} not within {seconds:.0f} s; see the logs in {processes[0].log.parent}")
        time.sleep(0.25)


def master_state(web_port: int) -> dict:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{web_port}/json/", timeout=2) as response:
            return json.load(response)
    except OSError:
        return {}


@dataclass
class Cluster:
    """A running standalone cluster."""

    master_url: str
    web_port: int
    worker_cores: int
    work_dir: Path
    processes: list[Process] = field(default_factory=list)

    def executor_logs(self) -> list[Path]:
        """The stderr of every executor the workers ran: `<work_dir>/worker-N/<app>/<executor>/stderr`."""
        return sorted(self.work_dir.glob("worker-*/app-*/*/stderr"))

    def alive_workers(self) -> int:
        state = master_state(self.web_port)
        return sum(1 for worker in state.get("workers", []) if worker.get("state") == "ALIVE")

    @property
    def cores(self) -> int:
        return self.worker_cores * (len(self.processes) - 1)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
            if process in _RUNNING:
                _RUNNING.remove(process)


@contextmanager
def standalone_cluster(root: Path, workers: int = 2, worker_cores: int = 1,
                       worker_memory: str = "2g") -> Iterator[Cluster]:
    """A master and `workers` workers on free ports of 127.0.0.1, each worker offering `worker_cores` cores
    and `worker_memory`; stopped when the block ends."""
    env = process_env()
    port, web_port = free_port(), free_port()
    cluster = Cluster(f"spark://{HOST}:{port}", web_port, worker_cores, root / "work")
    try:
        cluster.processes.append(start_process(
            "master", ["org.apache.spark.deploy.master.Master", "--host", HOST, "--port", str(port),
                       "--webui-port", str(web_port)], root, env))
        wait_for(lambda: bool(master_state(web_port)), cluster.processes, "the Spark master answered")
        for number in range(1, workers + 1):
            cluster.processes.append(start_process(
                f"worker-{number}", ["org.apache.spark.deploy.worker.Worker", "--host", HOST, "--cores",
                                     str(worker_cores), "--memory", worker_memory, "--webui-port",
                                     str(free_port()), "--work-dir", str(cluster.work_dir / f"worker-{number}"),
                                     cluster.master_url], root, env))
        wait_for(lambda: cluster.alive_workers() == workers, cluster.processes,
                 f"{workers} Spark workers registered with the master")
        yield cluster
    finally:
        cluster.stop()


@dataclass
class ThriftServer:
    host: str
    port: int
    process: Process

    def env(self) -> dict[str, str]:
        """The CA_SPARK_* variables that point the `spark_thrift` output at this server."""
        return {"CA_SPARK_HOST": self.host, "CA_SPARK_PORT": str(self.port), "CA_SPARK_USER": "dbt"}


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


def thrift_arguments(master: str, settings: dict[str, str], port: int) -> list[str]:
    """spark-submit of the Thrift server with the `spark` output's settings (`--conf`), on `port`."""
    arguments = ["org.apache.spark.deploy.SparkSubmit", "--class", THRIFT_CLASS, "--master", master,
                 "--name", "customer_agent_warehouse_thrift"]
    for name, value in settings.items():
        if name not in ("spark.master", "spark.app.name"):
            arguments += ["--conf", f"{name}={value}"]
    return [*arguments, "--hiveconf", f"hive.server2.thrift.port={port}", "--hiveconf",
            f"hive.server2.thrift.bind.host={HOST}", "spark-internal"]


@contextmanager
def thrift_server(master: str, warehouse: Path, root: Path,
                  overrides: dict[str, str] | None = None) -> Iterator[ThriftServer]:
    """A Spark Thrift server (HiveThriftServer2) on `master` with the settings of the profile's `spark` output for
    `warehouse` (its own Derby metastore beside it; `overrides` of other CA_SPARK_* variables); stopped when the
    block ends."""
    from customer_agent_warehouse.spark_session import FORCED_SETTINGS, spark_settings

    warehouse.mkdir(parents=True, exist_ok=True)
    variables = {**(overrides or {}), "CA_SPARK_WAREHOUSE": str(warehouse), "CA_SPARK_MASTER": master}
    settings = {**spark_settings(overrides=variables), **FORCED_SETTINGS}
    port = free_port()
    process = start_process("thrift-server", thrift_arguments(master, settings, port), root, process_env())
    try:
        wait_for(lambda: _port_open(port), [process], "the Spark Thrift server listened", seconds=2 * START_SECONDS)
        yield ThriftServer(HOST, port, process)
    finally:
        process.stop()
        if process in _RUNNING:
            _RUNNING.remove(process)


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["_watch"]:
        watch(int(arguments[1]), int(arguments[2]))
        return 0
    parser = argparse.ArgumentParser(prog="python -m customer_agent_warehouse.spark_cluster",
                                     description="Run a local Spark standalone cluster until Ctrl-C.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--root", type=Path, default=Path("data/spark-cluster"))
    parser.add_argument("--thrift-warehouse", type=Path, help="also run a Thrift server on this warehouse")
    args = parser.parse_args(arguments)
    with standalone_cluster(args.root.resolve(), workers=args.workers) as cluster:
        print(f"export CA_SPARK_MASTER={cluster.master_url}", flush=True)
        if args.thrift_warehouse is None:
            _wait_forever()
            return 0
        with thrift_server(cluster.master_url, args.thrift_warehouse.resolve(), args.root.resolve()) as server:
            print("\n".join(f"export {name}={value}" for name, value in server.env().items()), flush=True)
            _wait_forever()
    return 0


def _wait_forever() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())

"""The project's throwaway PostgreSQL server: started on a free local port as the `postgres` OS user,
reachable with its generated password, stopped and removed by `stop`, by the CLI, and by its watchdog
when the process that started it dies. Each test starts its own server (a few seconds each), so these
tests are not marked `postgres` (which gives a test the session's server and a database of it)."""

from __future__ import annotations

import json
import os
import pwd
import signal
import socket
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import psycopg2
import pytest

from customer_agent_warehouse import postgres_server
from tests.python.warehouse import PROJECT_ROOT


def _port_is_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_a_server_runs_as_the_postgres_user_and_stop_removes_it() -> None:
    server = postgres_server.start()
    try:
        root = Path(server.root)
        if os.geteuid() == 0:
            assert pwd.getpwuid((root / "data").stat().st_uid).pw_name == "postgres"
        with closing(server.connect()) as connection, connection.cursor() as cursor:
            cursor.execute("select current_database(), current_setting('listen_addresses'), "
                           "current_setting('port')::int, current_setting('fsync')")
            assert cursor.fetchone() == ("customer_agent", "127.0.0.1", server.port, "off")
        with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
            server.connect(password="wrong")
    finally:
        postgres_server.stop(server)
    assert not root.exists()
    assert not _port_is_open(server.port)


def test_the_watchdog_stops_the_server_of_a_killed_owner() -> None:
    owner = subprocess.Popen(
        [sys.executable, "-c",
         "import json, time\n"
         "from dataclasses import asdict\n"
         "from customer_agent_warehouse.postgres_server import start\n"
         "print(json.dumps(asdict(start())), flush=True)\n"
         "time.sleep(600)\n"],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        server = postgres_server.PostgresServer(**json.loads(owner.stdout.readline()))
        assert _port_is_open(server.port)
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=10)
        assert _wait_until(lambda: not Path(server.root).exists() and not _port_is_open(server.port), 30)
    finally:
        owner.kill()
        owner.stdout.close()


def test_the_command_line_prints_the_connection_and_stops_the_server(tmp_path: Path) -> None:
    module = [sys.executable, "-m", "customer_agent_warehouse.postgres_server"]
    started = subprocess.run([*module, "start"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    exports = dict(line.removeprefix("export ").split("=", 1) for line in started.stdout.splitlines()
                   if line.startswith("export "))
    root = started.stdout.split("server directory: ", 1)[1].split(" ", 1)[0]
    try:
        with closing(psycopg2.connect(host=exports["CA_PG_HOST"], port=exports["CA_PG_PORT"],
                                      user=exports["CA_PG_USER"], password=exports["CA_PG_PASSWORD"],
                                      dbname=exports["CA_PG_DATABASE"])) as connection:
            assert connection.server_version >= 150000
    finally:
        stopped = subprocess.run([*module, "stop", "--dir", root], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert stopped.returncode == 0, stopped.stderr
    assert not Path(root).exists()
    assert not _port_is_open(int(exports["CA_PG_PORT"]))

    unknown = subprocess.run([*module, "stop", "--dir", str(tmp_path)], cwd=PROJECT_ROOT, capture_output=True,
                             text=True)
    assert unknown.returncode == 2
    assert unknown.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'server.json'} not found: --dir must be the directory printed by `start`."]

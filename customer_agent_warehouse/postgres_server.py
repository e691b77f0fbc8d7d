"""A throwaway PostgreSQL server that the project owns: for the test suite, CI and local trials.

`start()` installs PostgreSQL from the Debian packages when its programs are missing (as root, with
apt-get), creates a cluster in a new temporary directory owned by the `postgres` OS user (initdb refuses
to run as root, and CI runs as root), starts it on a free port of 127.0.0.1 with a random password,
and creates the database. `stop()` stops it and removes the directory. A watchdog process stops the
server too when the process that started it dies without stopping it (a killed test run).

    python -m customer_agent_warehouse.postgres_server start [--dir DIR]   # prints `export CA_PG_...` lines
    python -m customer_agent_warehouse.postgres_server stop --dir DIR

Nothing is persistent: the server is for builds that can be thrown away (fsync is off).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from customer_agent_warehouse.quoting import quote_identifier

SERVER_USER = "postgres"
DATABASE = "customer_agent"
STATE_FILE = "server.json"
START_ATTEMPTS = 3


class ServerError(RuntimeError):
    """A foreseeable problem (PostgreSQL missing, cannot start), as one line for the user."""


@dataclass(frozen=True)
class PostgresServer:
    root: str
    bindir: str
    port: int
    password: str
    host: str = "127.0.0.1"
    user: str = "postgres"
    database: str = DATABASE
    watchdog_pid: int | None = None

    @property
    def data_dir(self) -> Path:
        return Path(self.root) / "data"

    def env(self, database: str | None = None) -> dict[str, str]:
        """The CA_PG_* variables that point the dbt `postgres` target at this server."""
        return {
            "CA_PG_HOST": self.host,
            "CA_PG_PORT": str(self.port),
            "CA_PG_USER": self.user,
            "CA_PG_PASSWORD": self.password,
            "CA_PG_DATABASE": database or self.database,
        }

    def connect(self, database: str | None = None, user: str | None = None, password: str | None = None):
        """A psycopg2 connection (autocommit) to a database of this server, by default as the superuser."""
        import psycopg2

        connection = psycopg2.connect(host=self.host, port=self.port, dbname=database or self.database,
                                      user=user or self.user, password=self.password if password is None else password)
        connection.autocommit = True
        return connection

    def create_database(self, name: str) -> None:
        """A new empty database with a linguistic (ICU en-US) collation, unlike byte order on purpose:
        a model whose result depends on the database's collation differs from DuckDB and is caught."""
        with contextlib.closing(self.connect("postgres")) as connection, connection.cursor() as cursor:
            cursor.execute(
                f"create database {quote_identifier(name)} template template0 encoding 'UTF8' "
                "locale_provider icu icu_locale 'en-US' locale 'C.UTF-8'"
            )

    def drop_database(self, name: str) -> None:
        with contextlib.closing(self.connect("postgres")) as connection, connection.cursor() as cursor:
            cursor.execute(f"drop database if exists {quote_identifier(name)} with (force)")


def _is_root() -> bool:
    return os.geteuid() == 0


def find_bindir() -> Path | None:
    """The directory of initdb and pg_ctl: on PATH, else the newest Debian /usr/lib/postgresql/<v>/bin."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0)
    return Path(candidates[-1]).parent if candidates else None


APT_LOCK = "/tmp/customer-agent-warehouse-apt.lock"


def install_postgres() -> Path:
    """Install the Debian package `postgresql` (needs root and apt-get) and return its bin directory."""
    if not (_is_root() and shutil.which("apt-get")):
        raise ServerError("PostgreSQL (initdb, pg_ctl) is not installed and this is not a root Debian machine: "
                          "install the OS package `postgresql` (15 or later), or put its bin directory on PATH.")
    print("==> installing PostgreSQL from the Debian packages (apt-get install postgresql)", file=sys.stderr)
    apt_env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postgresql"]):
        # One apt-get at a time on this machine (the test workers may install Java, PostgreSQL and Chromium at once).
        result = subprocess.run(["flock", APT_LOCK, *command], env=apt_env, capture_output=True, text=True,
                                check=False)
        if result.returncode != 0:
            last_line = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise ServerError(f"`{' '.join(command)}` failed ({last_line}); install the OS package `postgresql`.")
    bindir = find_bindir()
    if bindir is None:
        raise ServerError("apt-get installed postgresql but no pg_ctl was found under /usr/lib/postgresql/*/bin.")
    return bindir


def _ensure_server_user() -> None:
    """As root, the cluster belongs to the `postgres` OS user (created by the Debian package)."""
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", SERVER_USER], check=True)


def _as_server_user(command: Sequence[str]) -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--", *command] if _is_root() else list(command)


def _run(command: Sequence[str], what: str) -> None:
    result = subprocess.run(_as_server_user(command), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()[-1]
        raise ServerError(f"PostgreSQL {what} failed: {detail}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _make_root(parent: Path | None) -> Path:
    root = Path(tempfile.mkdtemp(prefix="ca-postgres-", dir=parent))
    if _is_root():
        _ensure_server_user()
        account = pwd.getpwnam(SERVER_USER)
        os.chown(root, account.pw_uid, account.pw_gid)
    return root


def _initdb(bindir: Path, root: Path, password: str) -> None:
    password_file = root / "password"
    password_file.write_text(password + "\n")
    if _is_root():
        account = pwd.getpwnam(SERVER_USER)
        os.chown(password_file, account.pw_uid, account.pw_gid)
    password_file.chmod(0o600)
    try:
        _run([str(bindir / "initdb"), "-D", str(root / "data"), "-U", "postgres", f"--pwfile={password_file}",
              "--auth-host=scram-sha-256", "--auth-local=peer", "--encoding=UTF8", "--locale=C.UTF-8"], "initdb")
    finally:
        password_file.unlink(missing_ok=True)


def _pg_ctl_start(bindir: Path, root: Path, port: int) -> None:
    options = " ".join([
        "-c listen_addresses=127.0.0.1", f"-c port={port}", f"-c unix_socket_directories={root}",
        "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off", "-c max_connections=60",
    ])
    _run([str(bindir / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "server.log"), "-w", "-t", "60",
          "-o", options, "start"], "start")


def _start_watchdog(root: Path) -> int:
    """A detached process that stops the server when this process dies without stopping it."""
    watchdog = subprocess.Popen(
        [sys.executable, "-m", "customer_agent_warehouse.postgres_server", "watch", "--dir", str(root),
         "--pid", str(os.getpid())],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    return watchdog.pid


def start(parent: Path | None = None, watch: bool = True) -> PostgresServer:
    """Install if needed, create, start and open a throwaway server; on any failure nothing is left behind."""
    bindir = find_bindir() or install_postgres()
    root = _make_root(parent)
    password = secrets.token_urlsafe(18)
    try:
        _initdb(bindir, root, password)
        for attempt in range(START_ATTEMPTS):
            port = _free_port()
            try:
                _pg_ctl_start(bindir, root, port)
                break
            except ServerError:
                if attempt == START_ATTEMPTS - 1:
                    raise
        server = PostgresServer(root=str(root), bindir=str(bindir), port=port, password=password)
        server.create_database(server.database)
        if watch:
            server = PostgresServer(**{**asdict(server), "watchdog_pid": _start_watchdog(root)})
        (root / STATE_FILE).write_text(json.dumps(asdict(server)))
        return server
    except BaseException:
        _stop_cluster(bindir, root)
        shutil.rmtree(root, ignore_errors=True)
        raise


def _stop_cluster(bindir: Path, root: Path) -> None:
    if (root / "data" / "postmaster.pid").exists():
        subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate",
                                        "-w", "-t", "60", "stop"]), capture_output=True, check=False)


def stop(server: PostgresServer) -> None:
    """Stop the server and remove its directory (data, socket, log)."""
    if server.watchdog_pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(server.watchdog_pid, 15)
    _stop_cluster(Path(server.bindir), Path(server.root))
    shutil.rmtree(server.root, ignore_errors=True)


@contextlib.contextmanager
def running_server(parent: Path | None = None) -> Iterator[PostgresServer]:
    """A started server for the duration of a `with` block, stopped and removed also on failure."""
    server = start(parent)
    try:
        yield server
    finally:
        stop(server)


def _load(root: Path) -> PostgresServer:
    state = root / STATE_FILE
    if not state.is_file():
        raise ServerError(f"{state} not found: --dir must be the directory printed by `start`.")
    return PostgresServer(**json.loads(state.read_text()))


def _watch(root: Path, pid: int) -> None:
    while True:
        time.sleep(1)
        if not root.exists():
            return
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            with contextlib.suppress(ServerError):
                server = _load(root)
                stop(PostgresServer(**{**asdict(server), "watchdog_pid": None}))
            return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m customer_agent_warehouse.postgres_server",
                                     description="a throwaway PostgreSQL server for tests and local trials")
    commands = parser.add_subparsers(dest="command", required=True)
    start_parser = commands.add_parser("start", help="start a server; prints `export CA_PG_...` lines")
    start_parser.add_argument("--dir", type=Path, help="parent directory of the server's directory (default: TMPDIR)")
    stop_parser = commands.add_parser("stop", help="stop a server started by `start` and remove its directory")
    stop_parser.add_argument("--dir", type=Path, required=True, help="the server directory printed by `start`")
    watch_parser = commands.add_parser("watch", help=argparse.SUPPRESS)
    watch_parser.add_argument("--dir", type=Path, required=True)
    watch_parser.add_argument("--pid", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            server = start(args.dir, watch=False)
            print(f"# server directory: {server.root} (stop: python -m customer_agent_warehouse.postgres_server "
                  f"stop --dir {server.root})")
            for name, value in server.env().items():
                print(f"export {name}={value}")
        elif args.command == "stop":
            stop(_load(args.dir))
        else:
            _watch(args.dir, args.pid)
    except ServerError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""One build at a time: an exclusive `flock` on `<build file>.lock`, with the holder written inside.

Taken by the CLI (`build`, `run`, `publish`) for the whole job and by every plain `dbt` invocation on the DuckDB
target (the dbt-duckdb plugin `build_guard`). The lock is the kernel's: it ends with the last process holding
it, so a killed build (`kill -9`) never leaves a stale lock; the file's content (pid, command, start time) only
names the holder in the message a second build gets. The CLI hands the lock to the dbt it starts (the child
inherits the locked file descriptor and checks that the holder is its parent), so the lock also outlives a CLI
killed before its dbt.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from customer_agent_warehouse.settings import UsageError

PROBE_RETRIES = 5
# DuckDB's message when another process has the file open: "... Conflicting lock is held in <program> (PID 123) ..."
_DUCKDB_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>[0-9]+)\)")


class WarehouseLocked(UsageError):
    """Another process is building this warehouse."""


@dataclass(frozen=True)
class Holder:
    pid: int
    command: str
    started_at: str

    def describe(self) -> str:
        return f"`{self.command}` (pid {self.pid}, started {self.started_at})"


def lock_path_for(warehouse: Path) -> Path:
    """The lock file of a build file: `<build file>.lock` beside it."""
    return warehouse.with_name(warehouse.name + ".lock")


def read_holder(lock_path: Path) -> Holder | None:
    """The process named in a lock file, or None when the file is missing or unreadable."""
    try:
        document = json.loads(lock_path.read_text() or "{}")
        return Holder(int(document["pid"]), str(document["command"]), str(document["started_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_locked(lock_path: Path) -> bool:
    """True while some process holds the lock. The probe takes a shared lock for an instant, so call it only
    after an exclusive attempt failed (it could make a concurrent exclusive attempt fail)."""
    try:
        descriptor = os.open(lock_path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


def busy_message(warehouse: Path, lock_path: Path) -> str:
    holder = read_holder(lock_path)
    who = holder.describe() if holder else f"another process (see {lock_path})"
    return (f"warehouse {warehouse} is being built by {who}: wait for that build to finish, one build runs at a "
            "time (BI tools read the serving copy meanwhile)")


def open_elsewhere_message(warehouse: Path, serving: Path, duckdb_error: str) -> str | None:
    """One line for DuckDB's `Could not set lock on file` (another process has the build file open), else None."""
    if "Could not set lock" not in duckdb_error:
        return None
    match = _DUCKDB_HOLDER.search(duckdb_error)
    holder = f"another process (pid {match['pid']}, {Path(match['program']).name})" if match else "another process"
    return (f"warehouse {warehouse} is open in {holder}: a build needs the build file alone; close it there and "
            f"build again. BI tools belong on the serving copy {serving} (docs/serving.md)")


def ensure_not_open_elsewhere(warehouse: Path, serving: Path) -> None:
    """Before a build: a WarehouseLocked line when another process (a BI tool, a notebook) has the build file open.
    DuckDB's own write lock is probed by opening the file for an instant; nothing else is reported here."""
    import duckdb

    if not warehouse.is_file():
        return
    try:
        duckdb.connect(str(warehouse)).close()
    except duckdb.IOException as error:
        message = open_elsewhere_message(warehouse, serving, str(error))
        if message:
            raise WarehouseLocked(message) from None
    except duckdb.Error:
        return  # anything else is dbt's to report


def _command_line() -> str:
    argv = list(sys.argv)
    if argv and argv[0].endswith("__main__.py"):
        argv[0] = "python -m customer_agent_warehouse"
    else:
        argv[0] = Path(argv[0]).name if argv else "python"
    return shlex.join(argv)


class BuildLock:
    """`with BuildLock(warehouse, lock_path):` holds the lock or raises WarehouseLocked at once (never waits)."""

    def __init__(self, warehouse: Path, lock_path: Path) -> None:
        self.warehouse = warehouse
        self.lock_path = lock_path
        self.descriptor: int | None = None

    def acquire(self) -> BuildLock:
        try:
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise UsageError(f"cannot create the lock file {self.lock_path} ({error.strerror}): CA_DUCKDB_PATH "
                             f"must be a file in a folder this user can write") from None
        if not _try_exclusive(descriptor):
            os.close(descriptor)
            raise WarehouseLocked(busy_message(self.warehouse, self.lock_path))
        holder = {"pid": os.getpid(), "command": _command_line(),
                  "started_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, json.dumps(holder).encode(), 0)
        self.descriptor = descriptor
        return self

    def release(self) -> None:
        if self.descriptor is not None:
            os.close(self.descriptor)  # closing the last descriptor releases the flock
            self.descriptor = None

    def __enter__(self) -> BuildLock:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _try_exclusive(descriptor: int) -> bool:
    """The exclusive lock, without waiting for a build; a few retries within 0.1 s ride over the instant a
    reader's probe (`is_locked`) holds a shared lock."""
    for attempt in range(PROBE_RETRIES):
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if attempt + 1 < PROBE_RETRIES:
                time.sleep(0.02)
    return False


def ensure_not_being_built(warehouse: Path) -> None:
    """For readers of a build file: refuse while another process builds it (opening it then could make that build
    fail, and would show half-built tables). The CLI's own steps (its validate) run under its lock."""
    lock_path = lock_path_for(warehouse)
    if lock_path.exists() and is_locked(lock_path) and not held_by_parent(lock_path):
        raise WarehouseLocked(busy_message(warehouse, lock_path))


def held_by_parent(lock_path: Path) -> bool:
    """True when the lock is held and the holder is this process's parent (the CLI that started this dbt)."""
    holder = read_holder(lock_path)
    return holder is not None and holder.pid == os.getppid() and is_locked(lock_path)

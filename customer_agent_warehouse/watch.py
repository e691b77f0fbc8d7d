"""`run --watch [--interval SECONDS]`: the main job in one long-lived process (spec §13, docs/continuous.md).

* dbt is loaded and the project parsed once (inprocess_dbt.py); parsed again only when a project file changed.
* Every `--interval` seconds the raw zone is listed (names, sizes and modification times; no file is opened).
  A cycle runs when a raw file is new or grew since the last good cycle (compared with the build's ingestion
  manifest), or when a file's unfinished last line has settled: it runs the steps of `run` (pipeline.py) —
  dbt build, validation, publish of the serving copy, dashboard — and, with `--push`, the activation export.
  A listing that finds nothing new does nothing else.
* One line per cycle: files, lines staged / duplicates / rejected, seconds per phase, and how long after the newest
  file landed (its modification time) the serving copy held it.
* A failed cycle prints one line; the serving copy stays the last good one; the cycle is tried again after a
  backoff (the interval doubled per failure in a row, at most `MAX_BACKOFF_SECONDS`).
* SIGTERM or Ctrl-C (SIGINT) ends the watcher after the current cycle, with exit code 0.
* The build lock (locking.py) is held for the watcher's whole life: another build of the same warehouse fails at
  once, naming the watcher.
* `--status-file PATH`: a JSON document rewritten after every listing (listings, cycles, parses, failures, the
  last cycle), for a health check.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from customer_agent_warehouse.dbt_runner import DbtRunner, build_arguments
from customer_agent_warehouse.ingest.listing import READABLE, list_source
from customer_agent_warehouse.ingest.sources import SOURCES
from customer_agent_warehouse.inprocess_dbt import InProcessDbt
from customer_agent_warehouse.locking import ensure_not_open_elsewhere
from customer_agent_warehouse.settings import PROJECT_ROOT, Settings, UsageError

MAX_BACKOFF_SECONDS = 300.0
FileState = tuple[int | None, int | None]  # size in bytes, modification time in ns


class CycleFailed(Exception):
    """A step of a cycle failed: `phase` and a one-line message."""

    def __init__(self, phase: str, message: str) -> None:
        super().__init__(f"{phase}: {message}")
        self.phase = phase


def list_raw_zone(raw_path: Path) -> dict[str, FileState]:
    """Every readable raw file of the raw zone (name relative to the raw zone) with its size and modification time."""
    return {entry.name: (entry.size_bytes, entry.modified_ns)
            for source in SOURCES for entry in list_source(raw_path, source) if entry.disposition == READABLE}


@dataclass
class Ingested:
    """What the last good build ingested, from its `audit.ingestion_manifest`."""

    files: dict[str, FileState] = field(default_factory=dict)
    settles_at_ns: dict[str, int] = field(default_factory=dict)  # files with an unfinished last line

    def arrivals(self, listing: dict[str, FileState], now_ns: int) -> list[str]:
        """Files new or changed since that build, and files whose unfinished last line has settled since."""
        return sorted(name for name, state in listing.items()
                      if self.files.get(name) != state or self.settles_at_ns.get(name, now_ns + 1) <= now_ns)


@dataclass(frozen=True)
class Totals:
    lines_read: int = 0
    staged: int = 0
    duplicates: int = 0
    rejected: int = 0


def read_build_state(path: Path, settle_seconds: float) -> tuple[Ingested, Totals]:
    """The ingestion manifest and the reconciliation totals of a build file (empty when it has none yet)."""
    import duckdb

    if not path.is_file():
        return Ingested(), Totals()
    with duckdb.connect(str(path), read_only=True) as connection:
        tables = {name for (name,) in connection.execute(
            "select schema_name || '.' || table_name from duckdb_tables() where schema_name = 'audit'").fetchall()}
        ingested = Ingested()
        if "audit.ingestion_manifest" in tables:
            rows = connection.execute(
                "select file_name, size_bytes, modified_ns, pending_tail_bytes from audit.ingestion_manifest "
                "where is_present and status not in ('ignored', 'pending')").fetchall()
            for name, size, modified_ns, pending_tail in rows:
                ingested.files[name] = (size, modified_ns)
                if pending_tail and modified_ns is not None:
                    ingested.settles_at_ns[name] = modified_ns + int(settle_seconds * 1e9)
        totals = Totals()
        if "audit.reconciliation" in tables:
            row = connection.execute("select coalesce(sum(lines_read), 0), coalesce(sum(staged), 0), "
                                     "coalesce(sum(duplicates), 0), coalesce(sum(rejected), 0) "
                                     "from audit.reconciliation").fetchone()
            totals = Totals(*(int(value) for value in row))
    return ingested, totals


@dataclass
class CycleReport:
    number: int
    files: int
    lines: Totals
    seconds: dict[str, float]
    freshness_seconds: float | None
    published: str | None = None  # relations copied / appended / unchanged by an incremental publish

    def line(self) -> str:
        phases = ", ".join(f"{phase} {seconds:.1f}s" for phase, seconds in self.seconds.items())
        fresh = "" if self.freshness_seconds is None else \
            f"; newest file published {self.freshness_seconds:.1f}s after it landed"
        return (f"==> cycle {self.number}: {self.files:,} new or grown file{'s' if self.files != 1 else ''}, "
                f"{self.lines.lines_read:,} lines = {self.lines.staged:,} staged + {self.lines.duplicates:,} "
                f"duplicates + {self.lines.rejected:,} rejected; {phases}{fresh}"
                + (f"; relations published: {self.published}" if self.published else ""))


class StopRequest:
    """SIGTERM / SIGINT: finish the current cycle, then stop."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal_name: str | None = None

    def install(self) -> None:
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, self._handle)

    def _handle(self, number: int, frame: object) -> None:
        self.signal_name = signal.Signals(number).name
        self.event.set()

    @property
    def requested(self) -> bool:
        return self.event.is_set()


@dataclass
class Status:
    pid: int
    listings: int = 0
    cycles: int = 0
    failures_in_a_row: int = 0
    failed_cycles: int = 0
    parses: int = 0
    building: bool = False
    last_cycle: dict[str, Any] | None = None
    last_error: str | None = None


class Watcher:
    """The watch loop; `clock` (monotonic seconds) and `wall_ns` (epoch ns) are injectable."""

    def __init__(self, settings: Settings, args: argparse.Namespace,
                 clock: Callable[[], float] = time.monotonic, wall_ns: Callable[[], int] = time.time_ns) -> None:
        from customer_agent_warehouse.loading import load_options

        self.settings, self.args, self.clock, self.wall_ns = settings, args, clock, wall_ns
        self.interval = float(args.interval)
        self.settle_seconds = load_options(settings, args.vars, False).settle_seconds
        self.dbt = InProcessDbt(DbtRunner.for_settings(settings, "duckdb"), args.vars)
        self.stop = StopRequest()
        self.status = Status(os.getpid())
        self.ingested, self.totals = Ingested(), Totals()
        self.retry_at = 0.0
        self.last_publish: str | None = None

    # --- the loop ------------------------------------------------------------------------------------------
    def run(self) -> int:
        from customer_agent_warehouse.pipeline import build_lock

        self.stop.install()
        os.environ.update(self.settings.dbt_env())  # dbt, in this process, reads the CA_* paths from here
        with build_lock(self.settings, "duckdb"):
            self._start()
            while not self.stop.requested:
                self._listing()
                self._write_status()
                self.stop.event.wait(self.interval)
        print(f"==> watcher stopped ({self.stop.signal_name or 'stop'}) after {self.status.cycles} cycle(s), "
              f"{self.status.failed_cycles} failed", flush=True)
        return 0

    def _start(self) -> None:
        started = self.clock()
        parsed = self.dbt.parse()
        if not parsed.success:
            raise UsageError(f"run --watch: dbt cannot parse the project: {parsed.message}")
        if not self.args.skip_validate:
            import customer_agent_warehouse.validate  # noqa: F401  (Great Expectations loads once, now)
        self.ingested, self.totals = read_build_state(self.settings.duckdb_path, self.settle_seconds)
        from customer_agent_warehouse.serving import describe_serving_copy

        describe_serving_copy(self.settings)  # the first cycle then publishes only what changed
        if not self.settings.serving.is_file():
            self.ingested = Ingested()  # nothing published yet: the first cycle publishes
        self.status.parses = self.dbt.parses
        print(f"==> watching {self.settings.raw_path} every {self.interval:g}s (dbt loaded and the project parsed "
              f"in {self.clock() - started:.1f}s); serving copy {self.settings.serving}; stop with SIGTERM or "
              "Ctrl-C", flush=True)

    def _listing(self) -> None:
        self.status.listings += 1
        listing = list_raw_zone(self.settings.raw_path)
        arrived = self.ingested.arrivals(listing, self.wall_ns())
        if not arrived or self.clock() < self.retry_at:
            return
        number = self.status.cycles + self.status.failed_cycles + 1
        self.status.building = True
        self._write_status()
        try:
            report = self.cycle(number, listing, arrived)
        except CycleFailed as failure:
            self._failed(number, str(failure))
            return
        finally:
            self.status.building = False
        self.status.cycles += 1
        self.status.failures_in_a_row, self.retry_at = 0, 0.0
        self.status.last_cycle = asdict(report)
        self.status.last_error = None
        print(report.line(), flush=True)

    def _failed(self, number: int, message: str) -> None:
        self.status.failed_cycles += 1
        self.status.failures_in_a_row += 1
        backoff = min(self.interval * 2 ** self.status.failures_in_a_row, MAX_BACKOFF_SECONDS)
        self.retry_at = self.clock() + backoff
        self.status.last_error = message
        print(f"==> cycle {number} FAILED: {message}; the serving copy {self.settings.serving} is the last good "
              f"one; retry in {backoff:g}s", flush=True)

    # --- one cycle -------------------------------------------------------------------------------------------
    def cycle(self, number: int, listing: dict[str, FileState], arrived: list[str]) -> CycleReport:
        seconds: dict[str, float] = {}
        self._timed(seconds, "build", self._build)
        ingested, totals = self._timed(seconds, "read", lambda: read_build_state(self.settings.duckdb_path,
                                                                                 self.settle_seconds))
        del seconds["read"]
        if not self.args.skip_validate:
            self._timed(seconds, "validate", self._validate)
        self._timed(seconds, "publish", self._publish)
        published_ns = self.wall_ns()
        self._timed(seconds, "dashboard", self._dashboard)
        if self.args.push:
            self._timed(seconds, "push", self._push)
        landed = [listing[name][1] for name in arrived if listing[name][1] is not None]
        freshness = (published_ns - max(landed)) / 1e9 if landed else None
        lines = Totals(*(after - before for after, before in zip(asdict(totals).values(),
                                                                 asdict(self.totals).values(), strict=True)))
        self.ingested, self.totals = ingested, totals
        self.status.parses = self.dbt.parses
        return CycleReport(number, len(arrived), lines, seconds, freshness, self.last_publish)

    def _timed(self, seconds: dict[str, float], phase: str, step: Callable[[], Any]) -> Any:
        started = self.clock()
        try:
            return step()
        except CycleFailed:
            raise
        except (UsageError, OSError) as error:
            raise CycleFailed(phase, _one_line(error)) from None
        except Exception as error:  # a cycle never ends the watcher: one line, the next cycle retries
            raise CycleFailed(phase, f"{type(error).__name__}: {_one_line(error)}") from None
        finally:
            seconds[phase] = self.clock() - started

    def _build(self) -> None:
        from customer_agent_warehouse.pipeline import check_raw_zone

        check_raw_zone(self.settings, self.args.vars, "duckdb")
        ensure_not_open_elsewhere(self.settings.duckdb_path, self.settings.serving)
        outcome = self.dbt.build(build_arguments(False, self.args.unit_tests))
        if not outcome.success:
            raise CycleFailed("build", outcome.message or "dbt build failed")

    def _validate(self) -> None:
        from customer_agent_warehouse.validate import ValidationSetupError, validate_warehouse

        try:
            with warnings.catch_warnings():  # pyspark, imported by Great Expectations, warns about pandas 3
                warnings.simplefilter("ignore", FutureWarning)
                outcome = validate_warehouse(self.settings.duckdb_path)
        except ValidationSetupError as error:
            raise CycleFailed("validate", _one_line(error)) from None
        if not outcome.success:
            raise CycleFailed("validate", outcome.summary_line())

    def _publish(self) -> None:
        from customer_agent_warehouse.serving import publish

        self.last_publish = publish(self.settings, self.args.parquet, incremental=True).changes

    def _dashboard(self) -> None:
        from customer_agent_warehouse.report import write_report

        write_report(self.settings.readable_warehouse)

    def _push(self) -> None:
        out = self.args.push_out or self.settings.duckdb_path.parent / "activation"
        command = [sys.executable, "-m", "customer_agent_warehouse", "export", "--out", str(out), "--since-last",
                   "--push"]
        result = subprocess.run(command, cwd=PROJECT_ROOT, env=self.settings.dbt_env(), capture_output=True,
                                text=True, check=False)
        if result.returncode != 0:
            raise CycleFailed("push", _one_line(result.stderr or result.stdout or f"exit {result.returncode}"))

    def _write_status(self) -> None:
        path: Path | None = self.args.status_file
        if path is None:
            return
        document = {**asdict(self.status), "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(json.dumps(document, indent=2))
        os.replace(temporary, path)


def _one_line(error: object) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def add_watch_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("continuous mode (docs/continuous.md)")
    group.add_argument("--watch", action="store_true",
                       help="stay running: list the raw zone every --interval seconds and run the job when raw files "
                            "are new or grew (stop with SIGTERM or Ctrl-C; duckdb target only)")
    group.add_argument("--interval", type=_interval, default=5.0, metavar="SECONDS",
                       help="seconds between listings of the raw zone with --watch (default 5)")
    group.add_argument("--push", action="store_true",
                       help="with --watch: after each publish, also send the activation export (`export --since-last "
                            "--push`, CA_KLAVIYO_* settings)")
    group.add_argument("--push-out", type=Path, metavar="DIR",
                       help="the export folder of --push (default: the folder `activation` beside CA_DUCKDB_PATH)")
    group.add_argument("--status-file", type=Path, metavar="PATH",
                       help="with --watch: rewrite this JSON file after every listing (listings, cycles, failures, "
                            "the last cycle), for a health check")


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 86_400:
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0 (at most 86400); got {text!r}")
    return value


def run_watch(settings: Settings, args: argparse.Namespace) -> int:
    if args.target != "duckdb":
        raise UsageError(f"run --watch builds the duckdb target; got --target {args.target}: schedule `run` for "
                         "the other targets")
    if args.full_refresh or args.no_publish:
        raise UsageError("run --watch publishes incremental builds: drop --full-refresh and --no-publish (run "
                         "`run --full-refresh` once, then start the watcher)")
    return Watcher(settings, args).run()

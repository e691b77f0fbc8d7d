"""`bench`: measure generation, dbt builds and validation on a large raw zone (issue #7).

Usage::

    python -m customer_agent_warehouse bench [--conversations 1000000] [--seed 42] [--workdir data/bench]
                                             [--reuse-raw] [--skip-floor] [--skip-validate] [--json PATH]
                                             [--unit-tests] [--profiles-dir DIR]

Phases, each one a subprocess timed on the wall clock, with its own environment (CA_RAW_PATH, CA_DUCKDB_PATH in
the work directory) and its own dbt `--target-path` / `--log-path`. The builds run `dbt build` exactly as the
`build` command does in production (dbt unit tests excluded, `--unit-tests` to include them):

1. ``generation``          the raw zone of N conversations (`generate_raw_zone`), skipped with --reuse-raw;
2. ``empty_build``         `dbt build` on an EMPTY raw zone into a fresh DuckDB file: dbt's fixed overhead
                           (start-up, parsing, every model and test on zero rows);
3. ``full_build``          `dbt build --full-refresh` into a fresh DuckDB file;
4. ``floor``               `floor.sql`, one hand-written DuckDB statement computing the four facts from the raw
                           zone read once, in a fresh DuckDB file with the DuckDB settings of the dbt profile
                           (profiles/profiles.yml, env_var defaults rendered);
5. ``noop_build``          `dbt build` (incremental) on the full build's warehouse with NO new file: the cost
                           of a build that holds the whole history and has nothing to do (issue #13);
6. ``increment_generation`` about 1% more conversations, written as NEW files (another file prefix);
7. ``incremental_build``   `dbt build` (incremental) on the full build's warehouse, reusing its parse cache;
8. ``validate``            `python -m customer_agent_warehouse validate` on that warehouse.

Issue #13 targets (a build's cost follows the new data): fixed cost (the empty build) <= 6 s; the no-op build
<= 10% of the full build and within 2 s of the fixed cost; (incremental - no-op) <= 10% of (full - no-op);
full build <= 1.5x the floor. The incremental build at 2M conversations of history against 1M is the same
bench run with --conversations 2000000 (the increment is 1% of 1M either way with --increment-conversations).

Peak memory of a phase: the larger of the subprocess tree's peak resident set (`wait4` rusage: the largest
single process, dbt runs DuckDB in-process) and the sum of the tree's resident sets sampled from /proc every
0.2 s (a phase with worker processes, such as generation, uses them at the same time).

After the floor, the fact counts of the dbt build and of the floor are compared (and event ids, which both
derive the same way): a large mismatch means one of them is wrong. The increment's files are removed from the
raw zone at the end, so `--reuse-raw` benchmarks the same data again.

The report is printed (one figure per line, with targets and PASS/MISS) and written as JSON. Exit code: 0 when
every phase ran (whatever the targets say), 1 when a phase failed (dbt error or failing test, validation
failure), 2 on bad arguments or a raw zone that does not match --conversations/--seed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from customer_agent_warehouse.arguments import add_target_argument, positive_int
from customer_agent_warehouse.dbt_runner import DEFAULT_PROFILES_DIR, DbtRunner, build_arguments
from customer_agent_warehouse.settings import PROJECT_ROOT, SOURCES, Settings
from customer_agent_warehouse.vocabulary import seed_path

DEFAULT_CONVERSATIONS = 1_000_000
DEFAULT_SEED = 42
DEFAULT_WORKDIR = PROJECT_ROOT / "data" / "bench"
INCREMENT_SHARE = 0.01
INCREMENT_PREFIX = "bench-increment"
FLOOR_SQL = Path(__file__).with_name("floor.sql")
TOP_NODES = 15
TOP_INCREMENTAL_NODES = 8
SAMPLE_SECONDS = 0.2
MANIFEST_NAME = "raw-manifest.json"
JSON_SCHEMA_VERSION = 1

COMPLETE_STATUSES = {"success", "pass", "fail", "warn"}  # dbt node statuses of a build that ran every node
DISTURBED_LOAD = 0.25  # cores used by other processes during a phase above which its wall time is flagged
TARGET_FLOOR_RATIO = 1.5
TARGET_FULL_BUILD_SECONDS = 180.0
TARGET_INCREMENTAL_SHARE = 0.10
TARGET_FIXED_COST_SECONDS = 6.0
TARGET_NOOP_SHARE = 0.10
TARGET_NOOP_ABOVE_FIXED_SECONDS = 2.0
TARGET_VALIDATE_SHARE = 0.30
TARGET_PEAK_BYTES = 6_000_000_000  # "6 GB" as DuckDB reads memory_limit=6GB (decimal)

FACTS = {
    "started": "marts.fct_conversation_started",
    "resolved": "marts.fct_conversation_resolved",
    "escalated": "marts.fct_conversation_escalated",
    "recommendation": "marts.fct_product_recommendation_received",
}
# Columns the floor and the dbt facts both have, per metric: (floor column, dbt column).
COMPARED_COLUMNS = {
    "started": (("event_at", "started_at"), ("profile_id", "profile_id"), ("channel", "channel"),
                ("initial_skill", "initial_skill"), ("first_message", "first_message")),
    "resolved": (("event_at", "resolved_at"), ("profile_id", "profile_id"), ("channel", "channel"),
                 ("skill", "final_skill"), ("tags", "tags"), ("resolution_seconds", "resolution_seconds")),
    "escalated": (("event_at", "escalated_at"), ("profile_id", "profile_id"), ("channel", "channel"),
                  ("skill", "skill"), ("escalation_reason", "escalation_reason"), ("tags", "tags")),
    "recommendation": (("event_at", "recommended_at"), ("profile_id", "profile_id"), ("channel", "channel"),
                       ("products", "products"), ("product_count", "product_count"), ("format", "format")),
}


# --- Phases ----------------------------------------------------------------------------------------------------------
@dataclass
class Phase:
    """One measured subprocess."""

    name: str
    seconds: float
    peak_rss_bytes: int
    returncode: int
    log: str
    cpu_seconds: float | None = None  # user + system time of the process tree (less sensitive to other load)
    reused: bool = False
    # Ran to the end, so its time is a valid figure: exit 0, or dbt test failures only, or failed expectations.
    completed: bool = True
    note: str | None = None
    # CPU cores busy with OTHER processes during the phase, on average: above ~0.25 on a 2-core machine the
    # wall time is inflated by contention (compare cpu_seconds, which is not).
    other_load: float | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class _TreeSampler(threading.Thread):
    """Samples the summed resident set of a process and its descendants from /proc (Linux only)."""

    def __init__(self, root_pid: int) -> None:
        super().__init__(daemon=True)
        self.root_pid = root_pid
        self.peak_bytes = 0
        self._stop_event = threading.Event()
        self._page_size = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

    def run(self) -> None:
        while not self._stop_event.wait(SAMPLE_SECONDS):
            self.peak_bytes = max(self.peak_bytes, self._tree_rss())

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    def _tree_rss(self) -> int:
        proc = Path("/proc")
        total = 0
        for pid in self._tree():
            try:
                total += int((proc / str(pid) / "statm").read_text().split()[1]) * self._page_size
            except (OSError, IndexError, ValueError):
                continue
        return total

    def _tree(self) -> list[int]:
        """The root and its descendants, from /proc/<pid>/task/<tid>/children (cheap), else a scan of /proc."""
        found, stack = [], [self.root_pid]
        while stack:
            pid = stack.pop()
            found.append(pid)
            try:
                tasks = list(Path(f"/proc/{pid}/task").iterdir())
                stack.extend(int(child) for task in tasks for child in (task / "children").read_text().split())
            except FileNotFoundError:
                if pid == self.root_pid and not Path(f"/proc/{pid}").exists():
                    return []
                continue
            except OSError:
                return self._scan(found)
        return found

    def _scan(self, _partial: list[int]) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(parent, []).append(int(entry.name))
        found, stack = [], [self.root_pid]
        while stack:
            pid = stack.pop()
            found.append(pid)
            stack.extend(children.get(pid, ()))
        return found


def run_phase(name: str, command: list[str], env: dict[str, str], log_path: Path) -> Phase:
    """Run `command`, its output to `log_path`; wall time and peak resident memory of its process tree."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"[bench] {name}: {' '.join(command)}", file=sys.stderr, flush=True)
    busy_before = _system_busy_seconds()
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        sampler = _TreeSampler(process.pid) if Path("/proc/self/statm").exists() else None
        if sampler:
            sampler.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            raise
        finally:
            if sampler:
                sampler.stop()
    seconds = time.perf_counter() - started
    busy_after = _system_busy_seconds()
    process.returncode = os.waitstatus_to_exitcode(status)
    rusage_bytes = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    peak = max(rusage_bytes, sampler.peak_bytes if sampler else 0)
    cpu = usage.ru_utime + usage.ru_stime
    other = None
    if busy_before is not None and busy_after is not None and seconds > 0:
        other = max(0.0, (busy_after - busy_before - cpu) / seconds)
    phase = Phase(name, seconds, peak, process.returncode, str(log_path), cpu, completed=process.returncode == 0,
                  other_load=other)
    state = "ok" if phase.ok else f"FAILED (exit {phase.returncode}, see {log_path})"
    print(f"[bench] {name}: {state} in {seconds:.1f}s, peak {_bytes(peak)}", file=sys.stderr, flush=True)
    return phase


def _system_busy_seconds() -> float | None:
    """CPU seconds all processes have used since boot (/proc/stat: every state but idle and iowait)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in fields[:8])
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


# --- Work directory layout -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def empty_raw(self) -> Path:
        return self.root / "raw-empty"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def empty_warehouse(self) -> Path:
        return self.root / "empty.duckdb"

    @property
    def floor_db(self) -> Path:
        return self.root / "floor.duckdb"

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST_NAME

    def target(self, phase: str) -> Path:
        return self.root / "target" / phase

    def logs(self, phase: str) -> Path:
        return self.root / "logs" / phase

    def output(self, phase: str) -> Path:
        return self.root / "logs" / f"{phase}.log"


def phase_env(raw: Path, duckdb_path: Path) -> dict[str, str]:
    return {**Settings(raw_path=raw, duckdb_path=duckdb_path).dbt_env(), "PYTHONUNBUFFERED": "1"}


ENV_VAR_CALL = re.compile(r"\{\{\s*env_var\(\s*'([^']+)'\s*(?:,\s*'([^']*)'\s*)?\)\s*\}\}")


def duckdb_settings(env: Mapping[str, str] | None = None, profiles_dir: Path | None = None) -> dict[str, str]:
    """The DuckDB settings of the dbt profile (its `config_options` and `settings`), rendered as dbt would.

    Only `env_var('NAME', 'default')` calls are rendered (all the profile uses). The floor applies them the way
    dbt-duckdb does: `SET key = 'value'`.
    """
    import yaml

    profile = yaml.safe_load(((profiles_dir or DEFAULT_PROFILES_DIR) / "profiles.yml").read_text())
    output = profile["customer_agent_warehouse"]["outputs"]["duckdb"]
    merged = {**(output.get("config_options") or {}), **(output.get("settings") or {})}
    env = os.environ if env is None else env
    return {str(key): _render_env_vars(str(value), env) for key, value in merged.items()}


def _render_env_vars(text: str, env: Mapping[str, str]) -> str:
    return ENV_VAR_CALL.sub(lambda match: env.get(match.group(1), match.group(2) or ""), text)


def _remove(path: Path) -> None:
    """Remove a file or directory; for a DuckDB file also its WAL and its default spill directory."""
    for candidate in (path, path.with_name(path.name + ".wal"), path.with_name(path.name + ".tmp")):
        if candidate.is_dir():
            shutil.rmtree(candidate)
        elif candidate.exists():
            candidate.unlink()


def _fresh_database(path: Path) -> None:
    _remove(path)
    path.parent.mkdir(parents=True, exist_ok=True)


# --- PostgreSQL target ----------------------------------------------------------------------------------------------
POSTGRES_DATABASES = {"empty_build": "bench_empty"}  # every other phase: the database `bench`
LOAD_LINE = re.compile(r"==> load: .* lines loaded in ([0-9.]+)s")


def postgres_env(layout: Layout, phase: str, fresh: bool) -> dict[str, str]:
    """The server of CA_PG_*, a database of its own for the benchmark (`<CA_PG_DATABASE>_bench`, `..._bench_empty`),
    dropped and created again when `fresh`; dbt's target and log folders of the phase (the CLI runs dbt)."""
    from customer_agent_warehouse.postgres_connection import PostgresSettings

    settings = PostgresSettings.from_environment()
    name = f"{settings.database}_{POSTGRES_DATABASES.get(phase, 'bench')}"
    if fresh:
        bench = PostgresSettings(settings.host, settings.port, settings.user, settings.password, name)
        bench.drop_database()
    return {"CA_PG_DATABASE": name, "DBT_TARGET_PATH": str(layout.target(phase)),
            "DBT_LOG_PATH": str(layout.logs(phase))}


def _load_seconds(log: Path) -> float | None:
    """The raw loader's time, from the `==> load:` line the build printed."""
    match = LOAD_LINE.search(log.read_text(errors="replace")) if log.exists() else None
    return float(match.group(1)) if match else None


# --- Raw zone --------------------------------------------------------------------------------------------------------
def _raw_files(raw: Path) -> dict[str, tuple[int, int]]:
    """Every raw file: relative path -> (size, mtime_ns)."""
    files: dict[str, tuple[int, int]] = {}
    for source in SOURCES:
        folder = raw / source
        if folder.is_dir():
            for path in folder.rglob("*.jsonl*"):
                stat = path.stat()
                files[str(path.relative_to(raw))] = (stat.st_size, stat.st_mtime_ns)
    return files


def _generate_command(out: Path, conversations: int, seed: int, prefix: str, stats_path: Path) -> list[str]:
    return [sys.executable, "-m", "customer_agent_warehouse.bench", "_generate", str(out), str(conversations),
            str(seed), prefix, str(stats_path)]


def prepare_raw_zone(args: argparse.Namespace, layout: Layout) -> tuple[Phase, dict[str, Any]]:
    """Generate the raw zone (or reuse it); returns the generation phase and the manifest."""
    wanted = {"conversations": args.conversations, "seed": args.seed}
    if args.reuse_raw and layout.manifest.exists() and layout.raw.is_dir():
        manifest = json.loads(layout.manifest.read_text())
        if {key: manifest.get(key) for key in wanted} != wanted:
            raise BenchError(
                f"--reuse-raw: the raw zone in {layout.raw} has {manifest.get('conversations')} conversations "
                f"(seed {manifest.get('seed')}), not {args.conversations} (seed {args.seed}); drop --reuse-raw "
                "to regenerate it"
            )
        _remove_increment(layout.raw)
        generation = manifest["generation"]
        phase = Phase("generation", generation["seconds"], generation["peak_rss_bytes"], 0, generation["log"],
                      generation.get("cpu_seconds"), reused=True)
        print(f"[bench] generation: reusing {layout.raw}", file=sys.stderr, flush=True)
        return phase, manifest
    _remove(layout.raw)
    _remove(layout.manifest)
    stats_path = layout.root / "generation-stats.json"
    phase = run_phase("generation", _generate_command(layout.raw, args.conversations, args.seed, "part", stats_path),
                      dict(os.environ), layout.output("generation"))
    if not phase.ok:
        raise BenchError(f"generation failed, see {phase.log}")
    manifest = {**wanted, "stats": json.loads(stats_path.read_text()),
                "generation": {k: v for k, v in asdict(phase).items() if k != "reused"}}
    layout.manifest.write_text(json.dumps(manifest, indent=2))
    return phase, manifest


def _remove_increment(raw: Path) -> None:
    from customer_agent_warehouse.generate import existing_files

    for path in existing_files(raw, INCREMENT_PREFIX):
        path.unlink()


def add_increment(args: argparse.Namespace, layout: Layout) -> tuple[Phase, dict[str, Any]]:
    """About 1% more conversations as new files; checks that no existing file was touched."""
    conversations = args.increment_conversations or max(1, round(args.conversations * INCREMENT_SHARE))
    before = _raw_files(layout.raw)
    stats_path = layout.root / "increment-stats.json"
    phase = run_phase("increment_generation",
                      _generate_command(layout.raw, conversations, args.seed, INCREMENT_PREFIX, stats_path),
                      dict(os.environ), layout.output("increment_generation"))
    if not phase.ok:
        raise BenchError(f"generating the increment failed, see {phase.log}")
    after = _raw_files(layout.raw)
    changed = [name for name, signature in before.items() if after.get(name) != signature]
    added = sorted(set(after) - set(before))
    foreign = [name for name in added if not Path(name).name.startswith(f"{INCREMENT_PREFIX}-")]
    if changed or foreign or not added:
        raise BenchError(f"the increment must only add files: changed {changed[:3]}, unexpected {foreign[:3]}, "
                         f"added {len(added)}")
    stats = json.loads(stats_path.read_text())
    info = {
        "conversations": conversations,
        "files_added": len(added),
        "existing_files_unchanged": True,
        "lines": stats["log_lines"] + stats["order_lines"] + stats["profile_lines"],
        "stats": stats,
    }
    return phase, info


def raw_zone_size(raw: Path) -> dict[str, int]:
    files = [raw / name for name in _raw_files(raw)]
    return {"files": len(files), "bytes": sum(path.stat().st_size for path in files)}


# --- dbt -------------------------------------------------------------------------------------------------------------
def dbt_command(layout: Layout, phase: str, full_refresh: bool, options: argparse.Namespace,
                env: Mapping[str, str]) -> list[str]:
    """`dbt build` exactly as the `build` command runs it in production, with this phase's paths. The empty
    build's raw zone is empty on purpose (var allow_empty_raw_zone)."""
    dbt_vars = {"allow_empty_raw_zone": True} if phase == "empty_build" else None
    if options.target == "postgres":  # the raw loader first: the `build` command, as production runs it
        return [sys.executable, "-m", "customer_agent_warehouse", "build", "--target", "postgres", "--no-publish",
                *(["--full-refresh"] if full_refresh else []), *(["--unit-tests"] if options.unit_tests else []),
                *(["--vars", json.dumps(dbt_vars)] if dbt_vars else [])]
    runner = DbtRunner(env=env, target=options.target, profiles_dir=options.profiles_dir,
                       target_path=layout.target(phase), log_path=layout.logs(phase))
    return runner.command(build_arguments(full_refresh, options.unit_tests), dbt_vars)


def _reuse_parse(previous_target: Path, target: Path) -> None:
    """Give a build the previous build's partial-parse cache, as a scheduled `dbt build` in one project has."""
    cache = previous_target / "partial_parse.msgpack"
    if cache.exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(cache, target / cache.name)


# Builds that continue the full build: its warehouse (DuckDB file or PostgreSQL database) and its parse cache.
CONTINUING_PHASES = ("noop_build", "incremental_build")


def run_dbt_phase(layout: Layout, phase: str, raw: Path, database: Path, full_refresh: bool,
                  options: argparse.Namespace) -> tuple[Phase, dict[str, Any]]:
    _remove(layout.target(phase))
    if phase in CONTINUING_PHASES:
        # Production runs the next build in the same project: dbt reuses the parse of the previous one.
        _reuse_parse(layout.target("full_build"), layout.target(phase))
    env = phase_env(raw, database)
    if options.target == "postgres":
        env.update(postgres_env(layout, phase, fresh=phase not in CONTINUING_PHASES))
    result = run_phase(phase, dbt_command(layout, phase, full_refresh, options, env), env, layout.output(phase))
    runs = read_run_results(layout.target(phase) / "run_results.json", result.seconds)
    if options.target == "postgres":
        runs["load_seconds"] = _load_seconds(Path(result.log))
    if not result.ok:
        # dbt exits 1 for a failing data test too: the build still ran every model, its time is valid.
        broken = {status: count for status, count in runs["statuses"].items() if status not in COMPLETE_STATUSES}
        result.completed = bool(runs["statuses"]) and not broken
        result.note = f"dbt statuses {runs['statuses'] or 'unavailable'}"
    return result, runs


def read_run_results(path: Path, wall_seconds: float) -> dict[str, Any]:
    """Per-node times (slowest first), totals per resource type and per status, dbt's own elapsed time."""
    if not path.exists():
        return {"nodes": [], "by_resource_type": {}, "statuses": {}, "elapsed_seconds": None,
                "startup_seconds": None}
    data = json.loads(path.read_text())
    nodes = sorted(
        (
            {
                "unique_id": result["unique_id"],
                "resource_type": result["unique_id"].split(".", 1)[0],
                "execution_time": result["execution_time"],
                "status": result["status"],
            }
            for result in data["results"]
        ),
        key=lambda node: (-node["execution_time"], node["unique_id"]),
    )
    by_type: dict[str, dict[str, float]] = {}
    statuses: dict[str, int] = {}
    for node in nodes:
        totals = by_type.setdefault(node["resource_type"], {"count": 0, "seconds": 0.0})
        totals["count"] += 1
        totals["seconds"] += node["execution_time"]
        statuses[node["status"]] = statuses.get(node["status"], 0) + 1
    elapsed = data.get("elapsed_time")
    return {
        "nodes": nodes,
        "by_resource_type": by_type,
        "statuses": statuses,
        "elapsed_seconds": elapsed,
        # Wall time outside dbt's own run loop: interpreter start-up, imports, parsing, manifest writing.
        "startup_seconds": wall_seconds - elapsed if elapsed is not None else None,
    }


# --- Floor -----------------------------------------------------------------------------------------------------------
def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def render_floor_sql(raw: Path) -> str:
    """floor.sql with the globs of the raw files that exist (read_json fails on a glob that matches nothing)."""
    sql = FLOOR_SQL.read_text()
    for source, placeholder in (("conversation_logs", "{conversation_log_files}"), ("profiles", "{profile_files}")):
        folder = raw / source
        globs = [
            str(folder / "**" / f"*{extension}")
            for extension in (".jsonl", ".jsonl.gz")
            if folder.is_dir() and next(folder.rglob(f"*{extension}"), None) is not None
        ]
        if not globs:
            raise BenchError(f"the floor needs raw files in {folder}")
        sql = sql.replace(placeholder, "[" + ", ".join(_sql_string(glob) for glob in globs) + "]")
    return sql.replace("{channel_aliases_file}", _sql_string(str(seed_path("channel_aliases"))))


def run_floor_script(database: Path, raw: Path, result_path: Path, profiles_dir: Path) -> None:
    """Worker of the floor phase: a fresh DuckDB file, the profile's settings, the script, the counts."""
    import duckdb

    sql = render_floor_sql(raw)
    started = time.perf_counter()
    with duckdb.connect(str(database)) as connection:
        for name, value in duckdb_settings(profiles_dir=profiles_dir).items():
            connection.execute(f"set {name} = {_sql_string(value)}")
        connection.execute(sql)
        counts = dict(connection.execute("select metric, count(*) from floor_events group by metric").fetchall())
    result_path.write_text(json.dumps({"sql_seconds": time.perf_counter() - started, "counts": counts}))


def compare_facts(warehouse: Path, floor_db: Path) -> dict[str, dict[str, int | None]]:
    """Per metric: rows in the dbt fact and in the floor, event ids only in one of them, rows that differ."""
    import duckdb

    comparison: dict[str, dict[str, int | None]] = {}
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        connection.execute("set memory_limit = '2GB'")
        connection.execute(f"attach {_sql_string(str(warehouse))} as wh (read_only)")
        connection.execute(f"attach {_sql_string(str(floor_db))} as fl (read_only)")
        for metric, relation in FACTS.items():
            floor = f"(select * from fl.floor_events where metric = '{metric}')"
            try:
                dbt_rows = connection.execute(f"select count(*) from wh.{relation}").fetchone()[0]
            except duckdb.Error:
                comparison[metric] = {"dbt": None, "floor": _count(connection, floor), "only_dbt": None,
                                      "only_floor": None, "differing": None}
                continue
            differs = " or ".join(f"f.{ours} is distinct from d.{theirs}" for ours, theirs in COMPARED_COLUMNS[metric])
            comparison[metric] = {
                "dbt": dbt_rows,
                "floor": _count(connection, floor),
                "only_dbt": _count(connection, f"(select event_id from wh.{relation} except "
                                               f"select event_id from {floor})"),
                "only_floor": _count(connection, f"(select event_id from {floor} except "
                                                 f"select event_id from wh.{relation})"),
                "differing": _count(connection, f"(select 1 from {floor} as f inner join wh.{relation} as d "
                                                f"on f.event_id = d.event_id where {differs})"),
            }
    return comparison


def _count(connection: Any, relation: str) -> int:
    return int(connection.execute(f"select count(*) from {relation}").fetchone()[0])


# --- Other measurements ----------------------------------------------------------------------------------------------
def raw_line_counts(warehouse: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Raw lines per source as the build read them (audit.reconciliation), else as the generator wrote them."""
    import duckdb

    try:
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            rows = connection.execute(
                "select source, sum(lines_read) from audit.reconciliation group by source").fetchall()
        counts = {str(source): int(lines) for source, lines in rows}
        origin = "audit.reconciliation"
    except duckdb.Error:
        stats = manifest["stats"]
        counts = {"conversation_logs": stats["log_lines"], "orders": stats["order_lines"],
                  "profiles": stats["profile_lines"]}
        origin = "generator"
    return {"by_source": counts, "total": sum(counts.values()), "counted_from": origin}


def followup_delay_hours() -> float:
    """The project's default `followup_delay_hours` var, so validate does not read another run's target/."""
    import yaml

    project = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())
    return float((project.get("vars") or {}).get("followup_delay_hours", 2))


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "memory_bytes": None,
    }
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory_bytes"] = int(line.split()[1]) * 1024
    try:
        import duckdb

        info["duckdb"] = duckdb.__version__
        from importlib.metadata import version

        info["dbt_core"] = version("dbt-core")
        info["dbt_duckdb"] = version("dbt-duckdb")
    except Exception:  # versions are informative only
        pass
    return info


def _load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


# --- Figures and targets ---------------------------------------------------------------------------------------------
def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def _difference(left: float | None, right: float | None) -> float | None:
    return None if left is None or right is None else left - right


def compute_figures(phases: dict[str, Phase], lines_total: int) -> dict[str, Any]:
    def seconds(name: str) -> float | None:
        return phases[name].seconds if name in phases and phases[name].completed else None

    def cpu_seconds(name: str) -> float | None:
        return phases[name].cpu_seconds if name in phases and phases[name].completed else None

    full = seconds("full_build")
    peaks = {name: phase.peak_rss_bytes for name, phase in phases.items()}
    max_phase = max(peaks, key=lambda name: peaks[name]) if peaks else None
    return {
        "generation_seconds": seconds("generation"),
        "dbt_overhead_seconds": seconds("empty_build"),
        "full_build_seconds": full,
        "floor_seconds": seconds("floor"),
        "full_build_to_floor_ratio": _ratio(full, seconds("floor")),
        "full_build_to_floor_cpu_ratio": _ratio(cpu_seconds("full_build"), cpu_seconds("floor")),
        "increment_generation_seconds": seconds("increment_generation"),
        "incremental_build_seconds": seconds("incremental_build"),
        "incremental_to_full_ratio": _ratio(seconds("incremental_build"), full),
        "noop_build_seconds": seconds("noop_build"),
        "noop_to_full_ratio": _ratio(seconds("noop_build"), full),
        "noop_above_fixed_seconds": _difference(seconds("noop_build"), seconds("empty_build")),
        "incremental_work_share": _ratio(_difference(seconds("incremental_build"), seconds("noop_build")),
                                         _difference(full, seconds("noop_build"))),
        "validate_seconds": seconds("validate"),
        "validate_to_full_ratio": _ratio(seconds("validate"), full),
        "raw_lines": lines_total,
        "records_per_second": _ratio(lines_total, full),
        "peak_rss_bytes": peaks,
        "max_peak_rss_bytes": peaks[max_phase] if max_phase else None,
        "max_peak_rss_phase": max_phase,
    }


def evaluate_targets(figures: dict[str, Any]) -> list[dict[str, Any]]:
    def target(name: str, text: str, value: float | None, limit: float, inclusive: bool = True) -> dict[str, Any]:
        passed = None if value is None else (value <= limit if inclusive else value < limit)
        return {"name": name, "target": text, "value": value, "limit": limit, "passed": passed}

    return [
        target("full_build_to_floor_ratio", "full build at most 1.5x the floor",
               figures["full_build_to_floor_ratio"], TARGET_FLOOR_RATIO),
        target("full_build_seconds", "full build under 3 minutes", figures["full_build_seconds"],
               TARGET_FULL_BUILD_SECONDS, inclusive=False),
        target("dbt_overhead_seconds", "fixed cost (empty build) at most 6 s", figures["dbt_overhead_seconds"],
               TARGET_FIXED_COST_SECONDS),
        target("noop_to_full_ratio", "no-op build at most 10% of the full build", figures["noop_to_full_ratio"],
               TARGET_NOOP_SHARE),
        target("noop_above_fixed_seconds", "no-op build within 2 s of the fixed cost",
               figures["noop_above_fixed_seconds"], TARGET_NOOP_ABOVE_FIXED_SECONDS),
        target("incremental_work_share", "(incremental - no-op) at most 10% of (full - no-op)",
               figures["incremental_work_share"], TARGET_INCREMENTAL_SHARE),
        target("validate_to_full_ratio", "validate at most 30% of the full build",
               figures["validate_to_full_ratio"], TARGET_VALIDATE_SHARE),
        target("max_peak_rss_bytes", "peak memory of any phase at most 6 GB", figures["max_peak_rss_bytes"],
               TARGET_PEAK_BYTES),
    ]


# --- Report ----------------------------------------------------------------------------------------------------------
def _bytes(value: float | None) -> str:
    if value is None:
        return "n/a"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= size:
            return f"{value / size:.2f} {unit}"
    return f"{value:.0f} B"


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def _verdict(targets: list[dict[str, Any]], name: str) -> str:
    for target in targets:
        if target["name"] == name:
            verdict = {True: "PASS", False: "MISS", None: "n/a"}[target["passed"]]
            return f"  [target: {target['target']}: {verdict}]"
    return ""


LABEL_WIDTH = 38


def _phase_line(label: str, phase: Phase | None, extra: str = "") -> str:
    if phase is None:
        return f"  {label:<{LABEL_WIDTH}} skipped"
    cpu = "" if phase.cpu_seconds is None else f" (cpu {phase.cpu_seconds:.0f} s)"
    if phase.other_load is not None and phase.other_load >= DISTURBED_LOAD:
        extra += f"  [other processes used {phase.other_load:.1f} cores meanwhile: wall time inflated]"
    if phase.ok:
        state = ""
    elif phase.completed:
        state = f"  (exit {phase.returncode}: {phase.note}; ran to the end, time kept; log {phase.log})"
    else:
        state = f"  FAILED (exit {phase.returncode}; time not used; log {phase.log})"
    reused = "  (reused: measured when the raw zone was generated)" if phase.reused else ""
    return (f"  {label:<{LABEL_WIDTH}} {_seconds(phase.seconds):>9}{cpu:<14} peak {_bytes(phase.peak_rss_bytes):>9}"
            f"{extra}{state}{reused}")


def _figure_line(label: str, value: str, extra: str = "") -> str:
    return f"  {label:<{LABEL_WIDTH}} {value:>9}{extra}"


def format_report(results: dict[str, Any], phases: dict[str, Phase]) -> str:
    figures, targets, settings = results["figures"], results["targets"], results["settings"]
    raw, full_runs = results["raw_zone"], results["dbt"].get("full_build", {})
    increment = results.get("increment") or {}
    machine = results["machine"]
    by_source = ", ".join(f"{source} {count:,}" for source, count in sorted(raw["lines"]["by_source"].items()))
    lines = [
        "",
        f"Benchmark of {settings['conversations']:,} conversations (seed {settings['seed']}) in {results['workdir']}",
        f"  machine: {machine['cpus']} CPUs, {_bytes(machine['memory_bytes'])} RAM, DuckDB {machine.get('duckdb')}, "
        f"dbt-core {machine.get('dbt_core')}, dbt-duckdb {machine.get('dbt_duckdb')}",
        f"  DuckDB threads {settings['duckdb'].get('threads')}, memory_limit {settings['duckdb'].get('memory_limit')}; "
        f"dbt build {'with' if settings['unit_tests'] else 'without'} unit tests; load average at start "
        f"{results['load_average']['start']}, at end {results['load_average']['end']}",
        f"  raw zone: {raw['lines']['total']:,} lines ({by_source}), {raw['files']:,} files, {_bytes(raw['bytes'])}",
        "",
        _phase_line("generation", phases.get("generation")),
        _phase_line("dbt fixed overhead (empty build)", phases.get("empty_build"),
                    _startup(results["dbt"].get("empty_build")) + _verdict(targets, "dbt_overhead_seconds")),
        _phase_line("full build (--full-refresh)", phases.get("full_build"),
                    _startup(full_runs) + _verdict(targets, "full_build_seconds")),
        _phase_line("floor (single-pass DuckDB SQL)", phases.get("floor")),
        _figure_line("full build / floor", _times(figures["full_build_to_floor_ratio"]),
                     f" (cpu time: {_times(figures['full_build_to_floor_cpu_ratio'])})"
                     + _verdict(targets, "full_build_to_floor_ratio")),
        _figure_line("records per second (full build)", _count_text(figures["records_per_second"]), " raw lines/s"),
    ]
    lines.append(_phase_line("no-op build (no new file)", phases.get("noop_build"),
                             f"  = {_percent(figures['noop_to_full_ratio'])} of full, "
                             f"{_seconds(figures['noop_above_fixed_seconds'])} above the fixed cost"
                             + _startup(results["dbt"].get("noop_build"))
                             + _verdict(targets, "noop_to_full_ratio")
                             + _verdict(targets, "noop_above_fixed_seconds")))
    if increment:
        lines.append(_phase_line(
            f"+1% generation ({increment['conversations']:,} conversations)", phases.get("increment_generation"),
            f"  {increment['files_added']:,} new files, {increment['lines']:,} lines, existing files unchanged"))
    lines += [
        _phase_line("incremental build (+1% files)", phases.get("incremental_build"),
                    f"  = {_percent(figures['incremental_to_full_ratio'])} of full"
                    + _startup(results["dbt"].get("incremental_build"))),
        _figure_line("(incremental - no-op) / (full - no-op)", _percent(figures["incremental_work_share"]),
                     _verdict(targets, "incremental_work_share")),
        _phase_line("validate", phases.get("validate"),
                    f"  = {_percent(figures['validate_to_full_ratio'])} of full"
                    + _verdict(targets, "validate_to_full_ratio")),
        _figure_line("peak memory, max over phases", _bytes(figures["max_peak_rss_bytes"]),
                     f" ({figures['max_peak_rss_phase']})" + _verdict(targets, "max_peak_rss_bytes")),
    ]
    lines += _node_lines(full_runs, "full build", TOP_NODES)
    lines += _node_lines(results["dbt"].get("incremental_build"), "incremental build", TOP_INCREMENTAL_NODES)
    lines += _fact_lines(results.get("fact_counts"))
    if settings.get("target", "duckdb") != "duckdb":
        lines += ["", f"Target {settings['target']}: each build is `build --target {settings['target']}` "
                  "(the raw loader, then dbt); the loader's part:"]
        lines += [f"  {build:<18} load {_seconds(results['dbt'].get(build, {}).get('load_seconds'))}"
                  for build in ("full_build", "incremental_build")]
    verdicts = [t for t in targets if t["passed"] is not None]
    lines += ["", f"Targets met: {sum(t['passed'] for t in verdicts)}/{len(verdicts)}. JSON: {results['json_path']}"]
    return "\n".join(lines)


def _startup(runs: dict[str, Any] | None) -> str:
    if not runs or runs.get("startup_seconds") is None:
        return ""
    return (f"  ({sum(runs['statuses'].values())} nodes; {runs['startup_seconds']:.1f} s of it outside dbt's run loop: "
            "start-up, parsing)")


def _times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _count_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _node_lines(runs: dict[str, Any] | None, build: str, top: int) -> list[str]:
    if not runs or not runs.get("nodes"):
        return []
    models = [node for node in runs["nodes"] if node["resource_type"] == "model"]
    lines = ["", f"Slowest models of the {build} (top {min(top, len(models))} of {len(models)}, "
                 "run_results.json execution_time):"]
    lines += [f"  {node['execution_time']:8.1f} s  {node['unique_id'].split('.', 2)[-1]}"
              + ("" if node["status"] in {"success", "pass"} else f"  [{node['status']}]")
              for node in models[:top]]
    lines.append("  time by resource type (summed over 2 threads): " + ", ".join(
        f"{kind} {totals['count']} nodes {totals['seconds']:.1f} s"
        for kind, totals in sorted(runs["by_resource_type"].items(), key=lambda item: -item[1]["seconds"])))
    lines.append("  statuses: " + ", ".join(f"{status} {count}" for status, count in sorted(runs["statuses"].items())))
    return lines


def _fact_lines(comparison: dict[str, dict[str, int | None]] | None) -> list[str]:
    if not comparison:
        return []
    lines = ["", "Facts of the full build vs the floor (rows; event ids only in one; same id, different values):"]
    for metric, counts in comparison.items():
        lines.append(f"  {metric:<15} dbt {_n(counts['dbt']):>12}  floor {_n(counts['floor']):>12}  "
                     f"only dbt {_n(counts['only_dbt'])}, only floor {_n(counts['only_floor'])}, "
                     f"differing {_n(counts['differing'])}")
    return lines


def _n(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


# --- Command ---------------------------------------------------------------------------------------------------------
class BenchError(Exception):
    """The benchmark cannot go on; the message says why."""


def add_bench_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--conversations", type=positive_int, default=DEFAULT_CONVERSATIONS,
                        help=f"conversations in the raw zone (default {DEFAULT_CONVERSATIONS:,}, about 10 log lines "
                             "each)")
    parser.add_argument("--increment-conversations", type=positive_int, default=None,
                        help="conversations of the new files (default 1%% of --conversations); the same value at "
                             "1M and 2M of history compares the same increment (issue #13)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"generator seed (default {DEFAULT_SEED})")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR,
                        help="raw zone, DuckDB files, dbt targets and logs (default data/bench/)")
    parser.add_argument("--reuse-raw", action="store_true",
                        help="skip generation when the work directory already holds the raw zone of this size/seed")
    parser.add_argument("--skip-floor", action="store_true", help="do not run the single-pass SQL floor")
    parser.add_argument("--skip-validate", action="store_true", help="do not run the Great Expectations suites")
    parser.add_argument("--unit-tests", action="store_true",
                        help="also run the dbt unit tests in every build (production builds skip them, as `build`)")
    parser.add_argument("--profiles-dir", type=Path, default=DEFAULT_PROFILES_DIR,
                        help="dbt profiles directory for the builds; the floor uses its DuckDB settings too "
                             "(default: the project's profiles/)")
    parser.add_argument("--json", type=Path, default=None, help="results file (default <workdir>/bench-results.json)")
    add_target_argument(parser)
    from customer_agent_warehouse.bench.spark import DEFAULT_MASTERS, masters

    parser.add_argument("--spark-masters", type=masters, default=DEFAULT_MASTERS,
                        help=f"--target spark: the masters to compare (default {DEFAULT_MASTERS}; `cluster` is a "
                             "two-worker standalone cluster on 127.0.0.1 the bench starts and stops)")


def run_bench(args: argparse.Namespace) -> int:
    try:
        if args.target == "spark_thrift":
            raise BenchError("bench has no --target spark_thrift: use --target spark (with --spark-masters)")
        if args.target == "spark":  # its own phases and table (bench/spark.py)
            from customer_agent_warehouse.bench.spark import run_spark_bench

            return run_spark_bench(args)
        return _bench(args)
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2


def _bench(args: argparse.Namespace) -> int:
    layout = Layout(args.workdir.expanduser().resolve())
    layout.root.mkdir(parents=True, exist_ok=True)
    json_path = (args.json or layout.root / "bench-results.json").expanduser().resolve()
    started_at = dt.datetime.now(dt.UTC)
    load_start = _load_average()
    args.profiles_dir = args.profiles_dir.expanduser().resolve()
    phases: dict[str, Phase] = {}
    dbt_runs: dict[str, dict[str, Any]] = {}
    results: dict[str, Any] = {"schema_version": JSON_SCHEMA_VERSION, "workdir": str(layout.root)}

    phases["generation"], manifest = prepare_raw_zone(args, layout)
    raw_size = raw_zone_size(layout.raw)

    # dbt's fixed overhead: every node on an empty raw zone, into a fresh DuckDB file.
    _remove(layout.empty_raw)
    for source in SOURCES:
        (layout.empty_raw / source).mkdir(parents=True)
    _fresh_database(layout.empty_warehouse)
    phases["empty_build"], dbt_runs["empty_build"] = run_dbt_phase(
        layout, "empty_build", layout.empty_raw, layout.empty_warehouse, False, args)

    _fresh_database(layout.warehouse)
    phases["full_build"], dbt_runs["full_build"] = run_dbt_phase(
        layout, "full_build", layout.raw, layout.warehouse, True, args)
    lines = raw_line_counts(layout.warehouse, manifest)

    fact_counts = None
    floor_info = None
    if not args.skip_floor and args.target == "duckdb":  # the floor and its fact comparison are DuckDB's
        _fresh_database(layout.floor_db)
        floor_result = layout.root / "floor-result.json"
        _remove(floor_result)
        phases["floor"] = run_phase(
            "floor",
            [sys.executable, "-m", "customer_agent_warehouse.bench", "_floor", str(layout.floor_db), str(layout.raw),
             str(floor_result), str(args.profiles_dir)],
            phase_env(layout.raw, layout.floor_db), layout.output("floor"))
        if phases["floor"].ok:
            floor_info = json.loads(floor_result.read_text())
            fact_counts = compare_facts(layout.warehouse, layout.floor_db)

    # Issue #13: a build with no new file on the whole history.
    phases["noop_build"], dbt_runs["noop_build"] = run_dbt_phase(
        layout, "noop_build", layout.raw, layout.warehouse, False, args)

    increment = None
    try:
        phases["increment_generation"], increment = add_increment(args, layout)
        phases["incremental_build"], dbt_runs["incremental_build"] = run_dbt_phase(
            layout, "incremental_build", layout.raw, layout.warehouse, False, args)
    finally:
        _remove_increment(layout.raw)

    if not args.skip_validate:
        phases["validate"] = run_phase(
            "validate",
            [sys.executable, "-m", "customer_agent_warehouse", "validate", "--duckdb-path", str(layout.warehouse),
             "--target", args.target, "--report-dir", str(layout.root / "validation"),
             "--followup-delay-hours", str(followup_delay_hours())],
            {**phase_env(layout.raw, layout.warehouse),
             **(postgres_env(layout, "validate", fresh=False) if args.target == "postgres" else {})},
            layout.output("validate"))
        if phases["validate"].returncode == 1:  # exit 1: an expectation failed; every suite ran
            phases["validate"].completed = True
            phases["validate"].note = "expectations failed"

    figures = compute_figures(phases, lines["total"])
    results.update(
        started_at=started_at.isoformat(),
        finished_at=dt.datetime.now(dt.UTC).isoformat(),
        json_path=str(json_path),
        machine=machine_info(),
        load_average={"start": load_start, "end": _load_average()},
        settings={
            "conversations": args.conversations,
            "seed": args.seed,
            "increment_conversations": increment["conversations"] if increment else None,
            "reuse_raw": bool(phases["generation"].reused),
            "unit_tests": args.unit_tests,
            "target": args.target,
            "duckdb": duckdb_settings(phase_env(layout.raw, layout.warehouse), args.profiles_dir),
            "profiles_dir": str(args.profiles_dir),
        },
        raw_zone={**raw_size, "path": str(layout.raw), "lines": lines, "generator": manifest.get("stats")},
        phases={name: asdict(phase) for name, phase in phases.items()},
        figures=figures,
        targets=evaluate_targets(figures),
        models=[node for node in dbt_runs["full_build"]["nodes"] if node["resource_type"] == "model"],
        dbt=dbt_runs,
        floor=floor_info,
        fact_counts=fact_counts,
        increment=increment,
    )
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2))
    print(format_report(results, phases))
    failed = [name for name, phase in phases.items() if not phase.ok]
    if failed:
        print(f"\nFailed phases: {', '.join(failed)} (logs in {layout.root / 'logs'})")
        return 1
    return 0


# --- Workers (run as `python -m customer_agent_warehouse.bench <worker> ...`, one measured subprocess each) --------
def worker_main(argv: list[str]) -> int:
    worker, *rest = argv
    if worker == "_generate":
        from customer_agent_warehouse.generate import generate_raw_zone

        out, conversations, seed, prefix, stats_path = rest
        stats = generate_raw_zone(Path(out), conversations=int(conversations), seed=int(seed), file_prefix=prefix,
                                  progress=int(conversations) >= 100_000)
        Path(stats_path).write_text(json.dumps(asdict(stats)))
        return 0
    if worker == "_floor":
        database, raw, result_path, profiles_dir = rest
        run_floor_script(Path(database), Path(raw), Path(result_path), Path(profiles_dir))
        return 0
    print(f"unknown bench worker {worker!r}", file=sys.stderr)
    return 2

"""Issue 16 end to end, with real builds: readers of the serving copy never fail and never see a mix while builds
run and publish; a build killed with SIGKILL halfway leaves the serving copy intact and the next build gives the
marts of a clean build; one build at a time.

Readers are separate processes (tests/python/serving_reader.py), with the pinned DuckDB and with DuckDB 1.1 from
a cached virtual environment (tests/python/duckdb_clients.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from customer_agent_warehouse.dbt_runner import build_arguments
from customer_agent_warehouse.generate import generate_raw_zone
from customer_agent_warehouse.locking import lock_path_for, read_holder
from tests.python.duckdb_clients import NEWEST_1X, OLDEST_SUPPORTED, duckdb_python
from tests.python.warehouse import PROJECT_ROOT, Warehouse

pytestmark = pytest.mark.slow

READER = Path(__file__).with_name("serving_reader.py")
AS_OF = json.dumps({"as_of": "2026-10-31T00:00:00Z"})
NODE_START = re.compile(r"\b(\d+) of (\d+) START\b")


def add_raw_files(warehouse: Warehouse, prefix: str, conversations: int) -> None:
    generate_raw_zone(warehouse.raw, conversations=conversations, seed=7, file_prefix=prefix)


def fingerprint(python: Path | str, database: Path) -> dict:
    result = subprocess.run([str(python), str(READER), str(database), "--once"], capture_output=True, text=True,
                            check=True)
    return json.loads(result.stdout)


def relations(database: Path) -> list[str]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return [f"{schema}.{name}" for schema, name in connection.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'segments') order by 1, 2").fetchall()]


def contents(database: Path) -> dict[str, list[tuple]]:
    """Every row of every mart and segment, sorted: a row-by-row comparison."""
    with duckdb.connect(str(database), read_only=True) as connection:
        return {relation: connection.execute(f"select * from {relation} order by all").fetchall()
                for relation in relations(database)}


def readable_relations(database: Path) -> set[str]:
    """Tables and views a process other than dbt can read (the raw-zone sources are views of dbt's data frames)."""
    readable = set()
    with duckdb.connect(str(database), read_only=True) as connection:
        names = connection.execute("select table_schema, table_name from information_schema.tables").fetchall()
        for schema, name in names:
            try:
                connection.execute(f'select count(*) from "{schema}"."{name}"')
            except duckdb.Error:
                continue
            readable.add(f"{schema}.{name}")
    return readable


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    return result


def start_reader(python: Path | str, serving: Path, out: Path, stop: Path, hold: bool = False) -> subprocess.Popen:
    command = [str(python), str(READER), str(serving), str(out), str(stop)] + (["--hold"] if hold else [])
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_ready(out: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if out.exists() and '"ready"' in out.read_text():
            return
        time.sleep(0.2)
    raise AssertionError(f"reader {out} did not start")


def wait_for_samples_after(out: Path, count: int, timeout: float = 60) -> None:
    """Wait until the reader logged two lines more than `count`: the second one started after `count` was read."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if out.read_bytes().count(b"\n") >= count + 2:  # whole lines only: a sample may be half written
            return
        time.sleep(0.1)
    raise AssertionError(f"reader {out} took no new sample in {timeout:g} s")


def samples(out: Path) -> list[dict]:
    return [line for line in map(json.loads, out.read_text().splitlines()) if "ready" not in line]


def test_readers_see_one_published_build_at_a_time_and_never_fail(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    old_python = duckdb_python(OLDEST_SUPPORTED)
    add_raw_files(warehouse, "a", 150)
    ok(warehouse.cli("build", "--vars", AS_OF))
    states = [tmp_path / "state-0.duckdb"]
    shutil.copy(warehouse.serving, states[0])

    stop = tmp_path / "stop"
    readers = {
        "pinned": (sys.executable, False), "pinned-holding": (sys.executable, True), "duckdb-1.1": (old_python, False)
    }
    processes = {name: start_reader(python, warehouse.serving, tmp_path / f"{name}.jsonl", stop, hold)
                 for name, (python, hold) in readers.items()}
    for name in readers:
        wait_ready(tmp_path / f"{name}.jsonl")
    try:
        for number, (prefix, extra) in enumerate((("b", ["--full-refresh"]), ("c", [])), start=1):
            add_raw_files(warehouse, prefix, 80)
            ok(warehouse.cli("build", *extra, "--vars", AS_OF))
            states.append(tmp_path / f"state-{number}.duckdb")
            shutil.copy(warehouse.serving, states[-1])
        published = {name: (tmp_path / f"{name}.jsonl").read_bytes().count(b"\n") for name in readers}
        for name, count in published.items():  # the loop readers sample the last published build too
            wait_for_samples_after(tmp_path / f"{name}.jsonl", count)
    finally:
        stop.touch()
        for process in processes.values():
            process.wait(timeout=60)
    for name, process in processes.items():
        assert process.returncode == 0, f"reader {name} crashed: {process.stderr.read()[-2000:]}"

    for name, (python, hold) in readers.items():
        known = [fingerprint(python, state) for state in states]
        assert all(known[i] != known[i + 1] for i in range(len(known) - 1)), "each build changes the marts"
        taken = samples(tmp_path / f"{name}.jsonl")
        errors = [sample["error"] for sample in taken if "error" in sample]
        assert not errors, f"reader {name} failed: {errors[:3]}"
        seen = [known.index(sample["fingerprint"]) if sample["fingerprint"] in known else None for sample in taken]
        assert None not in seen, f"reader {name} saw a warehouse that no build published (a mix)"
        assert seen == sorted(seen), f"reader {name} went back to an older build: {seen}"
        if hold:
            assert set(seen) == {0}, "a connection held open keeps reading the file it opened"
        else:
            assert seen[0] == 0 and seen[-1] == len(states) - 1, seen


def test_the_serving_copy_is_readable_by_duckdb_1x_clients_and_as_parquet(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "wh")
    add_raw_files(warehouse, "a", 60)
    ok(warehouse.cli("build", "--vars", AS_OF))
    expected = contents(warehouse.serving)
    assert expected == contents(warehouse.db)
    script = ("import duckdb, json, sys\n"
              "c = duckdb.connect(sys.argv[1], read_only=True)\n"
              "names = [f'{s}.{t}' for s, t in c.execute(\"select schema_name, table_name from duckdb_tables() "
              "order by 1, 2\").fetchall()]\n"
              "print(json.dumps({n: c.execute(f'select count(*) from (select * from {n})').fetchone()[0] "
              "for n in names}))\n")
    build_tables = readable_relations(warehouse.db)
    for version in (OLDEST_SUPPORTED, NEWEST_1X):
        result = subprocess.run([str(duckdb_python(version)), "-c", script, str(warehouse.serving)],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"DuckDB {version}: {result.stderr[-2000:]}"
        counts = json.loads(result.stdout)
        assert set(counts) == build_tables, "every readable table and view of the build file is served, as a table"
        assert {name: counts[name] for name in expected} == {name: len(rows) for name, rows in expected.items()}
    with duckdb.connect(str(warehouse.serving), read_only=True) as connection:
        assert connection.execute("select count(*) from duckdb_views() where not internal").fetchone()[0] == 0
    assert os.stat(warehouse.serving).st_mode & 0o222 == 0, "the serving copy is read-only on disk"

    parquet = tmp_path / "parquet"
    published = ok(warehouse.cli("publish", "--parquet", str(parquet)))
    assert "published" in published.stdout
    files = sorted(path.relative_to(parquet).as_posix() for path in parquet.rglob("*.parquet"))
    assert files == sorted(f"{name.replace('.', '/')}.parquet" for name in expected)
    with duckdb.connect() as connection:
        for name, rows in expected.items():
            path = parquet / f"{name.replace('.', '/')}.parquet"
            assert connection.execute(f"select * from '{path}' order by all").fetchall() == rows, name
    manifest = json.loads((parquet / "_published.json").read_text())
    assert manifest["rows"] == {name: len(rows) for name, rows in expected.items()}

    # A failed build publishes nothing: the last good copy stays.
    published_before = sha256(warehouse.serving)
    failed = warehouse.cli("build", "--vars", json.dumps({"escalation_suppression_days": -1}))
    assert failed.returncode != 0 and "nothing published" in failed.stdout
    assert sha256(warehouse.serving) == published_before


def test_a_killed_build_leaves_the_serving_copy_and_the_rebuild_equals_a_clean_build(tmp_path: Path) -> None:
    clean, victim = Warehouse(tmp_path / "clean"), Warehouse(tmp_path / "victim")
    add_raw_files(victim, "a", 150)
    ok(victim.cli("build", "--vars", AS_OF))
    published_before = sha256(victim.serving)
    add_raw_files(victim, "b", 150)
    shutil.copytree(victim.raw, clean.raw)
    ok(clean.cli("build", "--vars", AS_OF))

    build = subprocess.Popen(victim.cli_command("build", "--vars", AS_OF), cwd=PROJECT_ROOT, env=victim.cli_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    killed_at = None
    for line in build.stdout:
        match = NODE_START.search(line)
        if match and int(match.group(1)) >= int(match.group(2)) // 2:
            killed_at = line.strip()
            os.killpg(build.pid, signal.SIGKILL)
            break
    build.wait(timeout=120)
    assert killed_at and build.returncode == -signal.SIGKILL, f"the build ended before it was killed: {killed_at}"
    assert sha256(victim.serving) == published_before, "a killed build never touches the serving copy"
    assert not list(victim.serving.parent.glob(".*publish*"))
    assert contents(victim.serving), "the serving copy still opens"

    ok(victim.cli("build", "--vars", AS_OF))
    expected = contents(clean.db)
    assert contents(victim.db) == expected, f"rebuild after a kill at [{killed_at}] differs from a clean build"
    assert contents(victim.serving) == expected


def wait_for_holder(lock_path: Path, pid: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holder = read_holder(lock_path)
        if holder and holder.pid == pid:
            return
        time.sleep(0.1)
    raise AssertionError(f"process {pid} never took the build lock {lock_path}")


def test_one_build_at_a_time_and_the_first_is_unharmed(tmp_path: Path) -> None:
    """While a build holds the lock (paused with SIGSTOP, so the check does not depend on timing), every other
    build fails at once naming it; resumed, the first build completes normally."""
    warehouse = Warehouse(tmp_path / "wh")
    add_raw_files(warehouse, "a", 150)
    lock_path = lock_path_for(warehouse.db)

    # A plain `dbt build` holds the lock (dbt-duckdb plugin build_guard): the CLI and another dbt fail at once.
    first = warehouse.runner().popen(build_arguments(), {"as_of": "2026-10-31T00:00:00Z"}, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, start_new_session=True)
    wait_for_holder(lock_path, first.pid)
    os.killpg(first.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        refused = warehouse.cli("build")
        assert time.monotonic() - started < 15, "the second build does not wait for the first"
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
        assert f"pid {first.pid}" in refused.stderr and "dbt build" in refused.stderr, refused.stderr
        second_dbt = warehouse.build(check=False)
        assert second_dbt.returncode != 0 and f"pid {first.pid}" in second_dbt.stdout, second_dbt.stdout[-3000:]
        assert "being built" in second_dbt.stdout and "Traceback" not in second_dbt.stdout + second_dbt.stderr
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    output, _ = first.communicate(timeout=600)
    assert first.returncode == 0, output[-4000:]
    assert warehouse.query("select count(*) from marts.fct_conversation_started")[0][0] > 0

    # The CLI holds it for the whole build and publish: a plain dbt build fails, naming the CLI.
    cli_build = subprocess.Popen(warehouse.cli_command("build", "--vars", AS_OF), cwd=PROJECT_ROOT,
                                 env=warehouse.cli_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 start_new_session=True)
    wait_for_holder(lock_path, cli_build.pid)
    os.killpg(cli_build.pid, signal.SIGSTOP)
    try:
        refused_dbt = warehouse.build(check=False)
        assert refused_dbt.returncode != 0 and f"pid {cli_build.pid}" in refused_dbt.stdout, refused_dbt.stdout[-3000:]
    finally:
        os.killpg(cli_build.pid, signal.SIGCONT)
    output, _ = cli_build.communicate(timeout=600)
    assert cli_build.returncode == 0, output[-4000:]
    assert "published" in output and warehouse.serving.is_file()

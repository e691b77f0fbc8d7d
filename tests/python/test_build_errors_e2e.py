"""Two raw DuckDB errors a build meets are one clear line each (issue 28), on real processes and a real small disk:

* another process has the build file open (a BI tool, a notebook): the CLI's `build` and `run` and a plain `dbt build`
  stop with one line naming the file, the holder's pid and the serving copy; after the holder exits the build runs;
* the disk fills during a build: one line saying which folder is full and that the next build is exact; after
  freeing space the next build gives the hand-derived facts of test_facts_e2e (what a clean build gives).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from customer_agent_warehouse.disk_full import disk_full_message
from tests.python import test_facts_e2e as scenario
from tests.python.test_odd_names_e2e import assert_expected_facts, write_batch_a, write_batch_b
from tests.python.warehouse import Warehouse

pytestmark = pytest.mark.slow

HOLD_FILE = ("import sys, duckdb; connection = duckdb.connect(sys.argv[1]); print('open', flush=True); "
             "sys.stdin.read()")
CLI_ERROR = "python -m customer_agent_warehouse {command}: error: {line}"
DISK_FULL = ("disk full: no space left in {where} (DuckDB could not write {name}); free space there or point "
             "CA_DUCKDB_PATH at a bigger folder, then build again: the next build is exact (nothing of a failed "
             "model was committed)")
SMALL_DISK = "64k"  # the first commit of a model's write-ahead log does not fit
ENOUGH_DISK = "64m"


def open_elsewhere_line(warehouse: Warehouse, pid: int) -> str:
    program = Path(os.path.realpath(sys.executable)).name  # DuckDB names the holder's executable
    return (f"warehouse {warehouse.db} is open in another process (pid {pid}, {program}): a build needs the build "
            f"file alone; close it there and build again. BI tools belong on the serving copy {warehouse.serving} "
            "(docs/serving.md)")


def output_lines(result: subprocess.CompletedProcess) -> list[str]:
    """Output lines without dbt's time stamps."""
    return [re.sub(r"^(\x1b\[0m)?\d\d:\d\d:\d\d  ", "", line).strip()
            for line in (result.stdout + result.stderr).splitlines()]


def test_a_build_file_open_in_another_process_is_one_line(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path)
    write_batch_a(warehouse)
    warehouse.db.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_FILE, str(warehouse.db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        line = open_elsewhere_line(warehouse, holder.pid)
        for command in ("build", "run"):
            result = warehouse.cli(command)
            assert result.returncode == 2, result.stdout[-3000:] + result.stderr[-2000:]
            assert result.stderr.strip().splitlines() == [CLI_ERROR.format(command=command, line=line)], command
        plain = warehouse.build("--select", "base_customer_agent__log_lines", check=False)
        assert plain.returncode != 0
        assert output_lines(plain).count(line) == 1, plain.stdout[-3000:]
        assert "Traceback" not in plain.stdout + plain.stderr and "IO Error" not in plain.stdout + plain.stderr
    finally:
        holder.communicate("")
    warehouse.dbt("run", "--select", "base_customer_agent__log_lines")
    assert warehouse.query("select count(*) from staging.base_customer_agent__log_lines") == [
        (len(scenario.logs_part_1()) + len(scenario.logs_part_2()),)]


def test_the_disk_full_line_names_the_full_folder() -> None:
    warehouse = Path("/data/wh/my-warehouse.duckdb")
    in_model = ('Runtime Error in model stg_shop__orders (models/staging/shop/stg_shop__orders.sql)\n  '
                'TransactionContext Error: Failed to commit: Could not write file '
                '"/data/wh/my-warehouse.duckdb.wal": No space left on device')
    spill = ('Out of Memory Error: could not write block: Could not write file '
             '"/data/wh/my-warehouse.duckdb.tmp/duckdb_temp_storage_DEFAULT-0.tmp": No space left on device')
    assert disk_full_message(warehouse, ["Database Error: other", in_model]) == DISK_FULL.format(
        where="the warehouse's folder /data/wh", name="my-warehouse.duckdb.wal")
    assert disk_full_message(warehouse, [spill]) == DISK_FULL.format(
        where="the spill folder /data/wh/my-warehouse.duckdb.tmp/", name="duckdb_temp_storage_DEFAULT-0.tmp")
    assert disk_full_message(warehouse, ["Runtime Error: Binder Error: no column x"]) is None


def _mount(folder: Path, size: str, remount: bool = False) -> subprocess.CompletedProcess:
    options = f"remount,size={size}" if remount else f"size={size}"
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True,
                          text=True, check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real file system of SMALL_DISK (tmpfs: needs root; the mapping itself is tested on DuckDB's text above)."""
    folder = tmp_path / "small disk"
    folder.mkdir()
    mounted = _mount(folder, SMALL_DISK)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a {SMALL_DISK} tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_full_disk_is_one_line_and_the_next_build_is_exact(tmp_path: Path, small_disk: Path) -> None:
    warehouse = Warehouse(tmp_path, db_name=f"{small_disk.name}/warehouse.duckdb")
    write_batch_a(warehouse)
    write_batch_b(warehouse)
    line = DISK_FULL.format(where=f"the warehouse's folder {small_disk}", name="warehouse.duckdb.wal")

    result = warehouse.cli("build")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    lines = output_lines(result)
    assert line in lines, "the line of plain dbt (on-run-end hook)"
    step = next(text for text in lines if text.startswith("==> dbt build: FAILED"))
    assert re.fullmatch(r"==> dbt build: FAILED \(exit 1\) in [0-9.]+s: " + re.escape(line), step)

    assert _mount(small_disk, ENOUGH_DISK, remount=True).returncode == 0
    scenario.build_customer_agent_marts(warehouse)
    assert_expected_facts(warehouse)

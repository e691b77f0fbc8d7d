"""Cost follows lines, not files (issue 11): the same raw lines in few files and in many files, built in full.

Usage::

    python -m customer_agent_warehouse.bench.many_files --raw data/raw [--files 1000 20000]
                                                        [--workdir data/bench-files]

Every line of the raw zone `--raw` is re-split, per source folder, into N plain `.jsonl` files (logs 90%,
profiles 7%, orders 3% of N, in the order the lines were found), once per N of `--files`; each split is
built with `dbt build --full-refresh` into a fresh DuckDB file exactly as the `build` command runs it
(unit tests excluded), timed on the wall clock with the peak resident memory of the build's process
tree. Prints one line per split and the ratio of the largest to the smallest split's wall time (target:
at most 1.5) and the peak memory (target: at most 6 GB). A benchmark, never a test: it prints figures.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path
from types import SimpleNamespace

from customer_agent_warehouse.arguments import positive_int
from customer_agent_warehouse.bench import (
    DEFAULT_PROFILES_DIR,
    TARGET_PEAK_BYTES,
    Layout,
    _bytes,
    _fresh_database,
    _remove,
    run_dbt_phase,
)
from customer_agent_warehouse.ingest.sources import SOURCES
from customer_agent_warehouse.settings import PROJECT_ROOT

FILE_SHARE = {"conversation_logs": 0.90, "profiles": 0.07, "orders": 0.03}
TARGET_RATIO = 1.5


def raw_lines(folder: Path) -> list[bytes]:
    """Every line of a source folder's raw files (plain or gzip), newline-terminated, in name order."""
    lines: list[bytes] = []
    for path in sorted(folder.rglob("*.jsonl*")):
        if path.name.endswith((".jsonl", ".jsonl.gz")) and path.is_file():
            data = path.read_bytes()
            data = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
            lines.extend(line if line.endswith(b"\n") else line + b"\n" for line in data.splitlines(keepends=True))
    return lines


def split_raw_zone(raw: Path, out: Path, files: int) -> int:
    """Write the raw zone's lines into about `files` files; returns the number of lines written."""
    _remove(out)
    written = 0
    for source in SOURCES:
        lines = raw_lines(raw / source)
        parts = max(1, round(files * FILE_SHARE.get(source, 0.01)))
        per_part = -(-len(lines) // parts) if lines else 0
        (out / source).mkdir(parents=True, exist_ok=True)
        for index in range(parts):
            chunk = lines[index * per_part:(index + 1) * per_part]
            if chunk:
                (out / source / f"part-{index:06d}.jsonl").write_bytes(b"".join(chunk))
                written += len(chunk)
    return written


def measure(raw: Path, workdir: Path, files: int, options: SimpleNamespace) -> dict[str, object]:
    split = workdir / f"raw-{files}"
    lines = split_raw_zone(raw, split, files)
    layout = Layout(workdir / f"build-{files}")
    database = layout.warehouse
    _fresh_database(database)
    phase, _ = run_dbt_phase(layout, "full_build", split, database, True, options)
    count = sum(1 for _ in split.rglob("*.jsonl"))
    return {"files": count, "lines": lines, "seconds": phase.seconds, "cpu_seconds": phase.cpu_seconds,
            "peak_bytes": phase.peak_rss_bytes, "ok": phase.completed}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--raw", type=Path, required=True, help="the raw zone whose lines are re-split")
    parser.add_argument("--files", type=positive_int, nargs="+", default=[1000, 20000],
                        help="numbers of files to split into (default 1000 20000)")
    parser.add_argument("--workdir", type=Path, default=PROJECT_ROOT / "data" / "bench-files",
                        help="where the splits and their warehouses go (default data/bench-files)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m customer_agent_warehouse.bench.many_files",
                                     description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    if not args.raw.is_dir():
        parser.error(f"--raw {args.raw} is not a folder: give the raw zone to re-split")
    options = SimpleNamespace(target="duckdb", profiles_dir=DEFAULT_PROFILES_DIR, unit_tests=False)
    results = [measure(args.raw.resolve(), args.workdir.resolve(), files, options) for files in sorted(args.files)]
    for result in results:
        print(f"{result['files']:>7,} files {result['lines']:>11,} lines: full build {result['seconds']:7.1f} s "
              f"wall, {result['cpu_seconds']:7.1f} s CPU, peak {_bytes(result['peak_bytes'])}"
              f"{'' if result['ok'] else '  FAILED'}")
    if len(results) > 1:
        ratio = results[-1]["seconds"] / results[0]["seconds"]
        peak = max(result["peak_bytes"] for result in results)
        print(f"ratio {results[-1]['files']:,} / {results[0]['files']:,} files: {ratio:.2f}x wall "
              f"(target <= {TARGET_RATIO}x: {'PASS' if ratio <= TARGET_RATIO else 'MISS'}); peak {_bytes(peak)} "
              f"(target <= {_bytes(TARGET_PEAK_BYTES)}: {'PASS' if peak <= TARGET_PEAK_BYTES else 'MISS'})")
    (args.workdir / "many-files-results.json").write_text(json.dumps(results, indent=2))
    return 0 if all(result["ok"] for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())

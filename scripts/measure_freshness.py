"""Freshness of `run --watch` (issue 27, docs/continuous.md): seconds from a raw file landing in the raw zone to its
conversation being in the serving copy, for a few files dropped one at a time; prints each and the worst.

    CA_RAW_PATH=... CA_DUCKDB_PATH=... .venv/bin/python scripts/measure_freshness.py [--files 3] [--interval 1]

The warehouse must be built (`python -m customer_agent_warehouse run`) from that raw zone first. The script starts
the watcher, waits until it lists the raw zone, then for each file: generates one conversation with a new prefix
(`generate`), lands its conversation-log file in the raw zone (written under a hidden name, then renamed, as an
upload tool does), and polls the serving copy's `marts.dim_conversations` until the conversation is there. It
stops the watcher with SIGTERM at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from customer_agent_warehouse.generate import generate_raw_zone  # noqa: E402
from customer_agent_warehouse.settings import load_settings  # noqa: E402


def wait_until(condition, deadline: float, what: str, watcher: subprocess.Popen) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if condition():
            return
        if watcher.poll() is not None:
            raise SystemExit(f"the watcher ended (exit {watcher.returncode}) while waiting for {what}")
        time.sleep(0.05)
    raise SystemExit(f"{what}: not within {deadline:.0f}s")


def conversations_in(path: Path) -> set[str]:
    found = set()
    text = gzip.decompress(path.read_bytes()).decode() if path.name.endswith(".gz") else path.read_text()
    for line in text.splitlines():
        try:
            found.add(json.loads(line)["conversation_id"])
        except (ValueError, KeyError, TypeError):
            continue
    return {value for value in found if isinstance(value, str) and value.strip()}


def published(serving: Path, conversations: set[str]) -> bool:
    import duckdb

    if not serving.is_file():
        return False
    try:
        with duckdb.connect(str(serving), read_only=True) as connection:
            found = connection.execute("select count(distinct conversation_id) from marts.dim_conversations "
                                       "where list_contains(?, conversation_id)", [sorted(conversations)]).fetchone()
    except duckdb.Error:
        return False
    return found[0] == len(conversations)


def land(raw: Path, prefix: str) -> tuple[float, set[str]]:
    """Generate one conversation, land its conversation-log files in the raw zone; returns (landed at, ids)."""
    day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=3)  # as `generate`: whole days, none in the future
    with tempfile.TemporaryDirectory() as folder:
        generate_raw_zone(Path(folder), conversations=1, seed=int(time.time()), start_date=day, days=1,
                          file_prefix=prefix, malformed_rate=0.0)
        files = sorted((Path(folder) / "conversation_logs").rglob("*.jsonl*"))
        ids: set[str] = set()
        hidden: list[tuple[Path, Path]] = []
        for file in files:
            target = raw / file.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            staged = target.with_name(f"_{target.name}")
            staged.write_bytes(file.read_bytes())
            hidden.append((staged, target))
            ids |= conversations_in(file)
        for staged, target in hidden:
            os.rename(staged, target)
        return time.monotonic(), ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=3, help="files dropped one at a time (default 3)")
    parser.add_argument("--interval", type=float, default=1.0, help="the watcher's --interval (default 1)")
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds to wait for each file (default 600)")
    args = parser.parse_args()
    settings = load_settings()
    work = Path(tempfile.mkdtemp(prefix="freshness-"))
    status, output = work / "status.json", work / "watch.log"
    with output.open("w") as stream:
        watcher = subprocess.Popen([sys.executable, "-m", "customer_agent_warehouse", "run", "--watch",
                                    "--interval", str(args.interval), "--status-file", str(status)],
                                   cwd=PROJECT_ROOT, stdout=stream, stderr=subprocess.STDOUT)
    figures: list[float] = []
    try:
        started = time.monotonic()
        wait_until(status.is_file, args.deadline, "the watcher's first listing", watcher)
        print(f"watcher ready in {time.monotonic() - started:.1f}s (log {output})", flush=True)
        for number in range(1, args.files + 1):
            landed, ids = land(settings.raw_path, f"fresh{int(time.time())}n{number}")
            wait_until(lambda ids=ids: published(settings.serving, ids), args.deadline, f"file {number}", watcher)
            figures.append(time.monotonic() - landed)
            print(f"file {number}: conversation {', '.join(sorted(ids))} in the serving copy "
                  f"{figures[-1]:.1f}s after landing", flush=True)
    finally:
        watcher.send_signal(signal.SIGTERM)
        watcher.wait()
    cycles = [line for line in output.read_text().splitlines() if line.startswith("==> cycle")]
    print("\n".join(cycles[-args.files:]))
    print(f"freshness: worst {max(figures):.1f}s of {len(figures)} files (each: "
          f"{', '.join(f'{value:.1f}s' for value in figures)}); watcher exit {watcher.returncode}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

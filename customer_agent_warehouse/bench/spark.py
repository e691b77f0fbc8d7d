"""`bench --target spark`: the Spark builds of one raw zone on several masters, printed as one table.

    python -m customer_agent_warehouse bench --target spark --conversations 200000 \\
        [--spark-masters local[1],local[2],cluster]

For each master, in a fresh Spark warehouse of its own (`<workdir>/spark/<master>/`), three measured runs of the
`build --target spark` command, as production runs it (the raw loader, then dbt in the same process):

1. ``full_build``         `build --full-refresh` of the whole raw zone;
2. ``noop_build``         `build` with no new file;
3. ``incremental_build``  `build` after about 1% more conversations as new files (removed again afterwards, so
                          every master sees the same data).

`cluster` is a standalone cluster the bench starts on 127.0.0.1 (spark_cluster.py: a master and two workers of one
core each) and stops at the end; the driver stays in the build's process, the executors run on the workers. Peak
memory is the build's process tree plus, on the cluster, the workers' trees (the executors), sampled together.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from customer_agent_warehouse.bench import (
    Layout,
    Phase,
    _bytes,
    _remove,
    _remove_increment,
    _TreeSampler,
    add_increment,
    phase_env,
    prepare_raw_zone,
    run_phase,
)

DEFAULT_MASTERS = "local[1],local[2],cluster"
CLUSTER = "cluster"
PHASES = ("full_build", "noop_build", "incremental_build")
CLUSTER_WORKERS = 2


def masters(text: str) -> list[str]:
    """`--spark-masters`: comma-separated `local[N]`, `cluster` or `spark://host:port`."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    bad = [name for name in names if name != CLUSTER and not re.fullmatch(r"local\[[0-9]+\]|spark://\S+", name)]
    if not names or bad:
        raise argparse.ArgumentTypeError(f"a comma-separated list of local[N], cluster or spark://host:port; got "
                                         f"{text!r}")
    return names


def label(master: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", master).strip("_")


@contextlib.contextmanager
def worker_samplers(pids: list[int]) -> Iterator[list[_TreeSampler]]:
    """Resident memory of the cluster workers' process trees (their executors) while a phase runs."""
    samplers = [_TreeSampler(pid) for pid in pids]
    for sampler in samplers:
        sampler.start()
    try:
        yield samplers
    finally:
        for sampler in samplers:
            sampler.stop()


def spark_phase(name: str, layout: Layout, master: str, master_url: str, worker_pids: list[int],
                full_refresh: bool) -> Phase:
    """One `build --target spark` of the raw zone into this master's warehouse."""
    folder = layout.root / "spark" / label(master)
    env = {**phase_env(layout.raw, folder / "unused.duckdb"), "CA_SPARK_MASTER": master_url,
           "CA_SPARK_WAREHOUSE": str(folder / "warehouse"), "DBT_TARGET_PATH": str(folder / "target" / name),
           "DBT_LOG_PATH": str(folder / "logs" / name)}
    command = [sys.executable, "-m", "customer_agent_warehouse", "build", "--target", "spark",
               *(["--full-refresh"] if full_refresh else [])]
    with worker_samplers(worker_pids) as samplers:
        phase = run_phase(f"{label(master)}.{name}", command, env, folder / "logs" / f"{name}.log")
    phase.peak_rss_bytes += sum(sampler.peak_bytes for sampler in samplers)
    return phase


def bench_master(args: argparse.Namespace, layout: Layout, master: str, master_url: str,
                 worker_pids: list[int]) -> dict[str, Phase]:
    folder = layout.root / "spark" / label(master)
    for stale in ("warehouse", "warehouse-metastore", "warehouse.lock"):
        _remove(folder / stale)
    phases = {"full_build": spark_phase("full_build", layout, master, master_url, worker_pids, True),
              "noop_build": spark_phase("noop_build", layout, master, master_url, worker_pids, False)}
    try:
        add_increment(args, layout)
        phases["incremental_build"] = spark_phase("incremental_build", layout, master, master_url, worker_pids,
                                                  False)
    finally:
        _remove_increment(layout.raw)
    return phases


@contextlib.contextmanager
def master_url(master: str, layout: Layout) -> Iterator[tuple[str, list[int]]]:
    """The master URL to build on, and the pids of the workers to sample (a cluster started here)."""
    if master != CLUSTER:
        yield master, []
        return
    from customer_agent_warehouse.spark_cluster import standalone_cluster

    with standalone_cluster(layout.root / "spark" / "cluster-processes", workers=CLUSTER_WORKERS,
                            worker_cores=1, worker_memory="3g") as cluster:
        yield cluster.master_url, [process.popen.pid for process in cluster.processes[1:]]


def figures(phases: dict[str, Phase]) -> dict[str, float | None]:
    full, noop, incremental = (phases[name].seconds if name in phases else None for name in PHASES)
    return {
        "full_build_seconds": full, "noop_build_seconds": noop, "incremental_build_seconds": incremental,
        "peak_rss_bytes": max(phase.peak_rss_bytes for phase in phases.values()),
        "noop_to_full_ratio": noop / full if full and noop is not None else None,
        "incremental_work_share": ((incremental - noop) / (full - noop)
                                   if None not in (full, noop, incremental) and full != noop else None),
    }


def format_table(results: dict[str, dict[str, Any]]) -> str:
    header = f"{'master':<12} {'full build':>11} {'no-op':>8} {'+1% files':>10} {'peak memory':>12} " \
             f"{'no-op/full':>11} {'(inc-noop)/(full-noop)':>23}"
    lines = [header, "-" * len(header)]
    for master, result in results.items():
        figure = result["figures"]
        lines.append(
            f"{master:<12} {_s(figure['full_build_seconds']):>11} {_s(figure['noop_build_seconds']):>8} "
            f"{_s(figure['incremental_build_seconds']):>10} {_bytes(figure['peak_rss_bytes']):>12} "
            f"{_percent(figure['noop_to_full_ratio']):>11} {_percent(figure['incremental_work_share']):>23}")
    return "\n".join(lines)


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def run_spark_bench(args: argparse.Namespace) -> int:
    layout = Layout(args.workdir.expanduser().resolve())
    layout.root.mkdir(parents=True, exist_ok=True)
    json_path = (args.json or layout.root / "bench-spark-results.json").expanduser().resolve()
    generation, manifest = prepare_raw_zone(args, layout)
    results: dict[str, dict[str, Any]] = {}
    for master in args.spark_masters:
        with master_url(master, layout) as (url, worker_pids):
            phases = bench_master(args, layout, master, url, worker_pids)
        results[master] = {"master_url": url, "phases": {name: asdict(phase) for name, phase in phases.items()},
                           "figures": figures(phases)}
    report = {"target": "spark", "conversations": args.conversations, "seed": args.seed,
              "generation": asdict(generation), "raw_zone": manifest.get("stats"), "masters": results}
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2, default=str))
    print(f"Spark builds of {args.conversations:,} conversations (`build --target spark`; results in {json_path})")
    print(format_table(results))
    failed = [f"{master} {name}" for master, result in results.items()
              for name, phase in result["phases"].items() if phase["returncode"] != 0]
    if failed:
        print(f"\nFailed phases: {', '.join(failed)} (logs in {layout.root / 'spark'})")
        return 1
    return 0

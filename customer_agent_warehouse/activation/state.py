"""The `--since-last` state: which events were exported, and each list's membership as last exported.

On duckdb and postgres the state lives in the warehouse, in schema `activation`, written with plain SQL by the
export (not by dbt) in the export's transaction:

* `activation.exported_events` (event_id, metric_name, export_id, exported_at): one row per exported event;
* `activation.list_members` (segment, list_id, profile_id, export_id, exported_at): the profiles each list was
  left with by the last `--since-last` export;
* `activation.exports` (export_id, exported_at, target, output_dir, events, list_additions, list_removals).

On spark the warehouse is Spark's own parquet tables, so the same three tables are parquet files in a folder
beside it (`<CA_SPARK_WAREHOUSE>-activation/<table>/`), read back through the same SQL.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from customer_agent_warehouse.warehouse import ParquetWarehouse, Warehouse, spark_state_dir

SCHEMA = "activation"
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "exported_events": (("event_id", "varchar"), ("metric_name", "varchar"), ("export_id", "varchar"),
                        ("exported_at", "timestamp")),
    "list_members": (("segment", "varchar"), ("list_id", "varchar"), ("profile_id", "varchar"),
                     ("export_id", "varchar"), ("exported_at", "timestamp")),
    "exports": (("export_id", "varchar"), ("exported_at", "timestamp"), ("target", "varchar"),
                ("output_dir", "varchar"), ("events", "integer"), ("list_additions", "integer"),
                ("list_removals", "integer")),
}


@dataclass(frozen=True)
class PreviousList:
    list_id: str
    members: frozenset[str]


@dataclass
class ExportRecord:
    """What one `--since-last` export wrote, to be recorded once its files are in place."""

    export_id: str
    exported_at: datetime
    target: str
    output_dir: str
    events: list[tuple[str, str]]  # (event_id, metric_name)
    lists: dict[str, tuple[str, list[str]]]  # segment -> (list_id, members now)
    list_additions: int = 0
    list_removals: int = 0


class ExportState:
    """Reads and records the state through a writable warehouse connection (duckdb, postgres)."""

    def __init__(self, warehouse: Warehouse, writable: bool = True) -> None:
        self.warehouse = warehouse
        self.prepare(writable)

    def prepare(self, writable: bool) -> None:
        """Create the tables (on a writable connection; a dry run only reads what exists)."""
        if not writable:
            return
        self.warehouse.execute(f"create schema if not exists {SCHEMA}")
        for table, columns in TABLES.items():
            definition = ", ".join(f"{name} {data_type}" for name, data_type in columns)
            self.warehouse.execute(f"create table if not exists {SCHEMA}.{table} ({definition})")

    def has_events_table(self) -> bool:
        return bool(self.warehouse.columns(SCHEMA, "exported_events"))

    def previous_lists(self) -> dict[str, PreviousList]:
        if not self.warehouse.columns(SCHEMA, "list_members"):
            return {}
        list_ids: dict[str, str] = {}
        members: dict[str, set[str]] = {}
        for row in self.warehouse.query("select segment, list_id, profile_id from activation.list_members"):
            list_ids[row["segment"]] = row["list_id"]
            members.setdefault(row["segment"], set()).add(row["profile_id"])
        return {segment: PreviousList(list_ids[segment], frozenset(ids)) for segment, ids in members.items()}

    def record(self, record: ExportRecord) -> None:
        stamp = (record.export_id, record.exported_at)
        self.warehouse.insert_rows(SCHEMA, "exported_events", _names("exported_events"),
                                   [(event_id, metric, *stamp) for event_id, metric in record.events])
        for segment, (list_id, members) in record.lists.items():
            self.warehouse.execute(f"delete from {SCHEMA}.list_members where segment = '{segment}'")
            self.warehouse.insert_rows(SCHEMA, "list_members", _names("list_members"),
                                       [(segment, list_id, member, *stamp) for member in members])
        self.warehouse.insert_rows(SCHEMA, "exports", _names("exports"), [_export_row(record)])
        self.warehouse.commit()


class FileExportState(ExportState):
    """The spark target's state: parquet files beside the Spark warehouse, replaced atomically."""

    def __init__(self, warehouse: ParquetWarehouse, writable: bool = True) -> None:
        self.folder = spark_state_dir(warehouse.root)
        super().__init__(warehouse, writable)

    def prepare(self, writable: bool) -> None:
        if self.folder.is_dir():
            assert isinstance(self.warehouse, ParquetWarehouse)
            self.warehouse.register_folder(SCHEMA, self.folder)

    def record(self, record: ExportRecord) -> None:
        stamp = (record.export_id, record.exported_at)
        self._write("exported_events", f"part-{record.export_id}",
                    [(event_id, metric, *stamp) for event_id, metric in record.events])
        for segment, (list_id, members) in record.lists.items():
            self._write("list_members", segment, [(segment, list_id, member, *stamp) for member in members])
        self._write("exports", f"part-{record.export_id}", [_export_row(record)])

    def _write(self, table: str, name: str, rows: Sequence[Sequence[Any]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = {"varchar": pa.string(), "timestamp": pa.timestamp("us"), "integer": pa.int32()}
        columns = TABLES[table]
        batch = pa.table({column: pa.array([row[i] for row in rows], type=types[data_type])
                          for i, (column, data_type) in enumerate(columns)})
        folder = self.folder / table
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f".{name}.parquet.tmp"
        pq.write_table(batch, temporary)
        os.replace(temporary, folder / f"{name}.parquet")


def _names(table: str) -> list[str]:
    return [name for name, _ in TABLES[table]]


def _export_row(record: ExportRecord) -> tuple[Any, ...]:
    return (record.export_id, record.exported_at, record.target, record.output_dir, len(record.events),
            record.list_additions, record.list_removals)


def open_state(warehouse: Warehouse, writable: bool) -> ExportState:
    if isinstance(warehouse, ParquetWarehouse):
        return FileExportState(warehouse, writable)
    return ExportState(warehouse, writable)


def state_location(warehouse: Warehouse) -> str:
    if isinstance(warehouse, ParquetWarehouse):
        return str(spark_state_dir(warehouse.root))
    return f"schema {SCHEMA} of the {warehouse.description}"


"""Load the raw zone into PostgreSQL raw tables with COPY (spec §10): the same reader and
registry as the DuckDB plugin, so the same rules (faults, manifest, nothing read twice,
nothing lost) hold on both engines.

Per source folder, `raw.<entity>_lines` (file_name, line_number, raw_line, line_fault,
loaded_at) holds every line ever read and `raw.<entity>_files` the ingestion manifest.
Each file is loaded in one transaction together with its manifest row, so a load killed at
any point is resumed exactly by the next one; a line read again (a grown file's provisional
last line) replaces its row.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import psycopg2
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from customer_agent_warehouse.ingest.listing import IGNORED, QUARANTINED, list_source
from customer_agent_warehouse.ingest.reader import LINE_SCHEMA, read_lines
from customer_agent_warehouse.ingest.registry import (
    MANIFEST_SCHEMA,
    TIMESTAMP_COLUMNS,
    ManifestRow,
    PlannedRead,
    manifest_table,
    normalised_root,
    plan_source,
    row_after_read,
    rows_from_table,
)
from customer_agent_warehouse.ingest.sources import RAW_SCHEMA, RAW_TABLES, SOURCES

_PG_TYPES = {pa.string(): "text", pa.int64(): "bigint", pa.bool_(): "boolean", pa.timestamp("us"): "timestamp"}


#: What became of each file of a load, in the order the summary line names them.
FILE_OUTCOMES = ("new", "appended", "unchanged", "quarantined", "ignored", "rewritten", "removed")


@dataclass(frozen=True)
class LoadSummary:
    """One source folder's load: lines loaded and how many files had each outcome (FILE_OUTCOMES)."""

    source: str
    lines_loaded: int
    files: dict[str, int]

    @property
    def files_read(self) -> int:
        return self.files["new"] + self.files["appended"]

    @property
    def files_listed(self) -> int:
        return sum(self.files.values())


def file_outcome(row: ManifestRow, read: PlannedRead | None) -> str:
    """A file's outcome: read whole (`new`, also on a full refresh), read from where it stopped (`appended`,
    also a provisional last line read again), not read (`unchanged`, or `rewritten` / `removed` after it was
    ingested, reported in the manifest), or never opened (`quarantined`, `ignored`)."""
    if row.status in (QUARANTINED, IGNORED):
        return row.status
    if read is not None:
        return "appended" if read.start_line > 1 else "new"
    if not row.is_present:
        return "removed"
    return "rewritten" if row.change == "rewritten" else "unchanged"


def _outcome_counts(rows: dict[str, ManifestRow], reads: list[PlannedRead]) -> dict[str, int]:
    read_by_name = {read.entry.name: read for read in reads}
    counts = dict.fromkeys(FILE_OUTCOMES, 0)
    for name, row in rows.items():
        counts[file_outcome(row, read_by_name.get(name))] += 1
    return counts


def _manifest_columns() -> list[tuple[str, str]]:
    columns = [(field.name, _PG_TYPES[field.type]) for field in MANIFEST_SCHEMA]
    return columns + [(name, "timestamp") for name in TIMESTAMP_COLUMNS]


def ensure_raw_tables(connection) -> None:
    """Create the raw schema and tables when missing (idempotent)."""
    manifest_ddl = ", ".join(f"{name} {kind}" for name, kind in _manifest_columns())
    with connection, connection.cursor() as cursor:
        cursor.execute(f"create schema if not exists {RAW_SCHEMA}")
        for lines_table, files_table in RAW_TABLES.values():
            cursor.execute(
                f"create table if not exists {RAW_SCHEMA}.{lines_table} ("
                "file_name text not null, line_number bigint not null, raw_line text, line_fault text, "
                "loaded_at timestamp not null, json_document jsonb, primary key (file_name, line_number))")
            cursor.execute(
                f"create table if not exists {RAW_SCHEMA}.{files_table} ({manifest_ddl}, primary key (file_name))")


def _previous_rows(connection, files_table: str) -> dict[str, ManifestRow]:
    names = MANIFEST_SCHEMA.names
    with connection.cursor() as cursor:
        cursor.execute(f"select {', '.join(names)} from {RAW_SCHEMA}.{files_table}")
        return rows_from_table([dict(zip(names, row, strict=True)) for row in cursor.fetchall()])


def _csv(table: pa.Table) -> io.BytesIO:
    buffer = io.BytesIO()
    pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False, quoting_style="all_valid"))
    buffer.seek(0)
    return buffer


# Lines DuckDB's JSON parser accepts that PostgreSQL's jsonb refuses: bare NaN / Infinity, trailing commas, \u0000.
_LENIENT_JSON = r'[:\[,]\s*-?(NaN|Infinity)|,\s*[}\]]|\\u0000'
_DOCUMENTS_SQL = f"""
    select
        case when is_object and not regexp_matches(raw_line, '{_LENIENT_JSON}') then raw_line end as json_document,
        is_object and regexp_matches(raw_line, '{_LENIENT_JSON}') as is_lenient_json
    from (
        select raw_line, line_fault is null and json_valid(raw_line) and starts_with(ltrim(raw_line), '{{') as is_object
        from lines
    )
"""


def _strict_document(line: str) -> str | None:
    """The line as JSON that PostgreSQL accepts, or None (bare NaN / Infinity become strings, so the value
    check names them; trailing commas are dropped by re-serialising; a NUL escape cannot be stored)."""
    try:
        document = json.loads(line, parse_constant=str)
    except ValueError:
        try:
            document = json.loads(_DUCKDB.execute("select json(?)::varchar", [line]).fetchone()[0], parse_constant=str)
        except Exception:
            return None
    if not isinstance(document, dict):
        return None
    text = json.dumps(document, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # an unpaired surrogate escape
        return None
    return None if "\x00" in text or "\\u0000" in text else text


_DUCKDB = duckdb.connect()


def _documents(raw_line: pa.ChunkedArray, line_fault: pa.ChunkedArray) -> pa.Array:
    """Each line's JSON object as PostgreSQL jsonb text, or null: DuckDB validates every line (vectorised),
    Python re-writes the few that only DuckDB's lenient parser accepts."""
    lines = pa.table({"raw_line": raw_line, "line_fault": line_fault})  # noqa: F841 - read by the query
    result = _DUCKDB.sql(_DOCUMENTS_SQL).to_arrow_table()
    documents = result.column("json_document").combine_chunks()
    lenient = result.column("is_lenient_json").combine_chunks()
    if not pc.any(lenient).as_py():
        return documents
    values = documents.to_pylist()
    for index in pc.indices_nonzero(lenient).to_pylist():
        values[index] = _strict_document(raw_line[index].as_py())
    return pa.array(values, pa.string())


def _lines_for_copy(batches: Iterable[pa.RecordBatch], loaded_at: pa.Scalar) -> pa.Table:
    table = pa.Table.from_batches(list(batches), LINE_SCHEMA)
    raw_line = pc.utf8_rtrim(table.column("raw_line"), characters="\r\n")
    return pa.table({
        "file_name": table.column("file_name").cast(pa.string()),
        "line_number": table.column("line_number"),
        "raw_line": raw_line,
        "line_fault": table.column("line_fault"),
        "loaded_at": pa.array(np.full(table.num_rows, np.datetime64(loaded_at.value, "us")), pa.timestamp("us")),
        "json_document": _documents(raw_line, table.column("line_fault")),
    })


def _with_strict_documents(lines: pa.Table) -> pa.Table:
    """Fallback when PostgreSQL refused a document DuckDB accepted: every document re-checked in Python."""
    documents = [_strict_document(line) if fault is None else None
                 for line, fault in zip(lines.column("raw_line").to_pylist(), lines.column("line_fault").to_pylist(),
                                        strict=True)]
    return lines.set_column(lines.schema.get_field_index("json_document"), "json_document",
                            pa.array(documents, pa.string()))


def _write_rows(cursor, files_table: str, rows: list[ManifestRow]) -> None:
    table = manifest_table(rows)
    columns = [name for name, _ in _manifest_columns()]
    cursor.execute(f"delete from {RAW_SCHEMA}.{files_table} where file_name = any(%s)", [table.column("file_name")
                                                                                          .to_pylist()])
    cursor.copy_expert(f"copy {RAW_SCHEMA}.{files_table} ({', '.join(columns)}) from stdin with (format csv)",
                       _csv(table.select(columns)))


def _load_file(connection, lines_table: str, files_table: str, name: str, start_line: int, lines: pa.Table | None,
               row: ManifestRow) -> None:
    """One file's new lines and its manifest row, in one transaction (a line read again replaces its row)."""
    with connection, connection.cursor() as cursor:
        cursor.execute(f"delete from {RAW_SCHEMA}.{lines_table} where file_name = %s and line_number >= %s",
                       [name, start_line])
        if lines is not None:
            columns = ", ".join(lines.column_names)
            cursor.copy_expert(f"copy {RAW_SCHEMA}.{lines_table} ({columns}) from stdin with (format csv)", _csv(lines))
        _write_rows(cursor, files_table, [row])


def load_source(connection, root: Path, source: str, *, full_refresh: bool = False, settle_seconds: float = 60,
                max_line_bytes: int = 8 << 20) -> LoadSummary:
    """Read what is new in one source folder and COPY it into its raw tables."""
    lines_table, files_table = RAW_TABLES[source]
    started_ns = time.time_ns()
    loaded_at = pa.scalar(started_ns // 1000, pa.timestamp("us"))
    if full_refresh:
        with connection, connection.cursor() as cursor:
            cursor.execute(f"truncate {RAW_SCHEMA}.{lines_table}, {RAW_SCHEMA}.{files_table}")
    plan = plan_source(list_source(root, source), _previous_rows(connection, files_table), full_refresh=full_refresh,
                       settle_seconds=settle_seconds, now_ns=started_ns)
    lines_loaded = 0
    for planned in plan.reads:
        batches, result = read_lines(planned.entry.path, planned.entry.name, start_offset=planned.start_offset,
                                     start_line=planned.start_line, max_line_bytes=max_line_bytes,
                                     provisional_tail=planned.is_settling)
        row = row_after_read(planned, result, started_ns, settle_seconds)
        lines = _lines_for_copy(batches, loaded_at) if batches else None
        try:
            _load_file(connection, lines_table, files_table, planned.entry.name, planned.start_line, lines, row)
        except psycopg2.DataError:
            lines = _with_strict_documents(lines)
            _load_file(connection, lines_table, files_table, planned.entry.name, planned.start_line, lines, row)
        lines_loaded += lines.num_rows if lines is not None else 0
        plan.rows[planned.entry.name] = row
    with connection, connection.cursor() as cursor:
        _write_rows(cursor, files_table, list(plan.rows.values()))
    return LoadSummary(source, lines_loaded, _outcome_counts(plan.rows, plan.reads))


def load_raw_zone(connection, raw_path: str | Path, *, full_refresh: bool = False, settle_seconds: float = 60,
                  max_line_bytes: int = 8 << 20) -> list[LoadSummary]:
    """Load every source folder of the raw zone."""
    ensure_raw_tables(connection)
    root = normalised_root(raw_path)
    return [load_source(connection, root, source, full_refresh=full_refresh, settle_seconds=settle_seconds,
                        max_line_bytes=max_line_bytes) for source in SOURCES]

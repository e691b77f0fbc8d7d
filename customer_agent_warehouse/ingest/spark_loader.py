"""Load the raw zone into Spark raw tables, Spark reading the raw files itself (spec §10).

The same listing, registry and reader as the DuckDB plugin and the PostgreSQL loader decide what is read
(manifest rules, quarantined and ignored files, appended lines, provisional last lines, rewritten and removed
files) and give each file's verdict. Then:

* a file the reader found clean (no file fault, no line fault, compressed as its name says, no byte order
  mark, no provisional last line) is read by Spark: a `text` scan of that one file with `lineSep '\\n'`, line
  numbers from the file's blocks in order, only the lines from the planned start line; the number of lines
  Spark read is checked against the reader's, and a file whose count differs takes the reader's lines;
* the few other files hand the reader's lines (with their `line_fault`) to Spark as a small DataFrame.

Per source folder, `raw.<entity>_lines` (file_name, line_number, raw_line, line_fault, loaded_at; parquet,
partitioned by `file_bucket` = pmod(xxhash64(file_name), RAW_FILE_BUCKETS)) holds every line ever read, one
row per (file, line): a line read again (a grown file's provisional last line, a file read again after a
load was interrupted) replaces its row by rewriting the buckets of its files. `raw.<entity>_files` is the
ingestion manifest (the columns of `registry.manifest_table`), rewritten whole on every load. Lines are
written before the manifest, so a load killed in between reads those files again next time and replaces
their rows: nothing is read twice into the tables.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from customer_agent_warehouse.ingest.listing import list_source
from customer_agent_warehouse.ingest.postgres_loader import FILE_OUTCOMES, file_outcome
from customer_agent_warehouse.ingest.reader import LINE_SCHEMA, ReadResult, read_lines
from customer_agent_warehouse.ingest.registry import (
    MANIFEST_SCHEMA,
    ManifestRow,
    PlannedRead,
    manifest_table,
    normalised_root,
    plan_source,
    row_after_read,
    rows_from_table,
)
from customer_agent_warehouse.ingest.sources import GZIP_SUFFIX, RAW_SCHEMA, RAW_TABLES, SOURCES

#: Buckets of the raw lines tables (a file's lines are all in one bucket; a rewrite touches its bucket only).
RAW_FILE_BUCKETS = 16
LINE_COLUMNS = "file_name string, line_number bigint, raw_line string, line_fault string, loaded_at timestamp"
#: Characters that make a Hadoop path a glob: escaped, so a file name is read as exactly that file.
_GLOB_CHARACTERS = "\\{}[]*?"


@dataclass(frozen=True)
class LoadSummary:
    """One source folder's load: lines loaded, files per outcome (postgres_loader.FILE_OUTCOMES), and how many
    of the files read Spark read itself."""

    source: str
    lines_loaded: int
    files: dict[str, int]
    files_read_by_spark: int


@dataclass(frozen=True)
class FileRead:
    """One planned read with the reader's verdict; `batches` are the reader's lines (kept only for the files
    that do not go to Spark's text source, see `is_clean`)."""

    planned: PlannedRead
    result: ReadResult
    batches: list[pa.RecordBatch]
    clean: bool = False

    @property
    def new_lines(self) -> int:
        return max(self.result.lines_read - self.planned.start_line + 1, 0)


def is_clean(planned: PlannedRead, result: ReadResult, batches: list[pa.RecordBatch]) -> bool:
    """True when Spark's text source gives exactly the reader's lines: no fault of the file or of a line, no
    note (byte order mark, compression other than the name says), no provisional last line."""
    if result.fault or result.notes or result.pending_tail_bytes or result.lines_read < planned.start_line:
        return False
    if (result.compression == "gzip") != planned.entry.name.endswith(GZIP_SUFFIX):
        return False
    return all(batch.column("line_fault").null_count == batch.num_rows for batch in batches)


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _path_identifier(path: Path) -> str:
    escaped = "".join("\\" + character if character in _GLOB_CHARACTERS else character for character in str(path))
    return "`" + escaped.replace("`", "``") + "`"


def spark_read_sql(read: FileRead, loaded_at: str) -> str:
    """Spark SQL reading the new lines of one clean file (the recipe in docs/spark.md)."""
    return f"""
        select
            {_sql_string(read.planned.entry.name)} as file_name,
            line_number,
            regexp_replace(value, r'\\r+$', '') as raw_line,
            cast(null as string) as line_fault,
            cast('{loaded_at}' as timestamp) as loaded_at
        from (
            select
                value,
                row_number() over (order by _metadata.file_block_start, monotonically_increasing_id()) as line_number
            from text.{_path_identifier(read.planned.entry.path)} with ('lineSep' = '\\n')
        )
        where line_number >= {read.planned.start_line}"""


def _reader_lines(reads: Iterable[FileRead], loaded_at: datetime) -> pa.Table | None:
    batches = [batch for read in reads for batch in read.batches]
    if not batches:
        return None
    table = pa.Table.from_batches(batches, LINE_SCHEMA)
    return pa.table({
        "file_name": table.column("file_name").cast(pa.string()),
        "line_number": table.column("line_number"),
        "raw_line": pc.utf8_rtrim(table.column("raw_line"), characters="\r\n"),
        "line_fault": table.column("line_fault"),
        "loaded_at": pa.array([loaded_at.replace(tzinfo=None)] * table.num_rows, pa.timestamp("us")),
    })


def local_frame(spark: Any, columns: dict[str, pa.Array], schema: str) -> Any:
    """A small DataFrame of driver-side values, handed to the JVM as Arrow: no Python worker starts on the
    executors (a list would be unpickled by Python workers, which a cluster's workers may not have)."""
    return spark.createDataFrame(pa.table(columns), schema=schema)


def _bucket(column: str) -> str:
    return f"cast(pmod(xxhash64({column}), {RAW_FILE_BUCKETS}) as int)"


class SparkRawTables:
    """The raw tables of one source folder in a SparkSession."""

    def __init__(self, spark: Any, source: str) -> None:
        self.spark = spark
        self.source = source
        lines, files = RAW_TABLES[source]
        self.lines = f"{RAW_SCHEMA}.{lines}"
        self.files = f"{RAW_SCHEMA}.{files}"

    def ensure(self, full_refresh: bool) -> None:
        if full_refresh:
            self.spark.sql(f"drop table if exists {self.lines}")
            self.spark.sql(f"drop table if exists {self.files}")
        self.spark.sql(f"create table if not exists {self.lines} ({LINE_COLUMNS}, file_bucket int) using parquet "
                       "partitioned by (file_bucket)")

    def previous_rows(self) -> dict[str, ManifestRow]:
        if not self.spark.catalog.tableExists(self.files):
            return {}
        records = [row.asDict() for row in self.spark.table(self.files).select(*MANIFEST_SCHEMA.names).collect()]
        return rows_from_table(records)

    def stored_last_lines(self, names: list[str]) -> dict[str, int]:
        """The last line number already stored of each of these files (absent when none)."""
        if not names:
            return {}
        wanted = local_frame(self.spark, {"file_name": pa.array(names, pa.string())}, "file_name string")
        rows = (self.spark.table(self.lines).join(wanted, "file_name").groupBy("file_name")
                .agg({"line_number": "max"}).collect())
        return {row[0]: row[1] for row in rows}

    def append(self, frame: Any) -> None:
        frame.selectExpr("*", f"{_bucket('file_name')} as file_bucket").write.insertInto(self.lines)

    def remove_lines(self, first_lines: dict[str, int]) -> None:
        """Drop each file's stored lines from its first line to read again (their buckets are rewritten)."""
        if not first_lines:
            return
        replaced = local_frame(self.spark, {"file_name": pa.array(list(first_lines), pa.string()),
                                            "first_line": pa.array(list(first_lines.values()), pa.int64())},
                               "file_name string, first_line bigint")
        buckets = {row[0] for row in replaced.selectExpr(_bucket("file_name")).collect()}
        bucket_list = ", ".join(str(bucket) for bucket in sorted(buckets))
        kept = (self.spark.table(self.lines).where(f"file_bucket in ({bucket_list})").alias("line")
                .join(replaced.alias("replaced"), "file_name", "left")
                .where("replaced.first_line is null or line.line_number < replaced.first_line")
                .select("file_name", "line_number", "raw_line", "line_fault", "loaded_at"))
        staging = f"{self.lines}__rewrite"
        self.spark.sql(f"drop table if exists {staging}")
        kept.write.format("parquet").saveAsTable(staging)
        self.spark.sql(f"insert overwrite table {self.lines} partition (file_bucket) "
                       f"select *, {_bucket('file_name')} as file_bucket from {staging}")
        self.spark.sql(f"drop table if exists {staging}")

    def counts_loaded_at(self, loaded_at: str) -> dict[str, int]:
        rows = (self.spark.table(self.lines).where(f"loaded_at = cast('{loaded_at}' as timestamp)")
                .groupBy("file_name").count().collect())
        return {row[0]: row[1] for row in rows}

    def write_manifest(self, rows: list[ManifestRow]) -> None:
        frame = self.spark.createDataFrame(manifest_table(rows), schema=_manifest_ddl())
        frame.write.format("parquet").mode("overwrite").saveAsTable(self.files)


def _manifest_ddl() -> str:
    kinds = {pa.string(): "string", pa.int64(): "bigint", pa.bool_(): "boolean", pa.timestamp("us"): "timestamp"}
    return ", ".join(f"{field.name} {kinds[field.type]}" for field in manifest_table([]).schema)


def _spark_lines(spark: Any, reads: list[FileRead], loaded_at: str) -> Any | None:
    if not reads:
        return None
    return spark.sql("\nunion all\n".join(spark_read_sql(read, loaded_at) for read in reads))


def _dataframe(spark: Any, table: pa.Table) -> Any:
    return spark.createDataFrame(table, schema=LINE_COLUMNS)


def load_source(spark: Any, root: Path, source: str, *, full_refresh: bool = False, settle_seconds: float = 60,
                max_line_bytes: int = 8 << 20) -> LoadSummary:
    """Read what is new in one source folder into its Spark raw tables."""
    tables = SparkRawTables(spark, source)
    tables.ensure(full_refresh)
    started_ns = time.time_ns()
    loaded_at = datetime.fromtimestamp(started_ns // 1000 / 1e6, UTC)
    loaded_at_text = loaded_at.strftime("%Y-%m-%d %H:%M:%S.%f")
    plan = plan_source(list_source(root, source), {} if full_refresh else tables.previous_rows(),
                       full_refresh=full_refresh, settle_seconds=settle_seconds, now_ns=started_ns)
    reads = [_read(planned, max_line_bytes) for planned in plan.reads]
    stored = tables.stored_last_lines([read.planned.entry.name for read in reads])
    tables.remove_lines({read.planned.entry.name: read.planned.start_line for read in reads
                         if stored.get(read.planned.entry.name, 0) >= read.planned.start_line})
    clean = [read for read in reads if read.clean]
    clean_names = {read.planned.entry.name for read in clean}
    spark_frame = _spark_lines(spark, clean, loaded_at_text)
    if spark_frame is not None:
        tables.append(spark_frame)
        counts = tables.counts_loaded_at(loaded_at_text)
        mismatched = [read for read in clean if counts.get(read.planned.entry.name, 0) != read.new_lines]
        if mismatched:  # never seen; the reader's lines are the reference
            tables.remove_lines({read.planned.entry.name: read.planned.start_line for read in mismatched})
            clean_names -= {read.planned.entry.name for read in mismatched}
            reads = [_read(read.planned, max_line_bytes, keep_lines=True) if read in mismatched else read
                     for read in reads]
    reader_table = _reader_lines((read for read in reads if read.planned.entry.name not in clean_names), loaded_at)
    if reader_table is not None:
        tables.append(_dataframe(spark, reader_table))
    for read in reads:
        plan.rows[read.planned.entry.name] = row_after_read(read.planned, read.result, started_ns, settle_seconds)
    tables.write_manifest(list(plan.rows.values()))
    outcomes = dict.fromkeys(FILE_OUTCOMES, 0)
    read_by_name = {read.planned.entry.name: read.planned for read in reads}
    for name, row in plan.rows.items():
        outcomes[file_outcome(row, read_by_name.get(name))] += 1
    return LoadSummary(source, sum(read.new_lines for read in reads), outcomes, len(clean_names))


def _read(planned: PlannedRead, max_line_bytes: int, keep_lines: bool = False) -> FileRead:
    """The reader's verdict on one planned read; its lines are dropped when Spark reads the file itself."""
    batches, result = read_lines(planned.entry.path, planned.entry.name, start_offset=planned.start_offset,
                                 start_line=planned.start_line, max_line_bytes=max_line_bytes,
                                 provisional_tail=planned.is_settling)
    clean = not keep_lines and is_clean(planned, result, batches)
    return FileRead(planned, result, [] if clean else batches, clean)


def load_raw_zone(spark: Any, raw_path: str | Path, *, full_refresh: bool = False, settle_seconds: float = 60,
                  max_line_bytes: int = 8 << 20) -> list[LoadSummary]:
    """Load every source folder of the raw zone into `raw.*` tables of the session's warehouse."""
    spark.sql(f"create database if not exists {RAW_SCHEMA}")
    root = normalised_root(raw_path)
    return [load_source(spark, root, source, full_refresh=full_refresh, settle_seconds=settle_seconds,
                        max_line_bytes=max_line_bytes) for source in SOURCES]

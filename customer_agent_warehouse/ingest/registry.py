"""The ingestion manifest: what was read of each raw file, and what to read next.

One row per raw file ever seen (spec §6). The row of the previous build and the
file on disk now decide what this build reads:

* a new file is read whole;
* an unchanged file (same size and modification time) is not read again;
* a file that grew, and whose first bytes are still the ones fingerprinted, has
  lines appended: reading resumes after its last complete line, with the same line
  numbers as a full read (a last line that had no line break is read again);
* a file that changed otherwise (shrank, or its old bytes differ) or disappeared is
  reported (`change` = `rewritten` / `removed`) and never silently re-read;
* quarantined and ignored entries are listed with the reason and never opened.

A full refresh reads every readable file again from its first byte.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.compute

from customer_agent_warehouse.ingest.listing import IGNORED, QUARANTINED, READABLE, RawEntry
from customer_agent_warehouse.ingest.reader import ReadResult, fingerprint_prefix

INGESTED = "ingested"
PARTIALLY_INGESTED = "partially_ingested"
PENDING = "pending"  # listed, not read by this invocation yet (e.g. `dbt source freshness`)

FIXES = {
    "corrupt_gzip": "re-deliver the file as a complete gzip stream under a new name; its readable lines are kept",
    "unreadable_file": "make the file readable by the build; it is tried again on the next build",
    "rewritten": "raw files are append-only: deliver changes as new files (run --full-refresh to re-read it)",
    "removed": "raw files are append-only: restore the file (its lines stay ingested)",
}


@dataclass(frozen=True)
class ManifestRow:
    """One raw file in the ingestion manifest (see models/audit/_audit__models.yml)."""

    source: str
    file_name: str
    status: str
    size_bytes: int | None = None
    modified_ns: int | None = None
    fingerprint: str | None = None
    compression: str | None = None
    lines_read: int = 0
    complete_lines: int = 0
    bytes_consumed: int = 0
    has_partial_tail: bool = False
    pending_tail_bytes: int = 0
    fault_offset: int | None = None
    is_present: bool = True
    change: str | None = None
    error: str | None = None
    fix: str | None = None
    first_seen_ns: int | None = None
    ingested_ns: int | None = None
    checked_ns: int | None = None


MANIFEST_SCHEMA = pa.schema([
    ("source", pa.string()), ("file_name", pa.string()), ("status", pa.string()),
    ("size_bytes", pa.int64()), ("modified_ns", pa.int64()), ("fingerprint", pa.string()),
    ("compression", pa.string()), ("lines_read", pa.int64()), ("complete_lines", pa.int64()),
    ("bytes_consumed", pa.int64()), ("has_partial_tail", pa.bool_()), ("pending_tail_bytes", pa.int64()),
    ("fault_offset", pa.int64()),
    ("is_present", pa.bool_()), ("change", pa.string()), ("error", pa.string()),
    ("fix", pa.string()), ("first_seen_ns", pa.int64()), ("ingested_ns", pa.int64()), ("checked_ns", pa.int64()),
])


#: Timestamps (UTC, microseconds) derived from the nanosecond columns, for people and freshness checks.
TIMESTAMP_COLUMNS = {"modified_at": "modified_ns", "first_seen_at": "first_seen_ns",
                     "ingested_at": "ingested_ns", "checked_at": "checked_ns"}


def manifest_table(rows: list[ManifestRow]) -> pa.Table:
    columns = {name: [getattr(row, name) for row in rows] for name in MANIFEST_SCHEMA.names}
    table = pa.table(columns, schema=MANIFEST_SCHEMA)
    for name, source in TIMESTAMP_COLUMNS.items():
        micros = pa.compute.divide(table.column(source), 1000)
        table = table.append_column(name, micros.cast(pa.int64()).cast(pa.timestamp("us")))
    return table


def rows_from_table(records: list[dict]) -> dict[str, ManifestRow]:
    """Previous manifest rows (dicts with MANIFEST_SCHEMA's columns) by file name."""
    names = set(MANIFEST_SCHEMA.names)
    return {record["file_name"]: ManifestRow(**{k: v for k, v in record.items() if k in names}) for record in records}


@dataclass(frozen=True)
class PlannedRead:
    """A file to read: from `start_offset` (decompressed bytes), numbering lines from `start_line`.

    `is_settling`: modified less than the settle time ago, so possibly still being written: an
    unfinished last line is provisional (read again once the file grew or settled).
    """

    entry: RawEntry
    start_offset: int
    start_line: int
    previous: ManifestRow | None
    change: str | None
    is_settling: bool = False


@dataclass
class Plan:
    reads: list[PlannedRead]
    rows: dict[str, ManifestRow]  # every file's row as it stands before the reads


def _now_ns() -> int:
    return time.time_ns()


def _listed_row(entry: RawEntry, now_ns: int, previous: ManifestRow | None) -> ManifestRow:
    status = QUARANTINED if entry.disposition == QUARANTINED else IGNORED
    return ManifestRow(entry.source, entry.name, status, entry.size_bytes, entry.modified_ns,
                       error=entry.error, fix=entry.fix,
                       first_seen_ns=previous.first_seen_ns if previous else now_ns, checked_ns=now_ns)


def _changed(previous: ManifestRow, entry: RawEntry, now_ns: int, change: str, detail: str) -> ManifestRow:
    return replace(previous, is_present=True, change=change, error=detail, fix=FIXES[change], checked_ns=now_ns)


def plan_source(entries: list[RawEntry], previous: dict[str, ManifestRow], *, full_refresh: bool,
                settle_seconds: float, now_ns: int | None = None) -> Plan:
    """Decide, for one source folder, what to read and how every file stands."""
    now_ns = now_ns or _now_ns()
    reads: list[PlannedRead] = []
    rows: dict[str, ManifestRow] = {}
    for entry in entries:
        prior = previous.get(entry.name)
        if entry.disposition != READABLE:
            rows[entry.name] = _listed_row(entry, now_ns, prior)
            continue
        read_all = full_refresh or prior is None or prior.status in (QUARANTINED, IGNORED, PENDING) \
            or prior.fingerprint is None
        settling = not _settled(entry, now_ns, settle_seconds)
        if read_all:
            reads.append(PlannedRead(entry, 0, 1, prior, None, settling))
            rows[entry.name] = _pending_row(entry, now_ns, prior)
            continue
        if entry.size_bytes == prior.size_bytes and entry.modified_ns == prior.modified_ns:
            if prior.pending_tail_bytes and not settling:
                # The file stopped changing with an unfinished last line: it is final now.
                reads.append(PlannedRead(entry, prior.bytes_consumed, prior.complete_lines + 1, prior, prior.change))
            rows[entry.name] = replace(prior, is_present=True, checked_ns=now_ns)
            continue
        if entry.size_bytes > (prior.size_bytes or 0) \
                and fingerprint_prefix(entry.path, prior.size_bytes or 0) == prior.fingerprint:
            reads.append(PlannedRead(entry, prior.bytes_consumed, prior.complete_lines + 1, prior, "appended",
                                     settling))
            rows[entry.name] = replace(prior, is_present=True, checked_ns=now_ns)
            continue
        if entry.size_bytes == prior.size_bytes \
                and fingerprint_prefix(entry.path, entry.size_bytes or 0) == prior.fingerprint:
            rows[entry.name] = replace(prior, modified_ns=entry.modified_ns, is_present=True, change=None,
                                       checked_ns=now_ns)
            continue
        rows[entry.name] = _changed(prior, entry, now_ns, "rewritten",
                                    f"changed after it was ingested (size {prior.size_bytes} -> {entry.size_bytes} "
                                    "bytes, or its ingested bytes differ): not read again")
    for name, prior in previous.items():
        if name not in rows and prior.status not in (QUARANTINED, IGNORED, PENDING):
            rows[name] = replace(prior, is_present=False, change="removed", error="removed after it was ingested",
                                 fix=FIXES["removed"], checked_ns=now_ns)
    return Plan(reads, rows)


def _settled(entry: RawEntry, now_ns: int, settle_seconds: float) -> bool:
    return entry.modified_ns is None or (now_ns - entry.modified_ns) >= settle_seconds * 1e9


def _pending_row(entry: RawEntry, now_ns: int, prior: ManifestRow | None) -> ManifestRow:
    return ManifestRow(entry.source, entry.name, PENDING, entry.size_bytes, entry.modified_ns,
                       first_seen_ns=prior.first_seen_ns if prior else now_ns, checked_ns=now_ns)


def row_after_read(read: PlannedRead, result: ReadResult, now_ns: int, settle_seconds: float) -> ManifestRow:
    """The manifest row of a file once its planned read was ingested."""
    entry, prior = read.entry, read.previous
    status = INGESTED
    if result.fault:
        status = PARTIALLY_INGESTED if result.lines_read > 0 else QUARANTINED
    notes = list(result.notes)
    if result.pending_tail_bytes:
        notes.append(f"the last line ({result.pending_tail_bytes} bytes) is unfinished and the file changed less "
                     f"than {settle_seconds:g} s ago: it is read again once the file grew or settled")
    fix = FIXES.get(result.fault or "") if result.fault else (
        "rename the file to match its content" if any("named" in note for note in notes) else None)
    return ManifestRow(
        source=entry.source, file_name=entry.name, status=status, size_bytes=result.size_bytes,
        modified_ns=entry.modified_ns, fingerprint=result.fingerprint, compression=result.compression,
        lines_read=result.lines_read, complete_lines=result.complete_lines, bytes_consumed=result.bytes_consumed,
        has_partial_tail=result.has_partial_tail, pending_tail_bytes=result.pending_tail_bytes,
        fault_offset=result.fault_offset,
        is_present=True, change=read.change,
        error="; ".join(notes) or None, fix=fix,
        first_seen_ns=prior.first_seen_ns if prior and prior.first_seen_ns else now_ns,
        ingested_ns=now_ns, checked_ns=now_ns,
    )


def as_dict(row: ManifestRow) -> dict:
    return asdict(row)


def normalised_root(raw_path: str | Path) -> Path:
    """The raw zone as an absolute path, with `.`, `..` and doubled slashes resolved (symlinks kept)."""
    import os

    return Path(os.path.abspath(os.path.expanduser(str(raw_path))))

"""One ingestion pass over a source folder: the lines of its planned reads as an Arrow stream,
and the manifest rows of its files once those lines were taken by the warehouse.

Files are read by a small thread pool (zlib, numpy and Arrow release the GIL) while the
consumer parses earlier batches; small files are merged into larger batches. A file's
manifest row advances only after the consumer has pulled all of its lines, so a build
that stops half-way never marks unread lines as ingested.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa

from customer_agent_warehouse.ingest.listing import list_source
from customer_agent_warehouse.ingest.reader import LINE_SCHEMA, SOURCE_LINE_SCHEMA, ReadResult, read_lines
from customer_agent_warehouse.ingest.registry import (
    ManifestRow,
    PlannedRead,
    manifest_table,
    plan_source,
    row_after_read,
)

MERGE_LINES = 50_000
READ_WORKERS = 2


class SourcePass:
    """What one build reads of one source folder."""

    def __init__(self, root: Path, source: str, previous: dict[str, ManifestRow], *, full_refresh: bool,
                 settle_seconds: float, max_line_bytes: int) -> None:
        self.source = source
        self.settle_seconds = settle_seconds
        self.max_line_bytes = max_line_bytes
        self.started_ns = time.time_ns()
        self.plan = plan_source(list_source(root, source), previous, full_refresh=full_refresh,
                                settle_seconds=settle_seconds, now_ns=self.started_ns)
        self._taken: dict[str, ManifestRow] = {}
        self._lock = threading.Lock()
        self._reader: pa.RecordBatchReader | None = None

    def lines(self) -> pa.RecordBatchReader:
        """The new lines (read once per build: every caller gets the same stream)."""
        with self._lock:
            if self._reader is None:
                self._reader = pa.RecordBatchReader.from_batches(SOURCE_LINE_SCHEMA, self._stamped(self._batches()))
            return self._reader

    def files(self) -> pa.Table:
        """Every file of the folder with its manifest row (advanced for the files whose lines were taken)."""
        with self._lock:
            rows = {**self.plan.rows, **self._taken}
        return manifest_table([rows[name] for name in sorted(rows)])

    def _stamped(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        loaded_at = np.datetime64(self.started_ns // 1000, "us")
        for batch in batches:
            stamps = pa.array(np.full(batch.num_rows, loaded_at), pa.timestamp("us"))
            yield pa.RecordBatch.from_arrays([*batch.columns, stamps], schema=SOURCE_LINE_SCHEMA)

    def _read(self, planned: PlannedRead) -> tuple[PlannedRead, list[pa.RecordBatch], ReadResult]:
        batches, result = read_lines(planned.entry.path, planned.entry.name, start_offset=planned.start_offset,
                                     start_line=planned.start_line, max_line_bytes=self.max_line_bytes,
                                     provisional_tail=planned.is_settling)
        return planned, batches, result

    def _batches(self) -> Iterator[pa.RecordBatch]:
        reads = self.plan.reads
        pending: list[tuple[PlannedRead, ReadResult]] = []
        buffered: list[pa.RecordBatch] = []
        buffered_lines = 0
        with ThreadPoolExecutor(READ_WORKERS) as pool:
            futures: list[Future] = [pool.submit(self._read, planned) for planned in reads[:READ_WORKERS + 1]]
            next_index = len(futures)
            while futures:
                planned, batches, result = futures.pop(0).result()
                if next_index < len(reads):
                    futures.append(pool.submit(self._read, reads[next_index]))
                    next_index += 1
                pending.append((planned, result))
                for batch in batches:
                    if batch.num_rows >= MERGE_LINES:
                        yield from _merged(buffered)
                        buffered, buffered_lines = [], 0
                        yield batch
                        continue
                    buffered.append(batch)
                    buffered_lines += batch.num_rows
                    if buffered_lines >= MERGE_LINES:
                        yield from _merged(buffered)
                        buffered, buffered_lines = [], 0
                if not buffered:
                    self._mark_taken(pending)
                    pending = []
            yield from _merged(buffered)
            self._mark_taken(pending)

    def _mark_taken(self, done: list[tuple[PlannedRead, ReadResult]]) -> None:
        with self._lock:
            for planned, result in done:
                self._taken[planned.entry.name] = row_after_read(planned, result, self.started_ns,
                                                                 self.settle_seconds)


def _merged(batches: list[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    if not batches:
        return
    if len(batches) == 1:
        yield batches[0]
        return
    yield from pa.Table.from_batches(batches, LINE_SCHEMA).combine_chunks().to_batches()

"""A raw file's bytes as numbered lines, without ever failing on its content.

A line is what lies between two `\\n` bytes (a `\\r` before the `\\n` is part of the
line terminator); a last line without `\\n` is a line too. Lines are numbered from 1
in the file, so reading a grown file from the end of its last complete line gives
the same numbers as reading it whole. Per-line faults (`line_fault`) are:

* `invalid_encoding`: the bytes are not UTF-8, or contain NUL bytes (UTF-16 text);
  the text is kept with U+FFFD replacement characters so a person can read it;
* `line_too_long`: longer than `max_line_bytes`; its first 1,024 bytes are kept;
* `corrupt_gzip`: the last, cut line before a gzip fault;
* `incomplete_line`: the last line of a file still being written (modified less than
  the settle time ago) that has no line break and is not a whole JSON object yet: it is
  read again, and its record replaced, once the file grew or settled.

A fault of the file itself (a truncated or corrupt gzip stream, bytes after the
gzip stream, an unreadable file) ends the read at that point: the lines read
before it are kept and the fault is reported with its byte offset.

The common case (valid UTF-8, no long line) is numpy + Arrow over whole blocks,
with no Python loop per line.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
READ_CHUNK_BYTES = 8 << 20
SEGMENT_BYTES = 32 << 20
KEPT_PREFIX_BYTES = 1024
DEFAULT_MAX_LINE_BYTES = 8 << 20

LINE_SCHEMA = pa.schema([
    pa.field("file_name", pa.dictionary(pa.int32(), pa.string())),
    pa.field("line_number", pa.int64()),
    pa.field("raw_line", pa.string()),
    pa.field("line_fault", pa.string()),
])
#: The lines as the raw zone sources serve them: with the time they were read (`loaded_at`, UTC).
SOURCE_LINE_SCHEMA = LINE_SCHEMA.append(pa.field("loaded_at", pa.timestamp("us")))


@dataclass
class ReadResult:
    """What reading one file (from `start_offset`) found."""

    compression: str = "none"
    fingerprint: str | None = None
    size_bytes: int = 0
    lines_read: int = 0  # every line of the file up to where reading stopped (earlier reads included)
    complete_lines: int = 0  # lines ended by "\n" (the next read starts after them)
    bytes_consumed: int = 0  # decompressed offset just after the last complete line
    has_partial_tail: bool = False  # the last line read has no "\n" (yet)
    pending_tail_bytes: int = 0  # a provisional last line (file still being written?), read again later
    fault: str | None = None  # corrupt_gzip | unreadable_file
    fault_offset: int | None = None  # byte offset in the file where reading stopped
    notes: list[str] = field(default_factory=list)


def fingerprint_prefix(path: Path, size: int) -> str | None:
    """Fingerprint of the first `size` bytes (None when the file is shorter or unreadable)."""
    hasher = hashlib.blake2b(digest_size=16)
    remaining = size
    try:
        with open(path, "rb") as handle:
            while remaining > 0:
                block = handle.read(min(READ_CHUNK_BYTES, remaining))
                if not block:
                    return None
                hasher.update(block)
                remaining -= len(block)
    except OSError:
        return None
    return hasher.hexdigest()


class _GzipStream:
    """Decompresses concatenated gzip members; records where the stream breaks."""

    def __init__(self) -> None:
        self.decompressor = zlib.decompressobj(31)
        self.fed = 0
        self.started = False
        self.fault: str | None = None
        self.fault_offset: int | None = None
        self.done = False

    def feed(self, raw: bytes) -> bytes:
        if self.done or not raw:
            self.fed += len(raw)
            return b""
        out = []
        data = raw
        while data and not self.done:
            self.started = True
            try:
                out.append(self.decompressor.decompress(data))
            except zlib.error as error:
                self._break(f"corrupt gzip data ({error})", self.fed)
                break
            if not self.decompressor.eof:
                break
            rest = self.decompressor.unused_data
            if not rest:
                self.decompressor = zlib.decompressobj(31)
                self.started = False
                break
            if rest[:2] == GZIP_MAGIC or (len(rest) < 2 and GZIP_MAGIC.startswith(rest)):
                self.decompressor = zlib.decompressobj(31)
                data = rest
                continue
            self._break("bytes after the end of the gzip stream", self.fed + len(raw) - len(rest))
        self.fed += len(raw)
        return b"".join(out)

    def finish(self) -> None:
        if not self.done and self.started and not self.decompressor.eof:
            self._break("the gzip stream ends early (truncated file)", self.fed)

    def _break(self, message: str, offset: int) -> None:
        self.fault, self.fault_offset, self.done = message, offset, True


@dataclass
class _LineState:
    name: str
    next_line: int
    max_line_bytes: int
    batches: list[pa.RecordBatch] = field(default_factory=list)


def _faulty_segment(lines: list[bytes], max_line_bytes: int) -> tuple[list[str], list[str | None]]:
    texts: list[str] = []
    faults: list[str | None] = []
    for line in lines:
        if len(line) > max_line_bytes:
            texts.append(line[:KEPT_PREFIX_BYTES].decode("utf-8", "replace") + "…")
            faults.append("line_too_long")
            continue
        try:
            text = line.decode("utf-8")
            bad = "\x00" in text
        except UnicodeDecodeError:
            text, bad = line.decode("utf-8", "replace"), True
        texts.append(text.replace("\x00", "\ufffd") if bad else text)
        faults.append("invalid_encoding" if bad else None)
    return texts, faults


def _emit(state: _LineState, segment: bytes, final: bool) -> tuple[int, bool]:
    """Number and append the lines of `segment`; returns (complete lines, has partial tail).

    Each line's text keeps its terminator (`\n` or `\r\n`), which JSON parsers ignore: the
    block's bytes become the Arrow string data as they are, without a copy.
    """
    if not segment:
        return 0, False
    newlines = np.flatnonzero(np.frombuffer(segment, np.uint8) == 10)
    complete = len(newlines)
    tail = final and (complete == 0 or newlines[-1] != len(segment) - 1)
    count = complete + int(tail)
    offsets = np.empty(count + 1, np.int32)
    offsets[0] = 0
    offsets[1:complete + 1] = newlines + 1
    if tail:
        offsets[-1] = len(segment)
    raw_line = None
    faults: pa.Array = pa.nulls(count, pa.string())
    lengths = np.diff(offsets)
    if lengths.max(initial=0) <= state.max_line_bytes + 2 and b"\x00" not in segment:
        candidate = pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(segment))
        try:
            candidate.validate(full=True)
            raw_line = candidate
        except pa.ArrowInvalid:
            raw_line = None
    if raw_line is None:
        bounds = offsets.tolist()
        lines = [segment[start:end].rstrip(b"\r\n") for start, end in itertools.pairwise(bounds)]
        texts, fault_list = _faulty_segment(lines, state.max_line_bytes)
        raw_line, faults = pa.array(texts, pa.string()), pa.array(fault_list, pa.string())
    numbers = pa.array(np.arange(state.next_line, state.next_line + count, dtype=np.int64))
    names = pa.DictionaryArray.from_arrays(pa.array(np.zeros(count, np.int32)), pa.array([state.name]))
    state.batches.append(pa.RecordBatch.from_arrays([names, numbers, raw_line, faults], schema=LINE_SCHEMA))
    state.next_line += count
    return complete, tail


def _mark_last_line(state: _LineState, fault: str, keep_existing: bool = False) -> bool:
    """The last line read was cut by a file fault (or is provisional): it has that fault. False when
    `keep_existing` and the line already has a fault of its own (e.g. invalid_encoding)."""
    last = state.batches[-1]
    faults = last.column("line_fault").to_pylist()
    if keep_existing and faults[-1] is not None:
        return False
    faults[-1] = fault
    state.batches[-1] = pa.RecordBatch.from_arrays(
        [last.column(0), last.column(1), last.column(2), pa.array(faults, pa.string())], schema=LINE_SCHEMA)
    return True


class _Splitter:
    """Cuts decompressed bytes into blocks that end at a line break; skips the first `skip` bytes."""

    def __init__(self, state: _LineState, skip: int) -> None:
        self.state = state
        self.skip = skip
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.complete_lines = 0
        self.consumed = skip
        self.overlong: bytes | None = None  # prefix of a line longer than a block, being skipped

    def push(self, data: bytes) -> None:
        if self.skip:
            cut = min(self.skip, len(data))
            data, self.skip = data[cut:], self.skip - cut
        if not data:
            return
        if self.overlong is not None:
            newline = data.find(b"\n")
            if newline < 0:
                self.consumed += len(data)
                return
            self._close_overlong(newline + 1)
            data = data[newline + 1:]
            if not data:
                return
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered >= SEGMENT_BYTES:
            self._flush()

    def _take(self) -> bytes:
        data = self.chunks[0] if len(self.chunks) == 1 else b"".join(self.chunks)
        self.chunks, self.buffered = [], 0
        return data

    def _flush(self) -> None:
        data = self._take()
        cut = data.rfind(b"\n")
        if cut < 0:
            if len(data) > self.state.max_line_bytes:
                self.overlong = data[:KEPT_PREFIX_BYTES]
                self.consumed += len(data)
            else:
                self.chunks, self.buffered = [data], len(data)
            return
        segment, rest = (data, b"") if cut == len(data) - 1 else (data[:cut + 1], data[cut + 1:])
        if rest:
            self.chunks, self.buffered = [rest], len(rest)
        complete, _ = _emit(self.state, segment, final=False)
        self.complete_lines += complete
        self.consumed += len(segment)

    def _close_overlong(self, extra: int) -> None:
        self._append_single(self.overlong.decode("utf-8", "replace") + "…", "line_too_long")
        self.consumed += extra
        self.complete_lines += 1
        self.overlong = None

    def _append_single(self, text: str, fault: str) -> None:
        state = self.state
        state.batches.append(pa.RecordBatch.from_arrays(
            [pa.DictionaryArray.from_arrays(pa.array([0], pa.int32()), pa.array([state.name])),
             pa.array([state.next_line], pa.int64()), pa.array([text]), pa.array([fault])], schema=LINE_SCHEMA))
        state.next_line += 1

    def finish(self, provisional_tail: bool) -> tuple[bool, int]:
        """Emit what is left. Returns (the last line has no line break, bytes of a provisional last line).

        With `provisional_tail` (the file may still be being written), a last line without a line
        break that is not a whole JSON object yet is read with the fault `incomplete_line`: it is
        read again, and replaced, once the file grew or settled.
        """
        if self.overlong is not None:
            self._append_single(self.overlong.decode("utf-8", "replace") + "…", "line_too_long")
            self.overlong = None
            return True, 0
        data = self._take()
        cut = data.rfind(b"\n") + 1
        complete, tail = _emit(self.state, data, final=True)
        self.complete_lines += complete
        self.consumed += cut if tail else len(data)
        if tail and provisional_tail and not _is_json_object(data[cut:]) and _mark_last_line(
                self.state, "incomplete_line", keep_existing=True):
            return True, len(data) - cut
        return tail, 0


def _is_json_object(text: bytes) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def read_lines(path: Path, name: str, *, start_offset: int = 0, start_line: int = 1,
               max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
               provisional_tail: bool = False) -> tuple[list[pa.RecordBatch], ReadResult]:
    """Read `path` from the decompressed offset `start_offset` (numbering from `start_line`).

    `provisional_tail`: the file may still be being written (see `_Splitter.finish`).
    """
    result = ReadResult()
    state = _LineState(name, start_line, max_line_bytes)
    splitter = _Splitter(state, start_offset)
    hasher = hashlib.blake2b(digest_size=16)
    gzip_stream: _GzipStream | None = None
    try:
        with open(path, "rb") as handle:
            first = handle.read(READ_CHUNK_BYTES)
            is_gzip = first[:2] == GZIP_MAGIC
            _note_compression(result, name, is_gzip, bool(first))
            gzip_stream = _GzipStream() if is_gzip else None
            chunk = first
            text_start = True
            while chunk:
                hasher.update(chunk)
                result.size_bytes += len(chunk)
                data = gzip_stream.feed(chunk) if gzip_stream else chunk
                if text_start and data:
                    data = _skip_byte_order_mark(data, result, start_offset)
                    text_start = False
                splitter.push(data)
                chunk = handle.read(READ_CHUNK_BYTES)
    except OSError as error:
        result.fault, result.fault_offset = "unreadable_file", result.size_bytes
        result.notes.append(f"the file could not be read past byte {result.size_bytes}: {error.strerror}")
    if gzip_stream is not None:
        gzip_stream.finish()
        if gzip_stream.fault:
            result.fault, result.fault_offset = "corrupt_gzip", gzip_stream.fault_offset
            result.notes.append(f"{gzip_stream.fault} at byte {gzip_stream.fault_offset}")
    tail, result.pending_tail_bytes = splitter.finish(provisional_tail)
    if result.fault and tail and state.batches:
        result.pending_tail_bytes = 0  # cut by the fault: reading it again gives the same line
        _mark_last_line(state, result.fault if result.fault == "corrupt_gzip" else "unreadable_file")
    result.fingerprint = hasher.hexdigest()
    result.complete_lines = start_line - 1 + splitter.complete_lines
    result.lines_read = state.next_line - 1
    result.has_partial_tail = tail
    result.bytes_consumed = splitter.consumed
    return state.batches, result


def _skip_byte_order_mark(data: bytes, result: ReadResult, start_offset: int) -> bytes:
    """A UTF-8 byte order mark before the first line is not part of it; a UTF-16 one is reported."""
    if data.startswith(UTF8_BOM):
        if start_offset == 0:
            result.notes.append("a UTF-8 byte order mark at the start of the file was skipped")
        return b" " * len(UTF8_BOM) + data[len(UTF8_BOM):]
    if data[:2] in UTF16_BOMS:
        result.notes.append("the file is UTF-16 text: its lines are rejected as invalid_encoding; "
                            "re-export it as UTF-8")
    return data


def _note_compression(result: ReadResult, name: str, is_gzip: bool, has_bytes: bool) -> None:
    result.compression = "gzip" if is_gzip else "none"
    if is_gzip and not name.endswith(".gz"):
        result.notes.append("gzip-compressed although named .jsonl: read decompressed")
    elif not is_gzip and name.endswith(".gz") and has_bytes:
        result.notes.append("named .jsonl.gz but not gzip-compressed: read as plain text")


def iter_batches(batches: list[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    yield from batches

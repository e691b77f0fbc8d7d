"""Every entry under a source folder of the raw zone, classified without reading it.

Only regular files inside the raw zone are ever opened: a symlink is followed only
when its target is a regular file inside the raw zone; FIFOs, sockets, devices and
directories named like raw files are quarantined; files with another extension are
ignored. Nothing here globs: names with `*`, `?`, `[`, quotes or backslashes are
plain names.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from customer_agent_warehouse.ingest.sources import GZIP_SUFFIX, PLAIN_SUFFIX

READABLE = "readable"
QUARANTINED = "quarantined"
IGNORED = "ignored"


@dataclass(frozen=True)
class RawEntry:
    """One entry of a source folder: `name` is its path relative to the raw zone root (posix)."""

    source: str
    name: str
    path: Path
    disposition: str  # READABLE, QUARANTINED or IGNORED
    size_bytes: int | None = None
    modified_ns: int | None = None
    error: str | None = None
    fix: str | None = None


def display_name(relative: str) -> str:
    """A file name as text: bytes that are not UTF-8 (undecodable names) shown as \\xNN escapes."""
    return os.fsencode(relative).decode("utf-8", "backslashreplace")


def _is_raw_name(name: str) -> bool:
    return name.endswith(PLAIN_SUFFIX) or name.endswith(GZIP_SUFFIX)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _classify_file(source: str, name: str, path: Path, info: os.stat_result) -> RawEntry:
    if path.name.startswith((".", "_")):
        return RawEntry(source, name, path, IGNORED, info.st_size, info.st_mtime_ns,
                        "hidden file (the name starts with '.' or '_', as upload tools name files in progress)",
                        "rename it without the leading '.' or '_' once it is complete to have it ingested")
    if not _is_raw_name(path.name):
        return RawEntry(source, name, path, IGNORED, info.st_size, info.st_mtime_ns,
                        "not a raw file: the name does not end in .jsonl or .jsonl.gz",
                        "rename it to *.jsonl (or *.jsonl.gz when gzip-compressed) to have it ingested")
    return RawEntry(source, name, path, READABLE, info.st_size, info.st_mtime_ns)


def _quarantine(source: str, name: str, path: Path, error: str, fix: str) -> RawEntry:
    return RawEntry(source, name, path, QUARANTINED, None, None, error, fix)


def _classify_symlink(source: str, name: str, path: Path, root_real: str) -> RawEntry | None:
    target = os.path.realpath(path)
    if not _inside(target, root_real):
        return _quarantine(source, name, path, "symlink pointing outside the raw zone: never read",
                           "copy the file into the raw zone instead of linking to it")
    try:
        info = os.stat(target)
    except OSError:
        return _quarantine(source, name, path, "broken symlink: its target does not exist",
                           "remove the link or restore its target")
    if stat.S_ISDIR(info.st_mode):
        return _quarantine(source, name, path, "symlink to a directory: not followed",
                           "move the files into the source folder instead of linking a directory")
    if not stat.S_ISREG(info.st_mode):
        return _quarantine(source, name, path, "symlink to something that is not a regular file",
                           "replace it with a regular file")
    return _classify_file(source, name, path, info)


def _classify(source: str, name: str, path: Path, info: os.stat_result, root_real: str) -> RawEntry | None:
    mode = info.st_mode
    if stat.S_ISLNK(mode):
        return _classify_symlink(source, name, path, root_real)
    if stat.S_ISREG(mode):
        return _classify_file(source, name, path, info)
    if stat.S_ISDIR(mode):
        if _is_raw_name(path.name):
            return _quarantine(source, name, path, "a directory named like a raw file: not a file",
                               "rename the directory; the files inside it are read as usual")
        return None
    return _quarantine(source, name, path, "not a regular file (FIFO, socket or device): never opened",
                       "deliver raw data as regular files")


def list_source(root: Path, source: str) -> list[RawEntry]:
    """Every entry of `root/source`, recursively, sorted by name; directories are walked, not followed."""
    folder = root / source
    if not folder.is_dir():
        return []
    root_real = os.path.realpath(root)
    entries: list[RawEntry] = []
    pending = [folder]
    while pending:
        directory = pending.pop()
        try:
            children = list(os.scandir(directory))
        except OSError as error:
            name = display_name(os.path.relpath(directory, root)).replace(os.sep, "/")
            entries.append(_quarantine(source, name, Path(directory), f"unreadable directory: {error.strerror}",
                                       "make the directory readable by the build"))
            continue
        for child in children:
            path = Path(child.path)
            name = display_name(os.path.relpath(child.path, root)).replace(os.sep, "/")
            try:
                info = os.lstat(child.path)
            except OSError as error:
                entries.append(_quarantine(source, name, path, f"unreadable entry: {error.strerror}",
                                           "make the file readable by the build"))
                continue
            if stat.S_ISDIR(info.st_mode):
                pending.append(path)
            entry = _classify(source, name, path, info, root_real)
            if entry is not None:
                entries.append(entry)
    return sorted(entries, key=lambda entry: entry.name)

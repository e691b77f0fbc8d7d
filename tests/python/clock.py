"""The suite's clock: fixed instants that tests anchor data, file times and windows to, never the wall clock.

* `WINDOW_ANCHOR`: conftest.py pins the plausible-time window of every build to it (CA_TIMESTAMP_WINDOW_ANCHOR,
  the default of the dbt var `timestamp_window_anchor`): times up to a day after it are plausible, so scenario
  data (November 2026) builds the same on any clock before 2100.
* File modification times for the raw-zone settle time (var `raw_file_settle_seconds`): a file marked as still
  being written was modified "in the future" for any clock before 2100, a settled file in 2000; neither depends
  on how fast dbt reaches the file.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

WINDOW_ANCHOR = "2100-01-01T00:00:00Z"
WINDOW_ANCHOR_AT = dt.datetime(2100, 1, 1)  # naive UTC, as DuckDB returns timestamps
WRITTEN_JUST_NOW = dt.datetime(2100, 1, 1, tzinfo=dt.UTC).timestamp()
SETTLED_LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=dt.UTC).timestamp()


def mark_still_written(path: Path) -> Path:
    """The file looks modified a moment ago to every build, however long dbt takes to reach it."""
    os.utime(path, (WRITTEN_JUST_NOW, WRITTEN_JUST_NOW))
    return path


def mark_settled(path: Path) -> Path:
    """The file looks finished (modified long before any settle time) to every build."""
    os.utime(path, (SETTLED_LONG_AGO, SETTLED_LONG_AGO))
    return path

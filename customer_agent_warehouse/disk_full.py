"""A full disk during a build is one line: which folder is full, and that the next build after freeing space is exact.

DuckDB reports it from inside a model (`TransactionContext Error: Failed to commit: Could not write file
"<warehouse>.duckdb.wal": No space left on device`), from the final checkpoint (`FATAL Error: Failed to create
checkpoint ... Could not write file "<warehouse>.duckdb" ...`) or when it spills beyond its memory limit (a file in
`<warehouse>.duckdb.tmp/`). Nothing of the failed model is committed, and incremental models record their watermark
in the same transaction, so the next build redoes exactly what this one did not finish. The CLI reads the messages
from dbt's run_results.json; a plain `dbt build` prints the same line from an on-run-end hook
(macros/serving/report_disk_full.sql).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

NO_SPACE = "No space left on device"
_WRITTEN_FILE = re.compile(r'Could not write file "(?P<path>[^"]+)": ' + NO_SPACE)


def disk_full_message(warehouse: Path, messages: Iterable[str]) -> str | None:
    """The one line for the first message that says the disk is full, else None."""
    for message in messages:
        if NO_SPACE not in message:
            continue
        match = _WRITTEN_FILE.search(message)
        written = Path(match["path"]) if match else warehouse
        spill = written.parent.name == warehouse.name + ".tmp"
        where = f"the spill folder {written.parent}/" if spill else f"the warehouse's folder {written.parent}"
        return (f"disk full: no space left in {where} (DuckDB could not write {written.name}); free space there or "
                "point CA_DUCKDB_PATH at a bigger folder, then build again: the next build is exact (nothing of a "
                "failed model was committed)")
    return None


def run_result_messages(target_path: Path) -> list[str]:
    """The messages of the failed nodes and hooks of dbt's last invocation (target/run_results.json)."""
    try:
        document = json.loads((target_path / "run_results.json").read_text())
    except (OSError, ValueError):
        return []
    return [str(result.get("message") or "") for result in document.get("results", [])
            if result.get("status") in ("error", "fail")]

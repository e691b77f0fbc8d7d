"""dbt in this process, for `run --watch`: loaded once, the project parsed once and re-parsed only when a file of
the project changes (dbt's `dbtRunner` with the parsed manifest).

The command line is DbtRunner's (dbt_runner.py), without the executable; dbt reads the `CA_*` variables from this
process's environment, so the caller sets them first (`Settings.dbt_env`). dbt-duckdb keeps its DuckDB database
open in the process after an invocation; it is closed after each one, so the other steps of a cycle (validation,
publish) can open the build file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from customer_agent_warehouse.dbt_runner import DbtRunner
from customer_agent_warehouse.settings import PROJECT_ROOT

# What dbt parses: a change to any file under these (or to these files) makes the next build parse again.
PROJECT_FOLDERS = ("models", "macros", "seeds", "tests", "snapshots", "analyses")
PROJECT_FILES = ("dbt_project.yml", "packages.yml", "dependencies.yml", "selectors.yml", "profiles/profiles.yml")


def project_state(root: Path = PROJECT_ROOT) -> tuple[tuple[str, int, int], ...]:
    """(path, size, modification time) of every file dbt parses: cheap (no file is read)."""
    state: list[tuple[str, int, int]] = []
    paths = [root / name for name in PROJECT_FILES]
    for folder in PROJECT_FOLDERS:
        for directory, _, files in os.walk(root / folder):
            paths.extend(Path(directory) / name for name in files)
    for path in paths:
        try:
            info = path.stat()
        except OSError:
            continue
        state.append((str(path), info.st_size, info.st_mtime_ns))
    return tuple(sorted(state))


@dataclass(frozen=True)
class DbtOutcome:
    success: bool
    message: str | None  # one line when it failed


def _first_line(text: object) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else type(text).__name__


def _failure_message(result: Any) -> str:
    """The first failed node and its message, from dbt's RunExecutionResult, or the exception."""
    if result.exception is not None:
        return _first_line(result.exception)
    for node_result in getattr(result.result, "results", None) or []:
        status = str(getattr(node_result, "status", "")).lower()
        if status in ("error", "fail", "runtimeerr", "runtime error"):
            node = getattr(node_result, "node", None)
            name = getattr(node, "unique_id", "a node")
            return f"{name}: {_first_line(getattr(node_result, 'message', '') or status)}"
    return "dbt reported a failure (see logs/dbt.log)"


def close_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after an invocation."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter
        return
    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
    DuckDBConnectionManager._ENV = None


@dataclass
class InProcessDbt:
    """`parse` once, then `build` with the parsed manifest; parsed again when `project_state()` changes."""

    runner: DbtRunner
    dbt_vars: Mapping[str, Any]
    parses: int = 0
    _manifest: Any = None
    _state: tuple[tuple[str, int, int], ...] = field(default_factory=tuple)

    def _arguments(self, args: Sequence[str]) -> list[str]:
        return [*self.runner.command(args, self.dbt_vars)[1:], "--log-level", "none"]

    def parse(self) -> DbtOutcome:
        from dbt.cli.main import dbtRunner

        state = project_state()
        result = dbtRunner().invoke(self._arguments(["parse"]))
        close_duckdb()
        if not result.success:
            return DbtOutcome(False, f"parse: {_failure_message(result)}")
        self._manifest, self._state = result.result, state
        self.parses += 1
        return DbtOutcome(True, None)

    def build(self, args: Sequence[str]) -> DbtOutcome:
        from dbt.cli.main import dbtRunner

        if self._manifest is None or project_state() != self._state:
            parsed = self.parse()
            if not parsed.success:
                return parsed
        try:
            result = dbtRunner(manifest=self._manifest).invoke(self._arguments(args))
        finally:
            close_duckdb()
        return DbtOutcome(True, None) if result.success else DbtOutcome(False, _failure_message(result))

"""Style gates: ruff on the Python glue and tests, sqlfluff (DuckDB dialect, dbt templater) on every model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.python.warehouse import PROJECT_ROOT

BIN = Path(sys.executable).parent


def test_python_is_ruff_clean() -> None:
    result = subprocess.run([str(BIN / "ruff"), "check", "customer_agent_warehouse", "tests"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_sql_is_sqlfluff_clean(tmp_path: Path) -> None:
    env = dict(os.environ, CA_RAW_PATH=str(tmp_path / "raw"), CA_DUCKDB_PATH=str(tmp_path / "lint.duckdb"),
               DBT_TARGET_PATH=str(tmp_path / "target"), DBT_LOG_PATH=str(tmp_path / "logs"))
    result = subprocess.run([str(BIN / "sqlfluff"), "lint", "models", "tests/dbt", "macros/tests"], cwd=PROJECT_ROOT,
                            env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]

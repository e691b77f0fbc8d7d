"""Python interpreters with an older DuckDB, for reading the serving copy as a BI tool's embedded DuckDB 1.x would.

Each lives in its own virtual environment under `.venv/duckdb-clients/<version>/` (created once, by pip from the
package index, then reused). When the index cannot be reached the calling test is skipped with the reason.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from customer_agent_warehouse.settings import PROJECT_ROOT

CLIENTS_DIR = PROJECT_ROOT / ".venv" / "duckdb-clients"
OLDEST_SUPPORTED = "1.1.3"  # the serving copy's storage version is v1.1.0
NEWEST_1X = "1.5.6"


def _version_of(python: Path) -> str | None:
    if not python.exists():
        return None
    result = subprocess.run([str(python), "-c", "import duckdb; print(duckdb.__version__)"],
                            capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def duckdb_python(version: str) -> Path:
    """The python of a cached virtual environment that holds exactly `duckdb==version`."""
    venv = CLIENTS_DIR / version
    python = venv / "bin" / "python"
    if _version_of(python) == version:
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True)
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              f"duckdb=={version}"], capture_output=True, text=True, check=False, timeout=600)
    if install.returncode != 0 or _version_of(python) != version:
        lines = (install.stderr or install.stdout).strip().splitlines()
        pytest.skip(f"cannot install duckdb=={version} from the package index: {lines[-1] if lines else 'no output'}")
    return python

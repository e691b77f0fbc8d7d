"""Python interpreters with an older DuckDB, for reading the serving copy as a BI tool's embedded DuckDB 1.x would.

Each lives in its own virtual environment under `.venv/duckdb-clients/<version>/`. ./test.sh prepares them before
the tests run (`python -m tests.python.duckdb_clients`, from the package index or pip's cache, like .venv itself),
so a test never needs the network; a client that cannot be prepared fails the test that needs it, never skips it.
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
VERSIONS = (OLDEST_SUPPORTED, NEWEST_1X)


def _version_of(python: Path) -> str | None:
    if not python.exists():
        return None
    result = subprocess.run([str(python), "-c", "import duckdb; print(duckdb.__version__)"],
                            capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def _python(version: str) -> Path:
    return CLIENTS_DIR / version / "bin" / "python"


def prepare(version: str) -> str | None:
    """Make the virtual environment of `duckdb==version` (kept when it already holds it); the error, or None."""
    python = _python(version)
    if _version_of(python) == version:
        return None
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(python.parent.parent)], check=True,
                   capture_output=True)
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              f"duckdb=={version}"], capture_output=True, text=True, check=False, timeout=600)
    if install.returncode == 0 and _version_of(python) == version:
        return None
    lines = (install.stderr or install.stdout).strip().splitlines()
    return lines[-1] if lines else "no output"


def duckdb_python(version: str) -> Path:
    """The python of the virtual environment that holds exactly `duckdb==version`."""
    error = prepare(version)
    if error:
        pytest.fail(f"cannot install duckdb=={version} into {CLIENTS_DIR / version}: {error}. ./test.sh prepares "
                    "the DuckDB clients before the tests; run it once with the package index or pip's cache.",
                    pytrace=False)
    return _python(version)


def main() -> int:
    failed = [f"duckdb=={version}: {error}" for version in VERSIONS if (error := prepare(version))]
    for line in failed:
        print(f"cannot prepare the DuckDB client {line} (tests/python/duckdb_clients.py)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

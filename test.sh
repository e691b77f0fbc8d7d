#!/usr/bin/env bash
# The whole test suite: dbt unit tests, end-to-end dbt builds, validation, glue.
# Extra arguments go to pytest (e.g. ./test.sh -k segments -x).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
# The older DuckDB clients of the serving tests, prepared here so that no test needs the network.
.venv/bin/python -m tests.python.duckdb_clients
exec .venv/bin/python -m pytest "$@"

#!/usr/bin/env bash
# The main job on the embedded DuckDB default: virtual environment, a sample raw
# zone when none is there, dbt build, Great Expectations validation, a summary.
# Extra arguments go to `python -m customer_agent_warehouse run` (see --help).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
exec .venv/bin/python -m customer_agent_warehouse run "$@"

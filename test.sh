#!/usr/bin/env bash
# The whole test suite: dbt unit tests, end-to-end dbt builds, validation, glue.
# Extra arguments go to pytest (e.g. ./test.sh -k segments -x).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/bootstrap.sh
exec .venv/bin/python -m pytest "$@"

# Sourced by run.sh and test.sh: make sure .venv exists and matches requirements.txt.
# Needs only a Python 3.11+ interpreter on PATH (python3.11, python3.12, python3.13 or python3).
set -euo pipefail

find_python() {
    for candidate in python3.11 python3.12 python3.13 python3; do
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; raise SystemExit(0 if (3, 11) <= sys.version_info[:2] < (3, 14) else 1)'; then
            echo "$candidate"
            return 0
        fi
    done
    echo "No Python 3.11-3.13 found on PATH; install one (e.g. python3.11) and retry." >&2
    return 1
}

VENV=".venv"
STAMP="$VENV/.requirements.sha256"
if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating virtual environment $VENV" >&2
    "$(find_python)" -m venv "$VENV"
fi
wanted="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$wanted" ]; then
    echo "==> installing pinned requirements into $VENV (first run takes a minute)" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt >&2
    echo "$wanted" > "$STAMP"
fi
export DBT_SEND_ANONYMOUS_USAGE_STATS=false

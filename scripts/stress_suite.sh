#!/usr/bin/env bash
# The test suite (or the pytest arguments given) three ways, one after the other, every module's tests in reverse
# order (--reverse-tests: no test may depend on another one having run first):
#   tz        TZ=America/Los_Angeles: a zone west of UTC, with daylight saving time
#   faketime  the clock one month later (libfaketime, installed with apt-get when missing): a relative offset,
#             so monotonic clocks move with it and their differences (deadlines, timeouts, JVM timers) stay
#             real; files written meanwhile keep the real time, so every fresh raw file also looks a month old
#             to the settle time. FAKETIME_DONT_FAKE_MONOTONIC=1 must NOT be set: with it (Debian libfaketime
#             0.9.10) Python's time.sleep raises OSError [Errno 22] and a dbt build of test_vars_e2e hung in
#             futex waits. Without it, on 2026-12-07 (shared 2-core machine, load average 5-6, -n 1):
#             -m "not slow and not postgres and not spark": 143 passed in 247 s; test_main_job_e2e.py,
#             test_vars_e2e.py, test_hostile_raw_zone_e2e.py: 28 passed in 612 s; a local Spark session
#             (JVM sleep, wait, park and a Spark SQL query) ran normally under the same offset
#             test_build_errors_e2e.py: 3 passed in 89 s (after the CLI stopped comparing a file's time with the clock)
#             test_segments_e2e.py, test_activation_e2e.py, test_serving_e2e.py: 62 passed in 646 s
#   load      a busy process per core beside the tests (stopped on exit, also on failure or Ctrl-C)
# Usage: scripts/stress_suite.sh [--modes tz,faketime,load] [pytest arguments...]
#   e.g. scripts/stress_suite.sh --modes tz tests/python/test_vars_e2e.py -n 0
# Exit code 0 when every mode passed; one summary line per mode.
set -uo pipefail
cd "$(dirname "$0")/.."

MODES="tz,faketime,load"
if [ "${1:-}" = "--modes" ]; then
    MODES="$2"
    shift 2
fi
APT_LOCK=/tmp/customer-agent-warehouse-apt.lock
HOGS=()

stop_hogs() {
    for pid in "${HOGS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    HOGS=()
}
trap stop_hogs EXIT INT TERM

ensure_faketime() {
    command -v faketime >/dev/null 2>&1 && return 0
    local runner=()
    [ "$(id -u)" -eq 0 ] || runner=(sudo -n)
    echo "stress_suite: installing faketime (libfaketime) with apt-get" >&2
    "${runner[@]}" flock "$APT_LOCK" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    "${runner[@]}" flock "$APT_LOCK" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends faketime >&2
    command -v faketime >/dev/null 2>&1 || { echo "stress_suite: faketime could not be installed" >&2; return 1; }
}

start_hogs() {
    local cores
    cores="$(nproc)"
    for _ in $(seq "$cores"); do
        python3 -c 'while True: pass' &
        HOGS+=("$!")
    done
    echo "stress_suite: ${cores} busy processes beside the tests (pids ${HOGS[*]})" >&2
}

run_mode() {
    local mode="$1"
    shift
    case "$mode" in
        tz) TZ=America/Los_Angeles ./test.sh --reverse-tests "$@" ;;
        # A relative offset: monotonic clocks move by the same offset, so their differences (deadlines, timeouts,
        # JVM timers) stay real. FAKETIME_DONT_FAKE_MONOTONIC=1 must not be set (see the header).
        faketime) ensure_faketime && env -u FAKETIME_DONT_FAKE_MONOTONIC faketime '+30 days' ./test.sh --reverse-tests "$@" ;;
        load) start_hogs && ./test.sh --reverse-tests "$@"; local status=$?; stop_hogs; return "$status" ;;
        *) echo "stress_suite: unknown mode '$mode' (tz, faketime, load)" >&2; return 2 ;;
    esac
}

failed=0
summary=()
IFS=',' read -r -a selected <<< "$MODES"
for mode in "${selected[@]}"; do
    started=$SECONDS
    echo "==> stress_suite: $mode" >&2
    run_mode "$mode" "$@"
    status=$?
    summary+=("$mode: exit $status in $((SECONDS - started)) s")
    [ "$status" -eq 0 ] || failed=1
done
printf 'stress_suite: %s\n' "${summary[@]}"
exit "$failed"

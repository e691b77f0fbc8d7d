#!/usr/bin/env bash
# Headless Chromium for the dashboard report's browser test (tests/python/test_report_browser.py).
# Prints the path of a chromium executable on stdout and exits 0; installs Debian's `chromium` package
# (and fonts-liberation, so text has metrics) with apt-get when none is on PATH. CI starts from a clean
# Debian machine and runs the suite as root, so the test set-up calls this script.
# Exit 2 with one line on stderr when chromium is missing and cannot be installed here.
set -euo pipefail

find_chromium() {
    local candidate
    for candidate in "${CA_CHROMIUM:-}" chromium chromium-browser google-chrome-stable google-chrome; do
        if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

if find_chromium; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_chromium: no chromium on PATH and no apt-get here: install Chromium and set CA_CHROMIUM to its path" >&2
    exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install_chromium: no chromium on PATH: run 'sudo apt-get install -y chromium fonts-liberation' (or set CA_CHROMIUM)" >&2
    exit 2
fi
echo "==> installing Debian's chromium (first time only, about a minute)" >&2
export DEBIAN_FRONTEND=noninteractive
# One apt-get at a time on this machine (the test workers may install Java, PostgreSQL and Chromium at once).
APT_LOCK=/tmp/customer-agent-warehouse-apt.lock
# A clean machine has no package lists; an install that fails on stale lists retries after an update.
if ! flock "$APT_LOCK" apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null 2>&1; then
    flock "$APT_LOCK" apt-get update -qq >/dev/null
    flock "$APT_LOCK" apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
fi
if ! find_chromium; then
    echo "install_chromium: apt-get installed chromium but no chromium executable is on PATH" >&2
    exit 2
fi

#!/usr/bin/env bash
# Make sure a Java runtime that Spark 4 supports (17 or 21) is installed, and print its JAVA_HOME.
# CI machines start clean: when no suitable `java` is found, a headless JRE is installed with apt-get
# (as root, or through sudo). Usage: JAVA_HOME="$(scripts/ensure_java.sh)"
# Exit codes: 0 ok (JAVA_HOME on stdout), 2 no Java and it cannot be installed here (one line on stderr).
set -euo pipefail

MIN_MAJOR=17
MAX_MAJOR=21
# Debian 12 ships 17, Debian 13 ships 21; default-jre-headless is whichever the release has.
CANDIDATES=(openjdk-17-jre-headless openjdk-21-jre-headless default-jre-headless)

fail() {
    echo "ensure_java: $1" >&2
    exit 2
}

java_major() {  # major version of the java binary $1, or 0
    local version
    version="$("$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = //p')"
    case "$version" in
        1.*) echo 0 ;;
        [0-9]*) echo "${version%%.*}" ;;
        *) echo 0 ;;
    esac
}

find_java() {  # prints the java binary of a suitable runtime, or nothing
    local candidate
    for candidate in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java || true)" /usr/lib/jvm/*/bin/java; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then
            local major
            major="$(java_major "$candidate")"
            [ "$major" -ge "$MIN_MAJOR" ] && [ "$major" -le "$MAX_MAJOR" ] || continue
            readlink -f "$candidate"
            return 0
        fi
    done
}

install_jre() {
    # One apt-get at a time on this machine (the test workers may install Java, PostgreSQL and Chromium at once).
    local APT_LOCK=/tmp/customer-agent-warehouse-apt.lock
    local runner=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || fail "no Java ${MIN_MAJOR}-${MAX_MAJOR} found and not root: install a JRE (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
        runner=(sudo -n)
    fi
    command -v apt-get >/dev/null 2>&1 || fail "no Java ${MIN_MAJOR}-${MAX_MAJOR} found and no apt-get: install a Java ${MIN_MAJOR}-${MAX_MAJOR} runtime and set JAVA_HOME"
    echo "ensure_java: no Java ${MIN_MAJOR}-${MAX_MAJOR} found; installing a headless JRE with apt-get" >&2
    "${runner[@]}" flock "$APT_LOCK" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || fail "apt-get update failed; install a Java ${MIN_MAJOR}-${MAX_MAJOR} runtime and set JAVA_HOME"
    local package
    for package in "${CANDIDATES[@]}"; do
        if [ -n "$(apt-cache policy "$package" 2>/dev/null | sed -n 's/^ *Candidate: *//p' | grep -v '(none)')" ]; then
            "${runner[@]}" flock "$APT_LOCK" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" >&2 \
                || fail "apt-get install $package failed; install a Java ${MIN_MAJOR}-${MAX_MAJOR} runtime and set JAVA_HOME"
            return 0
        fi
    done
    fail "apt-get has none of ${CANDIDATES[*]}; install a Java ${MIN_MAJOR}-${MAX_MAJOR} runtime and set JAVA_HOME"
}

java_bin="$(find_java)"
if [ -z "$java_bin" ]; then
    install_jre
    java_bin="$(find_java)"
    [ -n "$java_bin" ] || fail "a JRE was installed but no Java ${MIN_MAJOR}-${MAX_MAJOR} binary was found under /usr/lib/jvm; set JAVA_HOME"
fi
# JAVA_HOME is the directory above bin/java.
dirname "$(dirname "$java_bin")"

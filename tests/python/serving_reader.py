"""A BI-like reader of the serving copy, run as its own process by the serving tests (any DuckDB >= 1.1, no
project imports, so it also runs in a virtual environment that holds only an old `duckdb`).

    python serving_reader.py SERVING OUT.jsonl STOP_FILE [--hold]   # query about once a second until STOP_FILE
    python serving_reader.py SERVING --once                         # print one fingerprint

Each sample is one JSON line: the fingerprint of every table of the marts and segments schemas (row count and
an order-independent checksum of the rows), or the error. Without --hold every sample opens a new read-only
connection (what a BI tool's refresh does); with --hold one connection stays open the whole time.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb

SCHEMAS = ("marts", "segments")


def fingerprint(connection: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    tables = connection.execute(
        "select schema_name, table_name from duckdb_tables() where schema_name in ('marts', 'segments') "
        "order by 1, 2").fetchall()
    result = {}
    for schema, table in tables:
        count, checksum = connection.execute(
            f'select count(*), sum(hash(t::varchar)) from "{schema}"."{table}" as t').fetchone()
        result[f"{schema}.{table}"] = [str(count), str(checksum)]
    return result


def sample(serving: str, connection: duckdb.DuckDBPyConnection | None) -> dict:
    started = time.time()
    try:
        if connection is not None:
            return {"at": started, "fingerprint": fingerprint(connection)}
        with duckdb.connect(serving, read_only=True) as fresh:
            return {"at": started, "fingerprint": fingerprint(fresh)}
    except Exception as error:  # every failure of a reader is what the test looks for
        return {"at": started, "error": f"{type(error).__name__}: {error}"}


def main(argv: list[str]) -> int:
    serving = argv[0]
    if "--once" in argv:
        with duckdb.connect(serving, read_only=True) as connection:
            print(json.dumps(fingerprint(connection), sort_keys=True))
        return 0
    out, stop = Path(argv[1]), Path(argv[2])
    held = duckdb.connect(serving, read_only=True) if "--hold" in argv else None
    with out.open("a") as log:
        log.write(json.dumps({"ready": True, "duckdb": duckdb.__version__}) + "\n")
        log.flush()
        while not stop.exists():
            log.write(json.dumps(sample(serving, held), sort_keys=True) + "\n")
            log.flush()
            time.sleep(0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

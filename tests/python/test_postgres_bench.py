"""`bench --target postgres` end to end on a tiny raw zone: a functional test, not a timed one. Every phase
runs against the session's PostgreSQL server (the builds are `build --target postgres`: the raw loader, then
dbt), in databases of the benchmark's own; the floor, DuckDB's, is skipped; the JSON carries the figures.
"""

from __future__ import annotations

import json
import os
from contextlib import closing
from pathlib import Path

import pytest

from customer_agent_warehouse.cli import main
from customer_agent_warehouse.postgres_server import PostgresServer

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_bench_runs_every_phase_on_postgres(tmp_path: Path, postgres_server: PostgresServer,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    database = os.environ["CA_PG_DATABASE"]
    json_path = tmp_path / "bench.json"
    try:
        exit_code = main(["bench", "--target", "postgres", "--conversations", "200", "--seed", "3",
                          "--workdir", str(tmp_path / "bench"), "--json", str(json_path)])
        out = capsys.readouterr().out
        assert exit_code == 0, out[-3000:]
        results = json.loads(json_path.read_text())
        assert results["settings"]["target"] == "postgres"
        assert set(results["phases"]) == {"generation", "empty_build", "full_build", "noop_build",
                                          "increment_generation", "incremental_build", "validate"}
        assert all(phase["returncode"] == 0 for phase in results["phases"].values()), results["phases"]
        for build in ("full_build", "noop_build", "incremental_build"):
            assert results["dbt"][build]["load_seconds"] > 0
            assert results["figures"][f"{build}_seconds"] > results["dbt"][build]["load_seconds"]
        assert "Target postgres: each build is `build --target postgres`" in out
        with closing(postgres_server.connect(f"{database}_bench")) as connection, connection.cursor() as cursor:
            cursor.execute("select count(*) from marts.fct_conversation_started")
            assert cursor.fetchone()[0] > 100
        assert not (tmp_path / "bench" / "warehouse.duckdb").exists()
    finally:
        for suffix in ("_bench", "_bench_empty"):
            postgres_server.drop_database(database + suffix)

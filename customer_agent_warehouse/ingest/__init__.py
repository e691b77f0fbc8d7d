"""Raw-zone ingestion, shared by every engine (spec §2, §6).

`listing` finds the files of each source folder safely, `reader` turns a file's
bytes into numbered lines (with per-line faults) and a per-file result, and
`registry` compares what is on disk with the ingestion manifest of the last
build to decide what to read. `duckdb_plugin` serves the result to dbt-duckdb
as dbt sources; `postgres_loader` copies it into PostgreSQL raw tables.
"""

from customer_agent_warehouse.ingest.sources import SOURCES

__all__ = ["SOURCES"]

"""Issue 27: the incremental publish of `run --watch` (serving_delta.py) gives, row by row and comment by comment,
the serving copy a full publish gives, copying only what changed; real DuckDB files, no dbt."""

from __future__ import annotations

from pathlib import Path

import duckdb

from customer_agent_warehouse.serving import describe_serving_copy, publish
from customer_agent_warehouse.serving_delta import signatures_path
from customer_agent_warehouse.settings import Settings


def everything(path: Path) -> tuple[dict[str, list[tuple]], list[tuple], list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as connection:
        tables = connection.execute("select schema_name, table_name, comment from duckdb_tables() "
                                    "order by all").fetchall()
        rows = {f"{schema}.{name}": connection.execute(f'select * from "{schema}"."{name}" order by all').fetchall()
                for schema, name, _ in tables}
        columns = connection.execute("select schema_name, table_name, column_name, data_type, comment "
                                     "from duckdb_columns() order by all").fetchall()
    return rows, tables, columns


def build_file(path: Path) -> None:
    with duckdb.connect(str(path)) as connection:
        connection.execute("""
            create schema marts; create schema audit; create schema staging;
            create table marts.facts as select range as id, 'x' || range as label from range(1000);
            comment on table marts.facts is 'the facts';
            comment on column marts.facts.label is 'a label';
            create table marts.daily as select 1 as day, 10 as total;
            create table staging.old as select 1 as gone;
            create table audit.lines as select range as line from range(50);
            create view audit.lines_classified as select line, line % 2 = 0 as even from audit.lines;
            comment on view audit.lines_classified is 'every line, classified';
        """)


def change(path: Path) -> None:
    with duckdb.connect(str(path)) as connection:
        connection.execute("""
            insert into marts.facts select range as id, 'y' || range from range(1000, 1010);
            create or replace table marts.daily as select 1 as day, 11 as total;
            drop table staging.old;
            create table staging.new as select 2 as fresh;
            insert into audit.lines values (50);
        """)


def test_incremental_publish_equals_a_full_publish_and_copies_only_what_changed(tmp_path: Path) -> None:
    settings = Settings(raw_path=tmp_path / "raw", duckdb_path=tmp_path / "build.duckdb", raw_path_explicit=True)
    build_file(settings.duckdb_path)
    first = publish(settings, incremental=True)
    assert first.changes is None and signatures_path(settings.serving).is_file(), "the first publish copies all"
    unchanged = publish(settings, incremental=True)
    assert unchanged.changes == "0 copied, 0 appended, 5 unchanged, 0 dropped"

    change(settings.duckdb_path)
    published = publish(settings, incremental=True)
    # facts and audit.lines appended; daily (new content), the view (new rows) and staging.new copied
    assert published.changes == "3 copied, 2 appended, 0 unchanged, 1 dropped"
    incremental = everything(settings.serving)
    assert settings.serving.stat().st_mode & 0o777 == 0o444

    full = publish(settings)  # the reference: a full publish of the same build file
    assert not signatures_path(settings.serving).exists(), "a full publish leaves no stale signatures"
    assert everything(settings.serving) == incremental
    assert incremental[0]["marts.facts"][-1] == (1009, "y1009")
    assert full.rows == {relation: len(rows) for relation, rows in incremental[0].items()}


def test_a_serving_copy_replaced_since_the_signatures_is_copied_whole(tmp_path: Path) -> None:
    settings = Settings(raw_path=tmp_path / "raw", duckdb_path=tmp_path / "build.duckdb", raw_path_explicit=True)
    build_file(settings.duckdb_path)
    publish(settings, incremental=True)
    saved = signatures_path(settings.serving).read_text()
    publish(settings)  # e.g. `publish` by hand: another file
    signatures_path(settings.serving).write_text(saved)  # stale: describes the file before
    change(settings.duckdb_path)
    assert publish(settings, incremental=True).changes is None


def test_a_serving_copy_without_signatures_is_described_then_published_incrementally(tmp_path: Path) -> None:
    settings = Settings(raw_path=tmp_path / "raw", duckdb_path=tmp_path / "build.duckdb", raw_path_explicit=True)
    build_file(settings.duckdb_path)
    publish(settings)  # `run` publishes everything and leaves no signatures
    assert describe_serving_copy(settings) and not describe_serving_copy(settings)
    change(settings.duckdb_path)
    assert publish(settings, incremental=True).changes == "3 copied, 2 appended, 0 unchanged, 1 dropped"
    incremental = everything(settings.serving)
    publish(settings)
    assert everything(settings.serving) == incremental

"""The end-to-end scenarios with hand-derived rows, replayed on PostgreSQL: the same raw files, the same
builds (the project's loader, then the real `dbt build --target postgres`) and the same expected rows.

Each test below calls the DuckDB scenario's own test functions with a PostgreSQL warehouse, so the raw
files and the expected rows live in one place (tests/python/test_*_e2e.py):

* facts, the bridge, `dim_conversations` and the feed, across an incremental pass (test_facts_e2e);
* the four segments at two `as_of` (test_segments_e2e);
* attribution, the daily and skill marts in UTC and in Europe/Rome, and MetricFlow's `mf query` on the
  postgres target answering like the mart (test_performance_e2e);
* rejected records, reconciliation, normalised staging, new files picked up (test_ingestion_e2e).

Only assertions of DuckDB's own type names are not replayed (test_postgres_e2e checks PostgreSQL's).
"""

from __future__ import annotations

import pytest

from tests.python import test_facts_e2e as facts
from tests.python import test_ingestion_e2e as ingestion
from tests.python import test_performance_e2e as performance
from tests.python import test_segments_e2e as segments
from tests.python.postgres import PostgresWarehouse

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_facts_dimension_and_feed_on_postgres(pg_warehouse: PostgresWarehouse) -> None:
    facts.test_facts_dimension_and_feed_end_to_end(pg_warehouse)


def test_segments_at_two_times_on_postgres(pg_warehouse: PostgresWarehouse) -> None:
    segments.write_raw_zone(pg_warehouse)
    results: dict[str, dict[str, list]] = {}
    for as_of in (segments.AS_OF_1, segments.AS_OF_2):
        pg_warehouse.build(*segments.SEGMENTS_SELECTOR, vars={"as_of": as_of})
        results[as_of] = segments.segment_rows(pg_warehouse)
    built = (pg_warehouse, results)
    for segment in segments.SEGMENT_COLUMNS:
        segments.test_segments_as_of_first_time(built, segment)
        segments.test_segments_as_of_a_week_later(built, segment)
    segments.test_membership_changes_between_the_two_times(built)
    segments.test_anonymous_conversations_never_appear(built)
    segments.test_orders_are_attributed_by_profile_id_else_current_email(built)


def test_dashboard_marts_in_utc_and_in_rome_on_postgres(pg_warehouse: PostgresWarehouse) -> None:
    performance._write_raw_zone(pg_warehouse)
    performance._build_performance_marts(pg_warehouse)
    performance.test_orders_are_attributed_to_the_last_covering_touch(pg_warehouse)
    performance.test_daily_mart_in_utc(pg_warehouse)
    performance.test_skill_performance_in_utc(pg_warehouse)
    # `mf query` on the postgres target (CA_DBT_TARGET=postgres, CA_PG_*) answers like the mart.
    performance.test_metricflow_answers_the_dashboard_questions_like_the_mart(pg_warehouse)
    performance.test_metricflow_recomputes_rates_over_a_period(pg_warehouse)
    # The same database, its daily marts rebuilt with another reporting time zone.
    pg_warehouse.vars = {"reporting_timezone": "Europe/Rome"}
    pg_warehouse.build("--select", "agg_customer_agent_daily agg_skill_performance", "--indirect-selection", "cautious")
    performance.test_daily_mart_in_europe_rome(pg_warehouse)
    performance.test_skill_performance_in_europe_rome(pg_warehouse)


def test_audit_and_staging_on_postgres(pg_warehouse: PostgresWarehouse) -> None:
    ingestion.write_raw_zone(pg_warehouse)
    pg_warehouse.build()
    ingestion.test_every_rejected_line_is_kept_with_file_line_text_and_reason(pg_warehouse)
    ingestion.test_reconciliation_accounts_for_every_line_of_every_file(pg_warehouse)
    ingestion.test_log_records_are_deduplicated_and_normalised(pg_warehouse)
    ingestion.test_orders_items_and_profiles_are_staged(pg_warehouse)


def test_new_files_are_picked_up_on_postgres(pg_warehouse: PostgresWarehouse) -> None:
    ingestion.test_new_files_are_picked_up_and_old_files_are_not_read_again(pg_warehouse)

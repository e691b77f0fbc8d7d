{#-
    How an incremental model is materialised, per engine, in one place. Models call
    `{{ config(**key_incremental_config(unique_key)) }}` with the key their rows are replaced by.
    DuckDB and PostgreSQL: incremental, `delete+insert` on the key.
    Spark (parquet, no Delta/Iceberg: neither `merge` nor `delete+insert`): a table rebuilt on every build
    from the raw tables, which keep every line ever loaded (customer_agent_warehouse/ingest/spark_loader.py),
    so a build equals a full refresh by construction (README, Apache Spark target).
-#}
{% macro key_incremental_config(unique_key) -%}
    {{- return(adapter.dispatch('key_incremental_config', 'customer_agent_warehouse')(unique_key)) -}}
{%- endmacro %}

{% macro default__key_incremental_config(unique_key) -%}
    {{- return({'materialized': 'incremental', 'incremental_strategy': 'delete+insert', 'unique_key': unique_key}) -}}
{%- endmacro %}

{% macro spark__key_incremental_config(unique_key) -%}
    {{- return({'materialized': 'table'}) -}}
{%- endmacro %}

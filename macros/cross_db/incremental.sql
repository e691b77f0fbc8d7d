{#-
    How the incremental models that replace rows by a key (the base, staging and intermediate models) are
    materialised, per engine, in one place; the conversation-grain marts have theirs in
    macros/incremental/rebuilt_keys.sql (incremental_config). Models call
    `{{ config(**engine_incremental_config('delete+insert', unique_key='conversation_id')) }}`.
    DuckDB and PostgreSQL: incremental with that strategy and key (and the post-hook, when given).
    Spark (parquet, no Delta/Iceberg: neither `merge` nor `delete+insert`): insert_overwrite of the
    partitions the rebuilt keys are in (macros/cross_db/spark_rebuild.sql); `append` stays append.
-#}
{% macro engine_incremental_config(strategy, unique_key=none, post_hook=none) -%}
    {{- return(adapter.dispatch('engine_incremental_config', 'customer_agent_warehouse')(strategy, unique_key, post_hook)) -}}
{%- endmacro %}

{% macro default__engine_incremental_config(strategy, unique_key, post_hook) -%}
    {%- set config = {'materialized': 'incremental', 'incremental_strategy': strategy} -%}
    {%- if unique_key is not none -%}
        {%- do config.update({'unique_key': unique_key}) -%}
    {%- endif -%}
    {%- if post_hook is not none -%}
        {%- do config.update({'post_hook': post_hook}) -%}
    {%- endif -%}
    {{- return(config) -}}
{%- endmacro %}

{% macro spark__engine_incremental_config(strategy, unique_key, post_hook) -%}
    {%- if strategy == 'append' -%}
        {{- return(default__engine_incremental_config(strategy, unique_key, post_hook)) -}}
    {%- endif -%}
    {{- return(spark_rebuild_config(unique_key, post_hook=post_hook)) -}}
{%- endmacro %}


{#-
    The conversation-grain marts (macros/incremental/rebuilt_keys.sql) on Spark: the partitions of the
    changed keys are rewritten (macros/cross_db/spark_rebuild.sql); no pre-hook (no DELETE on parquet).
-#}
{% macro spark__incremental_config(key, keys_macro, by_reporting_timezone) -%}
    {{- return(spark_rebuild_config(
        key, keys_macro=keys_macro, by_reporting_timezone=by_reporting_timezone,
        post_hook="{{ record_watermark() }}",
    )) -}}
{%- endmacro %}

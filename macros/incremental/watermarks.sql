{#-
    The manifest of processed watermarks (Snowplow style): `audit.incremental_watermarks`,
    one row per successful run of an incremental model that reads a changed set
    (`model_name`, `watermark` = the start of that dbt invocation, `reporting_timezone` the
    model was built in, `recorded_at`). The row is inserted by the model's post-hook, inside the
    model's own transaction: a build killed before the commit leaves neither rows nor watermark,
    so the next build reprocesses exactly what the killed one did not finish.
    Append-only (portable to every engine, Spark's parquet included); only the latest row of a
    model counts, and older rows are pruned at the end of a run (default__ engines).
-#}

{% macro watermarks_relation() -%}
    {{- return(adapter.dispatch('watermarks_relation', 'customer_agent_warehouse')()) -}}
{%- endmacro %}

{% macro default__watermarks_relation() -%}
    {{- return(api.Relation.create(database=target.database, schema='audit', identifier='incremental_watermarks')) -}}
{%- endmacro %}


{#- Spark has no database level above the schema. -#}
{% macro spark__watermarks_relation() -%}
    {{- return(api.Relation.create(schema='audit', identifier='incremental_watermarks')) -}}
{%- endmacro %}


{#- on-run-start: the manifest exists before any model reads it (idempotent). -#}
{% macro create_watermarks_table() -%}
    {{- return(adapter.dispatch('create_watermarks_table', 'customer_agent_warehouse')()) -}}
{%- endmacro %}

{% macro default__create_watermarks_table() -%}
    create schema if not exists {{ watermarks_relation().without_identifier().include(database=false) }};
    create table if not exists {{ watermarks_relation() }} (
        model_name {{ string_type() }},
        watermark {{ dbt.type_timestamp() }},
        reporting_timezone {{ string_type() }},
        recorded_at {{ dbt.type_timestamp() }}
    )
{%- endmacro %}


{#- on-run-end: keep only the latest row of each model. -#}
{% macro prune_watermarks() -%}
    {{- return(adapter.dispatch('prune_watermarks', 'customer_agent_warehouse')()) -}}
{%- endmacro %}

{#-
    Spark (parquet): no DELETE, and models run on several threads at once. The manifest is partitioned by
    model_name and each model overwrites its own partition (dynamic partition overwrite: every write has its
    own staging folder, so concurrent writes of different models never share a temporary folder, which plain
    `insert into` of one unpartitioned table does). One row per model, the latest: nothing to prune.
-#}
{% macro spark__create_watermarks_table() -%}
    {%- if execute -%}
        {%- do run_query('create database if not exists ' ~ watermarks_relation().schema) -%}
    {%- endif -%}
    create table if not exists {{ watermarks_relation() }} (
        watermark timestamp,
        reporting_timezone string,
        recorded_at timestamp,
        model_name string
    ) using parquet
    partitioned by (model_name)
{%- endmacro %}

{% macro spark__prune_watermarks() -%}
    select 1
{%- endmacro %}

{% macro default__prune_watermarks() -%}
    delete from {{ watermarks_relation() }} as old
    where exists (
        select 1 from {{ watermarks_relation() }} as newer
        where newer.model_name = old.model_name and newer.recorded_at > old.recorded_at
    )
{%- endmacro %}


{#-
    The watermark of this model as a SQL scalar: the start of the last invocation in which it
    succeeded (1900-01-01 before its first run). Upstream rows with processed_at after it are
    the changes this model has not taken yet. `model_name` reads another entry instead, e.g. the
    tested-build marker (macros/tests/changed_rows.sql).
-#}
{% macro incremental_watermark(model_name=none) -%}
    (
        select coalesce(max(watermark), cast('1900-01-01' as {{ dbt.type_timestamp() }}))
        from {{ watermarks_relation() }}
        where model_name = '{{ model_name if model_name is not none else this.identifier }}'
    )
{%- endmacro %}


{#-
    The post-hook of every model that reads a changed set: record that this model has taken
    every change up to the start of this invocation (and the reporting time zone it used).
    `model_name` records another entry instead, e.g. the tested-build marker (macros/tests/changed_rows.sql).
-#}
{% macro record_watermark(model_name=none) -%}
    {{- return(adapter.dispatch('record_watermark', 'customer_agent_warehouse')(model_name)) -}}
{%- endmacro %}

{% macro default__record_watermark(model_name) -%}
    insert into {{ watermarks_relation() }} (model_name, watermark, reporting_timezone, recorded_at)
    values (
        '{{ model_name if model_name is not none else this.identifier }}',
        {{ run_started_timestamp() }},
        '{{ var("reporting_timezone", "UTC") }}',
        {{ dbt.current_timestamp() }}
    )
{%- endmacro %}

{% macro spark__record_watermark(model_name) -%}
    insert overwrite table {{ watermarks_relation() }} partition (model_name)
    select
        {{ run_started_timestamp() }} as watermark,
        '{{ var("reporting_timezone", "UTC") }}' as reporting_timezone,
        {{ dbt.current_timestamp() }} as recorded_at,
        '{{ model_name if model_name is not none else this.identifier }}' as model_name
{%- endmacro %}


{#-
    True when this run rebuilds the model whole: not incremental (first run, --full-refresh),
    or, for a model cut in reporting days (`by_reporting_timezone`), when the last run used
    another reporting_timezone (every day boundary moved).
-#}
{% macro rebuilds_everything(by_reporting_timezone=false) -%}
    {%- if not is_incremental() -%}
        {{- return(true) -}}
    {%- endif -%}
    {%- if by_reporting_timezone and execute -%}
        {%- set stored = run_query(
            "select reporting_timezone from " ~ watermarks_relation()
            ~ " where model_name = '" ~ this.identifier ~ "' order by recorded_at desc limit 1"
        ) -%}
        {%- if stored.rows | length == 0 or stored.rows[0][0] != var('reporting_timezone', 'UTC') -%}
            {{- return(true) -}}
        {%- endif -%}
    {%- endif -%}
    {{- return(false) -}}
{%- endmacro %}

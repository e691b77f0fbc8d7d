{#-
    Incremental models on Spark (parquet, no Delta/Iceberg: no DELETE, no MERGE), issue 24.

    A model that DuckDB and PostgreSQL rebuild by key (delete+insert, or the marts' pre-hook delete +
    append) is on Spark a table partitioned by `rebuild_bucket`, written with `insert_overwrite` and dynamic
    partition overwrite. Its select computes the rows of the keys it rebuilds, exactly as on the other
    engines; the Spark strategy (get_insert_overwrite_sql below) then writes, for every partition those keys
    are in, the new rows and the rows of the other keys already there. A partition no key touched is not
    rewritten: a build that rebuilds no key writes no data file.

    The partition column is added by the materialisation (spark__create_table_as below), after the model's
    contract is checked: the model's SQL and its YAML contract are the same on every engine, and only the
    Spark table has the trailing `rebuild_bucket` column (parquet folders `rebuild_bucket=N/`).

    Where a row goes (spark_row_partition), so that the share of files a build rewrites follows what changed:
    * a full build (first build, --full-refresh): pmod(xxhash64(first key column), var spark_rebuild_buckets),
      N partitions `0 .. N-1` of about the same size;
    * an incremental build: the UTC day the build started, `yyyymmdd` (e.g. 20261208). New keys (new
      conversations, orders, lines) land in that partition and touch no older one; a rebuilt key's earlier
      rows are found in the table by key (a semi-join on the key column) and their partition is rewritten
      without them. So an increment rewrites the day's partition and the partitions of the keys it
      rebuilds, never the whole table, and a table has at most N + one partition per day it changed.
    The layout differs between an incremental history and a full refresh; the rows do not (the partition
    column is not part of the model).
    A partition whose rows all belong to rebuilt keys and that gets no new row is dropped before the write.
-#}

{#- The Spark config of a model rebuilt by key (called by the spark__ versions in incremental.sql). -#}
{% macro spark_rebuild_config(unique_key, keys_macro=none, by_reporting_timezone=false, post_hook=none) -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- set hooks = [] if post_hook is none else [post_hook] -%}
    {%- do hooks.append('{{ spark_release_rebuilt_rows() }}') -%}
    {{- return({
        'materialized': 'incremental',
        'incremental_strategy': 'insert_overwrite',
        'file_format': 'parquet',
        'partition_by': 'rebuild_bucket',
        'on_schema_change': 'fail',
        'spark_rebuild': {
            'keys': keys,
            'keys_macro': keys_macro,
            'by_reporting_timezone': by_reporting_timezone,
        },
        'post_hook': hooks,
    }) -}}
{%- endmacro %}


{#- The partition of a row this build writes: a bucket of its key on a full build, the build's UTC day
    (yyyymmdd) on an incremental one. -#}
{% macro spark_row_partition(rebuild, incremental) -%}
    {%- if incremental -%}
        {{ run_started_at.strftime('%Y%m%d') | int }}
    {%- else -%}
        cast(pmod(xxhash64({{ rebuild['keys'][0] }}), {{ var('spark_rebuild_buckets', 32) }}) as int)
    {%- endif -%}
{%- endmacro %}


{#- The cached new rows of this run (the model's select), by model. -#}
{% macro spark_rebuilt_rows_view() -%}
    {{- return(this.identifier ~ '__rebuilt_rows') -}}
{%- endmacro %}


{% macro spark_release_rebuilt_rows() -%}
    uncache table if exists {{ spark_rebuilt_rows_view() }}
{%- endmacro %}


{#-
    dbt-spark's create_table_as (sql), with the partition column appended after the contract check when the
    model is rebuilt by key; one writer task per partition, so one file per partition.
-#}
{%- macro spark__create_table_as(temporary, relation, compiled_code, language='sql') -%}
    {%- set rebuild = config.get('spark_rebuild') -%}
    {%- if language != 'sql' or rebuild is none -%}
        {{ return(dbt.spark__create_table_as(temporary, relation, compiled_code, language)) }}
    {%- endif -%}
    {%- if temporary -%}
        {{ create_temporary_view(relation, spark_with_rebuild_bucket(compiled_code, rebuild, incremental=true)) }}
    {%- else -%}
        create table {{ relation }}
        {%- set contract_config = config.get('contract') -%}
        {%- if contract_config.enforced -%}
            {{ get_assert_columns_equivalent(compiled_code) }}
            {%- set compiled_code = get_select_subquery(compiled_code) %}
        {% endif %}
        {{ file_format_clause() }}
        {{ options_clause() }}
        {{ tblproperties_clause() }}
        {{ partition_cols(label="partitioned by") }}
        {{ location_clause() }}
        {{ comment_clause() }}
        as
        {{ spark_with_rebuild_bucket(compiled_code, rebuild, incremental=false) }}
        distribute by rebuild_bucket
    {%- endif -%}
{%- endmacro -%}


{% macro spark_with_rebuild_bucket(compiled_code, rebuild, incremental) -%}
    select
        model_rows.*,
        {{ spark_row_partition(rebuild, incremental) }} as rebuild_bucket
    from (
        {{ compiled_code }}
    ) as model_rows
{%- endmacro %}


{#-
    dbt-spark's insert_overwrite statement; for a model rebuilt by key, the rebuilt partitions whole:
    the new rows and the rows of the other keys in those partitions. The partitions are listed first
    (literals, so only their files are read); with none, the statement writes nothing.
-#}
{% macro get_insert_overwrite_sql(source_relation, target_relation, existing_relation) %}
    {%- set rebuild = config.get('spark_rebuild') -%}
    {%- set dest_columns = adapter.get_columns_in_relation(target_relation) -%}
    {%- set dest_cols_csv = dest_columns | map(attribute='quoted') | join(', ') -%}
    {%- if rebuild is none -%}
        insert overwrite table {{ target_relation }}
        {{ partition_cols(label="partition") }}
        select {{ dest_cols_csv }} from {{ source_relation }}
    {%- else -%}
        {%- set rows = spark_rebuilt_rows_view() -%}
        {%- do run_query('cache table ' ~ rows ~ ' as select * from ' ~ source_relation) -%}
        {%- set keys = spark_rebuilt_keys_sql(rebuild, rows, target_relation) -%}
        {%- set partitions = spark_query_partitions(spark_rebuilt_partitions_sql(rebuild, rows, keys, target_relation)) -%}
        {%- if partitions | length == 0 -%}
            select 'no partition to rewrite' as nothing_changed
        {%- else -%}
            {%- set kept = spark_kept_rows_sql(rebuild, keys, partitions, target_relation) -%}
            {%- do spark_drop_emptied_partitions(target_relation, rows, kept, partitions) -%}
            insert overwrite table {{ target_relation }} partition (rebuild_bucket)
            select {{ dest_cols_csv }} from (
                select {{ dest_cols_csv }} from {{ rows }}
                union all
                select {{ dest_cols_csv }} from ({{ kept }}) as kept_rows
            ) as rebuilt_partitions
            distribute by rebuild_bucket
        {%- endif -%}
    {%- endif -%}
{% endmacro %}


{#- The distinct partition values a query returns, as a list of integers. -#}
{% macro spark_query_partitions(sql) -%}
    {%- set result = run_query('select distinct rebuild_bucket from (' ~ sql ~ ') as listed where rebuild_bucket is not null') -%}
    {%- set values = [] -%}
    {%- for row in result.rows -%}
        {%- do values.append(row[0] | int) -%}
    {%- endfor -%}
    {{- return(values | sort) -}}
{%- endmacro %}


{#-
    The keys this run rebuilds: the keys of its new rows (delete+insert), the model's changed set when it
    has one (a key can end with no row), or every key of the table when the model is rebuilt whole on an
    incremental run (a daily mart after a change of reporting_timezone).
-#}
{% macro spark_rebuilt_keys_sql(rebuild, rows, target_relation) -%}
    {%- set key_list = rebuild['keys'] | join(', ') -%}
    select {{ key_list }} from {{ rows }}
    {%- if rebuild['keys_macro'] is not none %}
        union
        {%- if rebuilds_everything(rebuild['by_reporting_timezone']) %}
            select {{ key_list }} from {{ target_relation }}
        {%- else %}
            select * from ({{ context[rebuild['keys_macro']]() }}) as changed_keys
        {%- endif %}
    {%- endif %}
{%- endmacro %}


{% macro spark_key_match(left, right, keys) -%}
    {%- for key in keys -%}
        {{ left }}.{{ key }} = {{ right }}.{{ key }}{{ ' and ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}


{#- The partitions to rewrite: those of the new rows and those of the rebuilt keys' current rows. -#}
{% macro spark_rebuilt_partitions_sql(rebuild, rows, keys, target_relation) -%}
    select rebuild_bucket from {{ rows }}
    union
    select current_rows.rebuild_bucket
    from {{ target_relation }} as current_rows
    left semi join ({{ keys }}) as rebuilt_keys
        on {{ spark_key_match('current_rows', 'rebuilt_keys', rebuild['keys']) }}
{%- endmacro %}


{#- The rows already in those partitions whose key is not rebuilt. -#}
{% macro spark_kept_rows_sql(rebuild, keys, partitions, target_relation) -%}
    select current_rows.*
    from {{ target_relation }} as current_rows
    left anti join ({{ keys }}) as rebuilt_keys
        on {{ spark_key_match('current_rows', 'rebuilt_keys', rebuild['keys']) }}
    where current_rows.rebuild_bucket in ({{ partitions | join(', ') }})
{%- endmacro %}


{#-
    A partition to rewrite that ends with no row is not replaced by dynamic partition overwrite: drop it
    first. Its rows all belong to rebuilt keys, recomputed by this run (or by the next one if this one is
    killed), so nothing that cannot be rebuilt is lost. Only the partitions without a new row are checked.
-#}
{% macro spark_drop_emptied_partitions(target_relation, rows, kept, partitions) -%}
    {%- set with_new_rows = spark_query_partitions('select rebuild_bucket from ' ~ rows) -%}
    {%- set candidates = partitions | reject('in', with_new_rows) | list -%}
    {%- if candidates | length > 0 -%}
        {%- set with_kept_rows = spark_query_partitions(
            'select rebuild_bucket from (' ~ kept ~ ') as kept_rows where rebuild_bucket in ('
            ~ candidates | join(', ') ~ ')'
        ) -%}
        {%- set emptied = candidates | reject('in', with_kept_rows) | list -%}
        {%- if emptied | length > 0 -%}
            {%- set dropped = [] -%}
            {%- for bucket in emptied -%}
                {%- do dropped.append('partition (rebuild_bucket = ' ~ bucket ~ ')') -%}
            {%- endfor -%}
            {%- do run_query('alter table ' ~ target_relation ~ ' drop if exists ' ~ dropped | join(', ')) -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

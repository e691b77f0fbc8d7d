{#-
    Spec §6: one row per raw file (every file of the raw zone, also an empty
    one): lines read, staged (the line is the kept copy of its record),
    duplicates (a valid line whose record is staged from another line) and
    rejected. lines_read and rejected come from the raw lines, staged from the
    staging models; a valid line that is not staged is a duplicate, which the
    data test assert_every_valid_raw_record_is_staged proves (its record is
    staged from another line, never lost). Counting by file, without joining
    lines to records, keeps this model cheap on every incremental build.
-#}

{%- set sources = ['conversation_logs', 'orders', 'profiles'] -%}

with

log_lines as (

    select * from {{ ref('base_customer_agent__log_lines') }}

),

order_lines as (

    select * from {{ ref('base_shop__order_lines') }}

),

profile_lines as (

    select * from {{ ref('base_marketing__profile_lines') }}

),

staged_logs as (

    select * from {{ ref('stg_customer_agent__conversation_logs') }}

),

staged_orders as (

    select * from {{ ref('stg_shop__orders') }}

),

staged_profile_versions as (

    select * from {{ ref('stg_marketing__profile_versions') }}

),

raw_files as (

    select
        cast(null as varchar) as source,
        cast(null as varchar) as file_name
    where false
    {%- for source in sources %}
        {%- for file in list_raw_files(source) %}
    union all select '{{ source }}', {{ dbt.string_literal(file) }}
        {%- endfor %}
    {%- endfor %}

),

lines_by_file as (

    select
        'conversation_logs' as source,
        file_name,
        count(*) as lines_read,
        count(rejection_reason) as rejected
    from log_lines
    group by file_name

    union all

    select
        'orders' as source,
        file_name,
        count(*) as lines_read,
        count(rejection_reason) as rejected
    from order_lines
    group by file_name

    union all

    select
        'profiles' as source,
        file_name,
        count(*) as lines_read,
        count(rejection_reason) as rejected
    from profile_lines
    group by file_name

),

staged_by_file as (

    select
        'conversation_logs' as source,
        file_name,
        count(*) as staged
    from staged_logs
    group by file_name

    union all

    select
        'orders' as source,
        file_name,
        count(*) as staged
    from staged_orders
    group by file_name

    union all

    select
        'profiles' as source,
        file_name,
        count(*) as staged
    from staged_profile_versions
    group by file_name

),

final as (

    select
        coalesce(raw_files.source, lines_by_file.source) as source,
        coalesce(raw_files.file_name, lines_by_file.file_name) as file_name,
        cast(coalesce(lines_by_file.lines_read, 0) as bigint) as lines_read,
        cast(coalesce(staged_by_file.staged, 0) as bigint) as staged,
        cast(
            coalesce(lines_by_file.lines_read, 0)
            - coalesce(lines_by_file.rejected, 0)
            - coalesce(staged_by_file.staged, 0) as bigint
        ) as duplicates,
        cast(coalesce(lines_by_file.rejected, 0) as bigint) as rejected
    from raw_files
    full outer join lines_by_file
        on
            raw_files.source = lines_by_file.source
            and raw_files.file_name = lines_by_file.file_name
    left join staged_by_file
        on
            coalesce(raw_files.source, lines_by_file.source) = staged_by_file.source
            and coalesce(raw_files.file_name, lines_by_file.file_name) = staged_by_file.file_name

)

select * from final

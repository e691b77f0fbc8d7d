{#-
    Spec §6: one row per raw file. Each line read is counted in exactly one of
    staged (it is the kept copy of its record), duplicates (another line is
    the kept copy of the same record) or rejected. The three counts are
    derived independently, so a line that vanished between the raw zone and
    staging makes `lines_read <> staged + duplicates + rejected` and fails
    the data test on this model.
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
            union all
            select
                '{{ source }}',
                {{ dbt.string_literal(file) }}
        {%- endfor %}
    {%- endfor %}

),

log_line_outcomes as (

    select
        'conversation_logs' as source,
        log_lines.file_name,
        log_lines.rejection_reason is not null as is_rejected,
        staged_logs.file_name = log_lines.file_name
        and staged_logs.line_number = log_lines.line_number as is_staged,
        staged_logs.log_id is not null
        and not (staged_logs.file_name = log_lines.file_name and staged_logs.line_number = log_lines.line_number)
            as is_duplicate
    from log_lines
    left join staged_logs
        on
            log_lines.log_id = staged_logs.log_id
            and log_lines.rejection_reason is null

),

order_line_outcomes as (

    select
        'orders' as source,
        order_lines.file_name,
        order_lines.rejection_reason is not null as is_rejected,
        staged_orders.file_name = order_lines.file_name
        and staged_orders.line_number = order_lines.line_number as is_staged,
        staged_orders.order_id is not null
        and not (
            staged_orders.file_name = order_lines.file_name
            and staged_orders.line_number = order_lines.line_number
        ) as is_duplicate
    from order_lines
    left join staged_orders
        on
            order_lines.order_id = staged_orders.order_id
            and order_lines.rejection_reason is null

),

profile_line_outcomes as (

    select
        'profiles' as source,
        profile_lines.file_name,
        profile_lines.rejection_reason is not null as is_rejected,
        staged_profile_versions.file_name = profile_lines.file_name
        and staged_profile_versions.line_number = profile_lines.line_number as is_staged,
        staged_profile_versions.profile_id is not null
        and not (
            staged_profile_versions.file_name = profile_lines.file_name
            and staged_profile_versions.line_number = profile_lines.line_number
        ) as is_duplicate
    from profile_lines
    left join staged_profile_versions
        on
            profile_lines.profile_id = staged_profile_versions.profile_id
            and profile_lines.updated_at is not distinct from staged_profile_versions.updated_at
            and profile_lines.rejection_reason is null

),

line_outcomes as (

    select * from log_line_outcomes
    union all
    select * from order_line_outcomes
    union all
    select * from profile_line_outcomes

),

file_counts as (

    select
        source,
        file_name,
        count(*) as lines_read,
        count(*) filter (where is_staged) as staged,
        count(*) filter (where is_duplicate) as duplicates,
        count(*) filter (where is_rejected) as rejected
    from line_outcomes
    group by source, file_name

),

final as (

    select
        coalesce(raw_files.source, file_counts.source) as source,
        coalesce(raw_files.file_name, file_counts.file_name) as file_name,
        cast(coalesce(file_counts.lines_read, 0) as bigint) as lines_read,
        cast(coalesce(file_counts.staged, 0) as bigint) as staged,
        cast(coalesce(file_counts.duplicates, 0) as bigint) as duplicates,
        cast(coalesce(file_counts.rejected, 0) as bigint) as rejected
    from raw_files
    full outer join file_counts
        on
            raw_files.source = file_counts.source
            and raw_files.file_name = file_counts.file_name

)

select * from final

{#-
    Spec §6, nothing is lost: every valid raw line's record is staged, from
    this line or (a duplicate delivery) from another one. Rows returned are
    lost records. For conversation logs (an incremental staging) the check
    covers the data tests' scope (macros/tests/changed_rows.sql): the lines
    loaded since the last build whose tests passed and every line of the
    conversations staged since, i.e. everything on a full build and the
    increment on an incremental one; orders and profile versions the lines
    loaded since (their staging is rebuilt whole from the same lines on every
    build: a change of its rules calls for --full-refresh, which checks all).
-#}

with

raw_lines as (

    select * from {{ ref('raw_lines_classified') }}

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

valid_lines as {{ cte_materialization('inline') }} (

    select *
    from raw_lines
    where rejection_reason is null

),

rebuilt_conversations as (

    select distinct conversation_id
    from staged_logs
    where {{ in_data_tests_scope('processed_at') }}

),

checked_log_lines as (

    select *
    from valid_lines
    where
        source = 'conversation_logs'
        {%- if not data_tests_check_every_row() %}
            and (
                {{ in_data_tests_scope('loaded_at') }}
                or conversation_id in (select rebuilt_conversations.conversation_id from rebuilt_conversations)
            )
        {%- endif %}

),

lost_log_records as (

    select
        source,
        file_name,
        line_number
    from checked_log_lines
    where not exists (
        select 1 from staged_logs
        where staged_logs.log_id = checked_log_lines.record_key
    )

),

lost_orders as (

    select
        source,
        file_name,
        line_number
    from valid_lines
    where
        source = 'orders'
        and {{ in_data_tests_scope('loaded_at') }}
        and not exists (
            select 1 from staged_orders
            where staged_orders.order_id = valid_lines.record_key
        )

),

lost_profile_versions as (

    select
        source,
        file_name,
        line_number
    from valid_lines
    where
        source = 'profiles'
        and {{ in_data_tests_scope('loaded_at') }}
        and not exists (
            select 1 from staged_profile_versions
            where
                staged_profile_versions.profile_id = valid_lines.record_key
                and staged_profile_versions.updated_at is not distinct from valid_lines.record_version_at
        )

),

final as (

    select * from lost_log_records
    union all
    select * from lost_orders
    union all
    select * from lost_profile_versions

)

select * from final

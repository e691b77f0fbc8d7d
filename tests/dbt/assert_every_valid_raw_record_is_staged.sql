{#-
    Spec §6, nothing is lost: every valid raw line's record is staged, from
    this line or (a duplicate delivery) from another one. Rows returned are
    lost records. For conversation logs the check covers the lines loaded by
    the latest build and every line of the conversations it rebuilt, i.e.
    everything on a full build and the increment on an incremental one.
-#}

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

rebuilt_conversations as (

    select distinct staged_logs.conversation_id
    from staged_logs
    where staged_logs.processed_at = (select max(latest.processed_at) from staged_logs as latest)

),

checked_log_lines as (

    select *
    from log_lines
    where
        log_lines.rejection_reason is null
        and (
            log_lines.loaded_at = (select max(latest.loaded_at) from log_lines as latest)
            or log_lines.conversation_id in (select rebuilt_conversations.conversation_id from rebuilt_conversations)
        )

),

lost_log_records as (

    select
        'conversation_logs' as source,
        checked_log_lines.file_name,
        checked_log_lines.line_number
    from checked_log_lines
    anti join staged_logs
        on checked_log_lines.log_id = staged_logs.log_id

),

lost_orders as (

    select
        'orders' as source,
        order_lines.file_name,
        order_lines.line_number
    from order_lines
    anti join staged_orders
        on order_lines.order_id = staged_orders.order_id
    where order_lines.rejection_reason is null

),

lost_profile_versions as (

    select
        'profiles' as source,
        profile_lines.file_name,
        profile_lines.line_number
    from profile_lines
    anti join staged_profile_versions
        on
            profile_lines.profile_id = staged_profile_versions.profile_id
            and profile_lines.updated_at is not distinct from staged_profile_versions.updated_at
    where profile_lines.rejection_reason is null

),

final as (

    select * from lost_log_records
    union all
    select * from lost_orders
    union all
    select * from lost_profile_versions

)

select * from final

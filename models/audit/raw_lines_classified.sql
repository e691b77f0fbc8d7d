{{ config(materialized='view') }}

{#-
    Every raw line of the three sources in one relation (spec §6): where it comes
    from, whether it was rejected and why, and the key of its record. The one
    place where the three base models are put together, for
    audit.rejected_records, audit.reconciliation and the nothing-is-lost test.
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

unioned as (

    select
        'conversation_logs' as source,
        file_name,
        line_number,
        rejection_reason,
        rejected_field,
        rejection_detail,
        raw_line,
        log_id as record_key,
        cast(null as {{ dbt.type_timestamp() }}) as record_version_at,
        conversation_id,
        loaded_at
    from log_lines

    union all

    select
        'orders' as source,
        file_name,
        line_number,
        rejection_reason,
        rejected_field,
        rejection_detail,
        raw_line,
        order_id as record_key,
        cast(null as {{ dbt.type_timestamp() }}) as record_version_at,
        cast(null as {{ dbt.type_string() }}) as conversation_id,
        loaded_at
    from order_lines

    union all

    select
        'profiles' as source,
        file_name,
        line_number,
        rejection_reason,
        rejected_field,
        rejection_detail,
        raw_line,
        profile_id as record_key,
        updated_at as record_version_at,
        cast(null as {{ dbt.type_string() }}) as conversation_id,
        loaded_at
    from profile_lines

)

select * from unioned

{{ config(**engine_incremental_config('delete+insert', unique_key='conversation_id')) }}

{#-
    When each conversation was active, compactly and independent of the
    reporting time zone: one row per conversation and UTC hour in which it
    has at least one record, with the first and last record time of that
    hour. No time zone has more than one day boundary in an hour (days last
    23 to 25 hours), so the reporting days of a conversation's records are
    exactly the reporting days of these first and last times, in any zone.
    The daily marts take the days a changed conversation touches from here
    (macro changed_reporting_dates) instead of scanning its records.
-#}

with

conversation_logs as (

    select * from {{ ref('stg_customer_agent__conversation_logs') }}
    {%- if is_incremental() %}
    -- Every record of each conversation staging rebuilt since this model last ran (whole conversations).
    where processed_at > {{ processed_watermark() }}
    {%- endif %}

),

hourly as (

    select
        conversation_id,
        {{ dbt.date_trunc('hour', 'occurred_at') }} as activity_hour,
        min(occurred_at) as first_record_at,
        max(occurred_at) as last_record_at
    from conversation_logs
    group by 1, 2

),

final as (

    select
        conversation_id,
        cast(activity_hour as {{ dbt.type_timestamp() }}) as activity_hour,
        first_record_at,
        last_record_at,
        {{ run_started_timestamp() }} as processed_at
    from hourly

)

select * from final

{{ config(**engine_incremental_config('delete+insert', unique_key='conversation_id')) }}

{#-
    Spec §9, what counts as a skill invocation, in one place: a `skill`
    record that names a skill (any actor). Other record types that carry a
    skill, and skill records without one, are not invocations. Read by
    agg_skill_performance.
-#}

with

conversation_logs as (

    select * from {{ ref('stg_customer_agent__conversation_logs') }}
    {%- if is_incremental() %}
    -- Every record of each conversation staging rebuilt since this model last ran (whole conversations).
    where processed_at > {{ processed_watermark() }}
    {%- endif %}

),

final as (

    select
        log_id,
        conversation_id,
        skill,
        occurred_at as invoked_at,
        {{ run_started_timestamp() }} as processed_at
    from conversation_logs
    where
        record_type = 'skill'
        and skill is not null

)

select * from final

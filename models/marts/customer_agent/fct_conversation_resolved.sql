{{ config(**incremental_config('conversation_id', 'changed_conversation_ids')) }}

{#-
    Conversation with Customer Agent Resolved (spec §4.2): one row per change
    of the status to `resolved` by the agent before any escalation (the state
    machine lives in int_status_changes_detected).
-#}

with

status_changes as (

    select * from {{ ref('int_status_changes_detected') }}

),

identified as (

    -- The conversations changed since this model last ran (all of them on a full build).
    select * from {{ ref('int_conversations_identified') }}
    where {{ changed_since_watermark('processed_at') }}

),

final as (

    select
        {{ metric_event_id('resolved', 'status_changes.log_id') }} as event_id,
        status_changes.changed_at as resolved_at,
        status_changes.conversation_id,
        identified.profile_id,
        identified.channel,
        status_changes.active_skill as final_skill,
        status_changes.tags,
        -- Null when the conversation has no start; microsecond precision.
        cast(
            {{ dbt.datediff('identified.started_at', 'status_changes.changed_at', 'microsecond') }} as {{ double_type() }}  -- noqa: LT05
        ) / 1000000 as resolution_seconds
    from status_changes
    inner join identified
        on status_changes.conversation_id = identified.conversation_id
    where status_changes.is_customer_agent_resolution

)

select * from final

{{ config(**incremental_config('conversation_id', 'changed_conversation_ids')) }}

{#-
    Conversation with Customer Agent Escalated (spec §4.3): one row per change
    of the status to `escalated`, whoever made it.
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
        {{ metric_event_id('escalated', 'status_changes.log_id') }} as event_id,
        status_changes.changed_at as escalated_at,
        status_changes.conversation_id,
        identified.profile_id,
        identified.channel,
        coalesce(status_changes.escalation_reason, 'unspecified') as escalation_reason,
        status_changes.active_skill as skill,
        status_changes.tags
    from status_changes
    inner join identified
        on status_changes.conversation_id = identified.conversation_id
    where status_changes.status = 'escalated'

)

select * from final

{{ config(**incremental_config('conversation_id', 'changed_conversation_ids')) }}

{#-
    One row per conversation (spec §4): its profile and channel, start,
    activity bounds, message counts, skills and tags used, the number of each
    event it produced (counted from the facts, so they always agree) and its
    outcome: `escalated` if it was ever escalated; else `resolved_by_agent`
    if it has a Resolved event; else `resolved_by_human` if its status ever
    changed to `resolved` by another actor (a human, the system, the shopper
    or a missing actor); else `unresolved`.
-#}

with

conversations as (

    select * from {{ ref('int_conversations_aggregated') }}

),

identified as (

    -- The conversations changed since this model last ran (all of them on a full build).
    select * from {{ ref('int_conversations_identified') }}
    where {{ changed_since_watermark('processed_at') }}

),

status_changes as (

    select * from {{ ref('int_status_changes_detected') }}

),

resolutions as (

    select * from {{ ref('fct_conversation_resolved') }}

),

escalations as (

    select * from {{ ref('fct_conversation_escalated') }}

),

recommendations as (

    select * from {{ ref('fct_product_recommendation_received') }}

),

resolution_counts as (

    select
        conversation_id,
        count(*) as agent_resolution_count
    from resolutions
    where conversation_id in (select identified.conversation_id from identified)
    group by conversation_id

),

escalation_counts as (

    select
        conversation_id,
        count(*) as escalation_count
    from escalations
    where conversation_id in (select identified.conversation_id from identified)
    group by conversation_id

),

recommendation_counts as (

    select
        conversation_id,
        count(*) as recommendation_count
    from recommendations
    where conversation_id in (select identified.conversation_id from identified)
    group by conversation_id

),

other_actor_resolutions as (

    select distinct conversation_id
    from status_changes
    where
        conversation_id in (select identified.conversation_id from identified)
        and status = 'resolved'
        and actor is distinct from 'agent'

),

joined as (

    select
        conversations.conversation_id,
        identified.profile_id,
        conversations.channel,
        conversations.started_at,
        conversations.first_activity_at,
        conversations.last_activity_at,
        conversations.message_count,
        conversations.shopper_message_count,
        conversations.agent_message_count,
        conversations.skills,
        conversations.tags,
        cast(coalesce(recommendation_counts.recommendation_count, 0) as integer) as recommendation_count,
        cast(coalesce(escalation_counts.escalation_count, 0) as integer) as escalation_count,
        cast(coalesce(resolution_counts.agent_resolution_count, 0) as integer) as agent_resolution_count,
        other_actor_resolutions.conversation_id is not null as has_other_actor_resolution
    from conversations
    inner join identified
        on conversations.conversation_id = identified.conversation_id
    left join recommendation_counts
        on conversations.conversation_id = recommendation_counts.conversation_id
    left join escalation_counts
        on conversations.conversation_id = escalation_counts.conversation_id
    left join resolution_counts
        on conversations.conversation_id = resolution_counts.conversation_id
    left join other_actor_resolutions
        on conversations.conversation_id = other_actor_resolutions.conversation_id

),

final as (

    select
        conversation_id,
        profile_id,
        channel,
        started_at,
        first_activity_at,
        last_activity_at,
        message_count,
        shopper_message_count,
        agent_message_count,
        skills,
        tags,
        recommendation_count,
        escalation_count,
        agent_resolution_count,
        case
            when escalation_count > 0 then 'escalated'
            when agent_resolution_count > 0 then 'resolved_by_agent'
            when has_other_actor_resolution then 'resolved_by_human'
            else 'unresolved'
        end as outcome
    from joined

)

select * from final

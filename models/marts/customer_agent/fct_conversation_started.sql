{{ config(**incremental_config('conversation_id', 'changed_conversation_ids')) }}

{#-
    Started Conversation with Customer Agent (spec §4.1): one row per
    conversation with at least one shopper message, at the first one.
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

final as (

    select
        {{ metric_event_id('started', 'conversations.conversation_id') }} as event_id,
        conversations.started_at,
        conversations.conversation_id,
        identified.profile_id,
        conversations.channel,
        conversations.initial_skill,
        conversations.first_message
    from conversations
    inner join identified
        on conversations.conversation_id = identified.conversation_id
    where conversations.started_at is not null

)

select * from final

{#-
    Started Conversation with Customer Agent (spec §4.1): one row per
    conversation with at least one shopper message, at the first one.
-#}

with

conversations as (

    select * from {{ ref('int_conversations_aggregated') }}

),

identified as (

    select * from {{ ref('int_conversations_identified') }}

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

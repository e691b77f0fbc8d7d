{{ config(**incremental_config('conversation_id', 'changed_conversation_ids')) }}

{#-
    Spec §9, attribution touches: one row per staged log record with
    `actor = agent` (any record type) in an identified conversation, with the
    conversation's profile and channel and the attribution window of that
    channel from the seed `attribution_windows`. A conversation whose channel
    is null, or whose channel has no row in the seed, uses the window of
    `other`. Anonymous conversations have no touches.
-#}

with

conversation_logs as (

    select * from {{ ref('stg_customer_agent__conversation_logs') }}

),

identified as (

    -- The conversations changed since this model last ran (all of them on a full build).
    select * from {{ ref('int_conversations_identified') }}
    where {{ changed_since_watermark('processed_at') }}

),

attribution_windows as (

    select * from {{ ref('attribution_windows') }}

),

agent_records as (

    select
        log_id,
        conversation_id,
        occurred_at
    from conversation_logs
    where
        actor = 'agent'
        and conversation_id in (select identified.conversation_id from identified)

),

identified_conversations as (

    select
        identified.conversation_id,
        identified.profile_id,
        identified.channel,
        coalesce(channel_windows.window_hours, other_window.window_hours) as window_hours
    from identified
    left join attribution_windows as channel_windows
        on identified.channel = channel_windows.channel
    left join attribution_windows as other_window
        on other_window.channel = 'other'
    where identified.profile_id is not null

),

final as (

    select
        agent_records.log_id,
        agent_records.conversation_id,
        identified_conversations.profile_id,
        identified_conversations.channel,
        agent_records.occurred_at as touch_at,
        cast(identified_conversations.window_hours as integer) as window_hours
    from agent_records
    inner join identified_conversations
        on agent_records.conversation_id = identified_conversations.conversation_id

)

select * from final

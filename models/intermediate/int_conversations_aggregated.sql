{{
    config(
        materialized='incremental',
        unique_key='conversation_id',
        incremental_strategy='delete+insert',
    )
}}

{#-
    One row per conversation with everything derived from its own records
    (spec §3, §4), ordered by occurred_at then log_id: the identifiers seen
    first (for int_conversations_identified), the conversation's channel, its
    start (first shopper message), its initial skill, activity bounds and
    counts. Profiles are resolved in int_conversations_identified because the
    current state of profiles changes independently of the logs.
-#}

with

conversation_logs as (

    {{ touched_conversation_logs() }}

),

flagged as (

    select
        *,
        record_type = 'message' and actor = 'shopper' as is_shopper_message
    from conversation_logs

),

aggregated as (

    select
        conversation_id,
        first(profile_id order by occurred_at, log_id) filter (where profile_id is not null) as first_profile_id,
        first(email order by occurred_at, log_id) filter (where email is not null) as first_email,
        first(phone_number order by occurred_at, log_id) filter (where phone_number is not null) as first_phone_number,
        first(channel order by occurred_at, log_id) filter (where is_shopper_message) as first_shopper_message_channel,
        first(channel order by occurred_at, log_id) filter (where channel is not null) as first_record_channel,
        first(log_id order by occurred_at, log_id) filter (where is_shopper_message) as first_shopper_message_log_id,
        min(occurred_at) filter (where is_shopper_message) as started_at,
        first(message_text order by occurred_at, log_id) filter (where is_shopper_message) as first_message,
        first(skill order by occurred_at, log_id)
        filter (where record_type = 'skill' and skill is not null) as initial_skill,
        min(occurred_at) as first_activity_at,
        max(occurred_at) as last_activity_at,
        count(*) as record_count,
        count(*) filter (where record_type = 'message') as message_count,
        count(*) filter (where is_shopper_message) as shopper_message_count,
        count(*) filter (where record_type = 'message' and actor = 'agent') as agent_message_count,
        count(*) filter (where record_type = 'message' and actor = 'human') as human_message_count,
        list_sort(list_distinct(list(skill) filter (where record_type = 'skill'))) as skills,
        list_sort(list_distinct(flatten(list(tags) filter (where record_type = 'tag')))) as tags
    from flagged
    group by conversation_id

),

final as (

    select
        conversation_id,
        first_profile_id,
        first_email,
        first_phone_number,
        -- Spec §3: the channel of the first shopper message when it carries
        -- one, else the channel of the earliest record that carries one.
        coalesce(first_shopper_message_channel, first_record_channel) as channel,
        first_shopper_message_log_id,
        started_at,
        first_message,
        initial_skill,
        first_activity_at,
        last_activity_at,
        cast(record_count as integer) as record_count,
        cast(message_count as integer) as message_count,
        cast(shopper_message_count as integer) as shopper_message_count,
        cast(agent_message_count as integer) as agent_message_count,
        cast(human_message_count as integer) as human_message_count,
        coalesce(skills, []) as skills,
        coalesce(tags, []) as tags,
        {{ run_started_timestamp() }} as processed_at
    from aggregated

)

select * from final

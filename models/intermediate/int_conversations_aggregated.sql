{{ config(**engine_incremental_config('delete+insert', unique_key='conversation_id')) }}

{#-
    One row per conversation with everything derived from its own records
    (spec §3, §4), ordered by occurred_at then log_id: the identifiers seen
    first (for int_conversations_identified), the conversation's channel, its
    start (first shopper message), its initial skill, activity bounds and
    counts. Profiles are resolved in int_conversations_identified because the
    current state of profiles changes independently of the logs.
-#}

{#- Spec §4: order within a conversation is by occurred_at, then log_id. -#}
{%- set first_in_conversation = 'occurred_at, ' ~ bytewise('log_id') %}

with

conversation_logs as (

    select * from {{ ref('stg_customer_agent__conversation_logs') }}
    {%- if is_incremental() %}
    -- Every record of each conversation staging rebuilt since this model last ran (whole conversations).
    where processed_at > {{ processed_watermark() }}
    {%- endif %}

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
        {{ first_agg('profile_id', first_in_conversation, 'profile_id is not null') }} as first_profile_id,
        {{ first_agg('email', first_in_conversation, 'email is not null') }} as first_email,
        {{ first_agg('phone_number', first_in_conversation, 'phone_number is not null') }} as first_phone_number,
        {{ first_agg('channel', first_in_conversation, 'is_shopper_message') }} as first_shopper_message_channel,
        {{ first_agg('channel', first_in_conversation, 'channel is not null') }} as first_record_channel,
        {{ first_agg('log_id', first_in_conversation, 'is_shopper_message') }} as first_shopper_message_log_id,
        min(occurred_at) filter (where is_shopper_message) as started_at,
        {{ first_agg('message_text', first_in_conversation, 'is_shopper_message') }} as first_message,
        {{ first_agg('skill', first_in_conversation, "record_type = 'skill' and skill is not null") }} as initial_skill,
        min(occurred_at) as first_activity_at,
        max(occurred_at) as last_activity_at,
        count(*) as record_count,
        count(*) filter (where record_type = 'message') as message_count,
        count(*) filter (where is_shopper_message) as shopper_message_count,
        count(*) filter (where record_type = 'message' and actor = 'agent') as agent_message_count,
        count(*) filter (where record_type = 'message' and actor = 'human') as human_message_count,
        {{ sorted_distinct_agg('skill', "record_type = 'skill'") }} as skills,
        {{ sorted_distinct_flatten_agg('tags', "record_type = 'tag'") }} as tags
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
        coalesce(skills, {{ empty_string_list() }}) as skills,
        coalesce(tags, {{ empty_string_list() }}) as tags,
        {{ run_started_timestamp() }} as processed_at
    from aggregated

)

select * from final

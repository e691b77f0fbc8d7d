{{ config(**engine_incremental_config(
    'delete+insert', unique_key='conversation_id', post_hook="{{ record_watermark() }}"
)) }}

{#-
    The current identity of every conversation (spec §3-§4): its profile, channel and start,
    what every event of the conversation carries, so the facts and the touches join this one
    model. The latest row of each conversation in int_conversations_changed (where the rule
    lives); `processed_at` is the build that last changed the conversation, the changed set of
    the conversation-grain marts.
-#}

with

conversation_changes as (

    select * from {{ ref('int_conversations_changed') }}
    where {{ changed_since_watermark('processed_at') }}

),

ranked_changes as (

    select
        *,
        row_number() over (partition by conversation_id order by processed_at desc) as recency_rank
    from conversation_changes

),

final as (

    select
        conversation_id,
        profile_id,
        identified_by,
        channel,
        started_at,
        processed_at
    from ranked_changes
    where recency_rank = 1

)

select * from final

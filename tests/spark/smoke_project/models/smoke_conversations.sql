{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite',
        partition_by=['bucket'],
    )
}}

{#-
    Conversation grain, partitioned by a stable hash bucket of the conversation. An incremental run rebuilds
    the buckets of the conversations that got new events from the old rows of those buckets (its own table)
    plus the new events: insert_overwrite replaces exactly those buckets.
-#}

with

events as (

    select * from {{ ref('smoke_events') }}

),

{% if is_incremental() %}

previous as (

    select * from {{ this }}

),

{% endif %}

new_events as (

    select
        conversation_id,
        event_at as first_event_at,
        event_at as last_event_at,
        tags,
        pmod(xxhash64(conversation_id), 4) as bucket
    from events
    {% if is_incremental() %}
        where loaded_batch = {{ var('batch') }}
    {% endif %}

),

{% if is_incremental() %}

kept as (

    select
        conversation_id,
        first_event_at,
        last_event_at,
        tags,
        bucket
    from previous
    where bucket in (select bucket from new_events)

),

{% endif %}

combined as (

    select * from new_events
    {% if is_incremental() %}
        union all
        select * from kept
    {% endif %}

),

final as (

    select
        conversation_id,
        min(first_event_at) as first_event_at,
        max(last_event_at) as last_event_at,
        array_sort(array_distinct(flatten(collect_list(tags)))) as tags,
        bucket
    from combined
    group by conversation_id, bucket

)

select * from final

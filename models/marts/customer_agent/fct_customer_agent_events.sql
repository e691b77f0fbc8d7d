{{ config(**incremental_config('conversation_id', 'changed_conversation_ids')) }}

{#-
    The activity feed (spec §4): the four metric event facts in one relation,
    one row per event, named with the metric names of the seed
    customer_agent_metrics (English and Italian). Every property of every
    fact is a column, null where it does not apply to the metric.
-#}

with

started as (

    select * from {{ ref('fct_conversation_started') }}

),

resolved as (

    select * from {{ ref('fct_conversation_resolved') }}

),

escalated as (

    select * from {{ ref('fct_conversation_escalated') }}

),

recommendations as (

    select * from {{ ref('fct_product_recommendation_received') }}

),

metrics as (

    select * from {{ ref('customer_agent_metrics') }}

),

changed_conversations as (

    -- The conversations changed since this model last ran (all of them on a full build).
    select conversation_id from {{ ref('int_conversations_identified') }}
    where {{ changed_since_watermark('processed_at') }}

),

events as (

    select
        event_id,
        'started' as metric_key,
        started_at as event_at,
        conversation_id,
        profile_id,
        channel,
        initial_skill,
        first_message,
        cast(null as {{ string_type() }}) as final_skill,
        cast(null as {{ string_type() }}) as skill,
        cast(null as {{ string_type() }}) as escalation_reason,
        cast(null as {{ string_list_type() }}) as tags,
        cast(null as {{ double_type() }}) as resolution_seconds,
        cast(null as {{ string_list_type() }}) as products,
        cast(null as integer) as product_count,
        cast(null as {{ string_type() }}) as format
    from started
    where conversation_id in (select changed_conversations.conversation_id from changed_conversations)

    union all

    select
        event_id,
        'resolved' as metric_key,
        resolved_at as event_at,
        conversation_id,
        profile_id,
        channel,
        null as initial_skill,
        null as first_message,
        final_skill,
        null as skill,
        null as escalation_reason,
        tags,
        resolution_seconds,
        null as products,
        null as product_count,
        null as format
    from resolved
    where conversation_id in (select changed_conversations.conversation_id from changed_conversations)

    union all

    select
        event_id,
        'escalated' as metric_key,
        escalated_at as event_at,
        conversation_id,
        profile_id,
        channel,
        null as initial_skill,
        null as first_message,
        null as final_skill,
        skill,
        escalation_reason,
        tags,
        null as resolution_seconds,
        null as products,
        null as product_count,
        null as format
    from escalated
    where conversation_id in (select changed_conversations.conversation_id from changed_conversations)

    union all

    select
        event_id,
        'recommendation' as metric_key,
        recommended_at as event_at,
        conversation_id,
        profile_id,
        channel,
        null as initial_skill,
        null as first_message,
        null as final_skill,
        null as skill,
        null as escalation_reason,
        null as tags,
        null as resolution_seconds,
        products,
        product_count,
        format
    from recommendations
    where conversation_id in (select changed_conversations.conversation_id from changed_conversations)

),

final as (

    select
        events.event_id,
        metrics.metric_name,
        metrics.metric_name_it,
        events.event_at,
        events.conversation_id,
        events.profile_id,
        events.channel,
        events.initial_skill,
        events.first_message,
        events.final_skill,
        events.skill,
        events.escalation_reason,
        events.tags,
        events.resolution_seconds,
        events.products,
        events.product_count,
        events.format
    from events
    left join metrics
        on events.metric_key = metrics.metric_key

)

select * from final

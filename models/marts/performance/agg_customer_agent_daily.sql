{{ config(**incremental_config('reporting_date', 'changed_daily_keys', by_reporting_timezone=true)) }}

{#-
    Spec §9, the resolution and revenue lenses of the dashboard: one row per
    reporting day × channel, the day taken in the time zone of the var
    `reporting_timezone` (macro to_reporting_date). Each measure is counted on
    the day of its own event: starts on started_at, resolutions on
    resolved_at, escalations on escalated_at, recommendations on
    recommended_at, attributed orders on placed_at (under the channel of the
    conversation they are attributed to). The resolution rate is a cohort
    rate: of the conversations started that day, the share whose outcome in
    dim_conversations is `resolved_by_agent`, whenever that resolution happened.
    A row exists for every day × channel with at least one non-zero measure.
    A null channel (no record of the conversation carried one) stays null, as
    in the facts.
-#}

with

conversations_started as (

    select * from {{ ref('fct_conversation_started') }}

),

conversations as (

    select * from {{ ref('dim_conversations') }}

),

conversations_resolved as (

    select * from {{ ref('fct_conversation_resolved') }}

),

conversations_escalated as (

    select * from {{ ref('fct_conversation_escalated') }}

),

recommendations as (

    select * from {{ ref('fct_product_recommendation_received') }}

),

attributed_orders as (

    select * from {{ ref('fct_attributed_orders') }}

),

conversation_changes as (

    select * from {{ ref('int_conversations_changed') }}

),

activity_hours as (

    select * from {{ ref('int_activity_hours_aggregated') }}

),

order_changes as (

    select * from {{ ref('int_orders_changed') }}

),

changed_reporting_dates as (

    -- The days this run recomputes (every day on a full build or after a change of reporting_timezone).
    {{ changed_reporting_dates('conversation_changes', 'activity_hours', 'order_changes') }}

),

started_daily as (

    select
        {{ to_reporting_date('conversations_started.started_at') }} as reporting_date,
        conversations_started.channel,
        count(*) as conversations_started,
        count(*) filter (where conversations.outcome = 'resolved_by_agent') as started_conversations_resolved_by_agent
    from conversations_started
    left join conversations
        on conversations_started.conversation_id = conversations.conversation_id
    where {{ in_changed_reporting_dates('conversations_started.started_at') }}
    group by 1, 2

),

resolved_daily as (

    select
        {{ to_reporting_date('resolved_at') }} as reporting_date,
        channel,
        count(distinct conversation_id) as conversations_resolved_by_agent
    from conversations_resolved
    where {{ in_changed_reporting_dates('resolved_at') }}
    group by 1, 2

),

escalated_daily as (

    select
        {{ to_reporting_date('escalated_at') }} as reporting_date,
        channel,
        count(distinct conversation_id) as conversations_escalated
    from conversations_escalated
    where {{ in_changed_reporting_dates('escalated_at') }}
    group by 1, 2

),

recommendations_daily as (

    select
        {{ to_reporting_date('recommended_at') }} as reporting_date,
        channel,
        count(*) as recommendations,
        sum(product_count) as products_recommended
    from recommendations
    where {{ in_changed_reporting_dates('recommended_at') }}
    group by 1, 2

),

orders_daily as (

    select
        {{ to_reporting_date('placed_at') }} as reporting_date,
        channel,
        count(*) as attributed_orders,
        sum(value) as ai_generated_sales
    from attributed_orders
    where {{ in_changed_reporting_dates('placed_at') }}
    group by 1, 2

),

daily_measures as (

    {{ union_all_by_name({
        'started_daily': ['conversations_started', 'started_conversations_resolved_by_agent'],
        'resolved_daily': ['conversations_resolved_by_agent'],
        'escalated_daily': ['conversations_escalated'],
        'recommendations_daily': ['recommendations', 'products_recommended'],
        'orders_daily': ['attributed_orders', 'ai_generated_sales'],
    }, key_columns=['reporting_date', 'channel']) }}

),

combined as (

    -- One row per day × channel (a null channel is one group).
    select
        reporting_date,
        channel,
        coalesce(sum(conversations_started), 0) as conversations_started,
        coalesce(sum(started_conversations_resolved_by_agent), 0) as started_conversations_resolved_by_agent,
        coalesce(sum(conversations_resolved_by_agent), 0) as conversations_resolved_by_agent,
        coalesce(sum(conversations_escalated), 0) as conversations_escalated,
        coalesce(sum(recommendations), 0) as recommendations,
        coalesce(sum(products_recommended), 0) as products_recommended,
        coalesce(sum(attributed_orders), 0) as attributed_orders,
        coalesce(sum(ai_generated_sales), 0) as ai_generated_sales
    from daily_measures
    group by 1, 2

),

final as (

    select
        reporting_date,
        channel,
        cast(conversations_started as integer) as conversations_started,
        cast(conversations_resolved_by_agent as integer) as conversations_resolved_by_agent,
        cast(conversations_escalated as integer) as conversations_escalated,
        cast(started_conversations_resolved_by_agent as integer) as started_conversations_resolved_by_agent,
        cast(started_conversations_resolved_by_agent as {{ double_type() }})
        / nullif(conversations_started, 0) as resolution_rate,
        cast(recommendations as integer) as recommendations,
        cast(products_recommended as integer) as products_recommended,
        cast(attributed_orders as integer) as attributed_orders,
        cast(ai_generated_sales as {{ money_total_type() }}) as ai_generated_sales,
        {{ money_ratio('ai_generated_sales', 'attributed_orders') }} as average_order_value
    from combined

)

select * from final

{{ config(**incremental_config('order_id', 'changed_order_ids')) }}

{#-
    Spec §9, last-touch attribution of orders to Customer Agent conversations.
    A touch at `touch_at` covers the orders of the same profile placed in
    [touch_at, touch_at + window): from the order's side, the touch lies in
    the last `window_hours` before `placed_at`, the half-open interval
    (placed_at - window, placed_at] the spec uses for "in the last N days
    before as_of". The order goes to the conversation of the latest covering
    touch; touches at the same instant: the later log_id wins. At most one
    conversation per order.

    No range join: touches with the same window length form one ASOF stream
    per profile. For each order and each distinct window length, the ASOF
    join finds the latest touch at or before placed_at; if it does not cover
    the order, no earlier touch with that window does either. The latest
    covering instant wins; the covering touches of the profile at that
    instant are then fetched by equality to break ties on log_id (the ASOF
    join returns one of several touches at the same instant, not a chosen one).
-#}

with

order_changes as (

    -- The orders whose attribution can have changed since this model last ran (all on a full build).
    select * from {{ ref('int_orders_changed') }}
    where {{ changed_since_watermark('processed_at') }}

),

matched_orders as (

    select * from {{ ref('int_orders_matched_to_profiles') }}

),

agent_touches as (

    select * from {{ ref('int_agent_touches_windowed') }}

),

orders as (

    select *
    from matched_orders
    where {{ in_changed_set('order_id', 'order_changes') }}

),

touches as (

    -- Only the touches of the profiles of those orders.
    select *
    from agent_touches
    where profile_id in (select orders.profile_id from orders)

),

window_lengths as (

    select distinct window_hours
    from touches
    where window_hours is not null

),

order_windows as (

    select
        orders.order_id,
        orders.profile_id,
        orders.placed_at,
        window_lengths.window_hours
    from orders
    cross join window_lengths
    where orders.profile_id is not null

),

latest_touch_instants as (

    {{ asof_join(
        left='order_windows',
        right='touches',
        by=['profile_id', 'window_hours'],
        left_time='placed_at',
        right_time='touch_at',
        right_columns={'touch_at': 'touch_at'},
        left_key=['order_id', 'window_hours'],
        join_type='inner',
    ) }}

),

covering_instants as (

    -- The window rule, in one place: the touch instant covers the order.
    select *
    from latest_touch_instants
    where placed_at < {{ dbt.dateadd('hour', 'window_hours', 'touch_at') }}

),

ranked_covering_instants as (

    -- The latest covering instant; several window lengths can share it.
    select
        order_id,
        profile_id,
        window_hours,
        touch_at,
        rank() over (partition by order_id order by touch_at desc) as instant_rank
    from covering_instants

),

last_covering_instants as (

    select
        order_id,
        profile_id,
        window_hours,
        touch_at
    from ranked_covering_instants
    where instant_rank = 1

),

touches_at_last_instants as (

    select
        last_covering_instants.order_id,
        touches.conversation_id,
        touches.channel,
        touches.touch_at,
        row_number() over (
            partition by last_covering_instants.order_id
            order by {{ bytewise('touches.log_id') }} desc
        ) as touch_rank
    from last_covering_instants
    inner join touches
        on
            last_covering_instants.profile_id = touches.profile_id
            and last_covering_instants.window_hours = touches.window_hours
            and last_covering_instants.touch_at = touches.touch_at

),

last_touches as (

    select
        order_id,
        conversation_id,
        channel,
        touch_at
    from touches_at_last_instants
    where touch_rank = 1

),

final as (

    select
        orders.order_id,
        orders.profile_id,
        orders.placed_at,
        cast(orders.order_value as {{ money_type() }}) as value,
        orders.currency,
        last_touches.conversation_id,
        last_touches.channel,
        last_touches.touch_at,
        cast(
            {{ dbt.datediff('last_touches.touch_at', 'orders.placed_at', 'millisecond') }} as {{ double_type() }}  -- noqa: LT05
        ) / 3600000 as hours_since_touch
    from last_touches
    inner join orders
        on last_touches.order_id = orders.order_id

)

select * from final

{{ config(**engine_incremental_config('append', post_hook="{{ record_watermark() }}")) }}

{#-
    The changed-orders log: one row per order per build in which its attribution (spec §9) or
    its profile (spec §3) can have changed, with its profile after and before (the previous row
    of the order here). Append-only, like int_conversations_changed, so a mart that missed builds
    sees every change since its own watermark. An order can change when:
    - it is new (or delivered again: staging keeps the first delivery);
    - a conversation of its profile changed (new touches, a new channel and so window, a
      conversation re-identified to or away from the profile);
    - it has no profile_id and its email is a contact of a profile that received a new version
      (the email may now belong to another profile).
    On a full build every order.
-#}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

matched_orders as (

    select * from {{ ref('int_orders_matched_to_profiles') }}

),

conversation_changes as (

    select * from {{ ref('int_conversations_changed') }}
    where {{ changed_since_watermark('processed_at') }}

),

profile_versions as (

    select * from {{ ref('stg_marketing__profile_versions') }}

),

previous_changes as (

    {%- if is_incremental() %}
    select * from {{ this }}
    {%- else %}
        -- A full build: no earlier change.
        select
            order_id,
            cast(null as {{ string_type() }}) as profile_id,
            cast(null as {{ dbt.type_timestamp() }}) as processed_at
        from matched_orders
        where false
    {%- endif %}

),

new_orders as (

    select order_id
    from orders
    where {{ changed_since_watermark('loaded_at') }}

),

touched_profiles as (

    select profile_id
    from conversation_changes
    where profile_id is not null

    union

    select previous_profile_id as profile_id
    from conversation_changes
    where previous_profile_id is not null

),

reprofiled_emails as (

    -- Every email of any version of the profiles that received a version.
    select distinct email
    from profile_versions
    where
        email is not null
        and profile_id in (
            select new_versions.profile_id from profile_versions as new_versions
            where {{ changed_since_watermark('new_versions.loaded_at') }}
        )

),

candidates as (

    select order_id from new_orders

    union

    select order_id
    from matched_orders
    where profile_id in (select touched_profiles.profile_id from touched_profiles)

    union

    select order_id
    from orders
    where
        profile_id is null
        and email in (select reprofiled_emails.email from reprofiled_emails)

),

ranked_previous_changes as (

    select
        *,
        row_number() over (partition by order_id order by processed_at desc) as recency_rank
    from previous_changes
    where order_id in (select candidates.order_id from candidates)

),

previous_state as (

    select *
    from ranked_previous_changes
    where recency_rank = 1

),

final as (

    select
        matched_orders.order_id,
        matched_orders.placed_at,
        matched_orders.profile_id,
        previous_state.profile_id as previous_profile_id,
        {{ run_started_timestamp() }} as processed_at
    from matched_orders
    inner join candidates
        on matched_orders.order_id = candidates.order_id
    left join previous_state
        on matched_orders.order_id = previous_state.order_id

)

select * from final

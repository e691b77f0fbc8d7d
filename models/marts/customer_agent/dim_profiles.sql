{{ config(**incremental_config('profile_id', 'changed_profile_ids')) }}

{#-
    One row per profile (spec §5): every profile of the marketing platform and every profile_id
    a conversation or an order carries, with its current contact fields and consents (null when
    the platform has no version of it), its conversations (first and last activity, started,
    escalated, resolved by the agent, recommendations received), its last order and the sales
    attributed to the Customer Agent (spec §9). Segments read profiles from here.
    Incremental by profile_id: a run rebuilds the profiles whose conversations, orders or
    versions changed since it last ran.
-#}

with

profiles as (

    select * from {{ ref('stg_marketing__profiles') }}

),

conversations as (

    select * from {{ ref('dim_conversations') }}

),

matched_orders as (

    select * from {{ ref('int_orders_matched_to_profiles') }}

),

attributed_orders as (

    select * from {{ ref('fct_attributed_orders') }}

),

conversation_changes as (

    select * from {{ ref('int_conversations_changed') }}

),

order_changes as (

    select * from {{ ref('int_orders_changed') }}

),

profile_versions as (

    select * from {{ ref('stg_marketing__profile_versions') }}

),

changed_profiles as (

    -- The profiles this run rebuilds (every profile on a full build).
    {{ changed_profiles('conversation_changes', 'order_changes', 'profile_versions') }}

),

profile_ids as (

    select profile_id from profiles
    where profile_id in (select changed_profiles.profile_id from changed_profiles)

    union

    select profile_id from conversations
    where profile_id in (select changed_profiles.profile_id from changed_profiles)

    union

    select profile_id from matched_orders
    where profile_id in (select changed_profiles.profile_id from changed_profiles)

),

conversations_per_profile as (

    select
        profile_id,
        min(first_activity_at) as first_conversation_at,
        max(last_activity_at) as last_conversation_at,
        count(*) as conversations,
        count(started_at) as conversations_started,
        count(*) filter (where escalation_count > 0) as conversations_escalated,
        count(*) filter (where outcome = 'resolved_by_agent') as conversations_resolved_by_agent,
        sum(recommendation_count) as recommendations_received
    from conversations
    where profile_id in (select profile_ids.profile_id from profile_ids)
    group by profile_id

),

orders_per_profile as (

    select
        profile_id,
        count(*) as orders,
        max(placed_at) as last_order_at
    from matched_orders
    where profile_id in (select profile_ids.profile_id from profile_ids)
    group by profile_id

),

sales_per_profile as (

    select
        profile_id,
        count(*) as attributed_orders,
        sum(value) as attributed_sales
    from attributed_orders
    where profile_id in (select profile_ids.profile_id from profile_ids)
    group by profile_id

),

final as (

    select
        profile_ids.profile_id,
        profiles.email,
        profiles.phone_number,
        profiles.email_consent,
        profiles.sms_consent,
        profiles.updated_at as profile_updated_at,
        conversations_per_profile.first_conversation_at,
        conversations_per_profile.last_conversation_at,
        cast(coalesce(conversations_per_profile.conversations, 0) as integer) as conversations,
        cast(coalesce(conversations_per_profile.conversations_started, 0) as integer) as conversations_started,
        cast(coalesce(conversations_per_profile.conversations_escalated, 0) as integer) as conversations_escalated,
        cast(
            coalesce(conversations_per_profile.conversations_resolved_by_agent, 0) as integer
        ) as conversations_resolved_by_agent,
        cast(coalesce(conversations_per_profile.recommendations_received, 0) as integer) as recommendations_received,
        cast(coalesce(orders_per_profile.orders, 0) as integer) as orders,
        orders_per_profile.last_order_at,
        cast(coalesce(sales_per_profile.attributed_orders, 0) as integer) as attributed_orders,
        cast(coalesce(sales_per_profile.attributed_sales, 0) as {{ money_total_type() }}) as attributed_sales
    from profile_ids
    left join profiles
        on profile_ids.profile_id = profiles.profile_id
    left join conversations_per_profile
        on profile_ids.profile_id = conversations_per_profile.profile_id
    left join orders_per_profile
        on profile_ids.profile_id = orders_per_profile.profile_id
    left join sales_per_profile
        on profile_ids.profile_id = sales_per_profile.profile_id

)

select * from final

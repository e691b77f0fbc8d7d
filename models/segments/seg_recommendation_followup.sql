{#-
    Spec §5, seg_recommendation_followup: the retargeting flow. The latest
    recommendation t of each identified profile at or before as_of is due
    when as_of - followup_window_days < t <= as_of - followup_delay_hours,
    no order was placed in [t, as_of], and the profile's current email
    consent is `subscribed`. Two recommendations at the same latest instant:
    the smallest conversation_id, then event_id, is the one followed up.
-#}

with

recommendations as (

    select * from {{ ref('fct_product_recommendation_received') }}

),

orders as (

    select * from {{ ref('int_orders_matched_to_profiles') }}

),

profiles as (

    select * from {{ ref('dim_profiles') }}

),

ranked_recommendations as (

    select
        profile_id,
        conversation_id,
        event_id,
        recommended_at,
        products,
        row_number() over (
            partition by profile_id
            order by {{ segment_latest_first('recommended_at') }}
        ) as recency_rank
    from recommendations
    where
        profile_id is not null
        and recommended_at <= {{ segment_as_of() }}

),

latest_recommendations as (

    select
        profile_id,
        conversation_id,
        recommended_at,
        products
    from ranked_recommendations
    where recency_rank = 1

),

due_recommendations as (

    select *
    from latest_recommendations
    where
        recommended_at > {{ segment_as_of_minus('followup_window_days') }}
        and recommended_at <= {{ segment_as_of_minus('followup_delay_hours') }}

),

purchasers as (

    select distinct due_recommendations.profile_id
    from due_recommendations
    inner join orders
        on
            due_recommendations.profile_id = orders.profile_id
            and {{ segment_purchased_since('orders.placed_at', 'due_recommendations.recommended_at') }}

),

final as (

    select
        due_recommendations.profile_id,
        profiles.email,
        profiles.phone_number,
        profiles.email_consent,
        profiles.sms_consent,
        due_recommendations.conversation_id,
        due_recommendations.recommended_at,
        due_recommendations.recommended_at + {{ segment_interval('followup_delay_hours') }} as followup_due_at,
        cast(due_recommendations.products as {{ string_list_type() }}) as products,
        {{ segment_as_of() }} as evaluated_as_of
    from due_recommendations
    inner join profiles
        on due_recommendations.profile_id = profiles.profile_id
    left join purchasers
        on due_recommendations.profile_id = purchasers.profile_id
    where
        profiles.email_consent = 'subscribed'
        and purchasers.profile_id is null

)

select * from final

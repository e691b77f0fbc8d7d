{#-
    Spec §5, seg_recommended_not_purchased: identified profiles whose latest
    recommendation t in (as_of - recommendation_lookback_days, as_of] was
    followed by no order placed in [t, as_of].
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

recommendations_in_window as (

    select
        profile_id,
        recommended_at,
        products
    from recommendations
    where
        profile_id is not null
        and {{ segment_in_window('recommended_at', 'recommendation_lookback_days') }}

),

recommendations_per_profile as (

    select
        profile_id,
        max(recommended_at) as last_recommended_at,
        count(*) as recommendations_received,
        {{ sorted_distinct_flatten_agg('products') }} as recommended_products
    from recommendations_in_window
    group by profile_id

),

purchasers as (

    select distinct recommendations_per_profile.profile_id
    from recommendations_per_profile
    inner join orders
        on
            recommendations_per_profile.profile_id = orders.profile_id
            and {{ segment_purchased_since('orders.placed_at', 'recommendations_per_profile.last_recommended_at') }}

),

final as (

    select
        recommendations_per_profile.profile_id,
        profiles.email,
        profiles.phone_number,
        profiles.email_consent,
        profiles.sms_consent,
        recommendations_per_profile.last_recommended_at,
        cast(recommendations_per_profile.recommendations_received as integer) as recommendations_received,
        cast(recommendations_per_profile.recommended_products as {{ string_list_type() }}) as recommended_products,
        {{ segment_as_of() }} as evaluated_as_of
    from recommendations_per_profile
    left join profiles
        on recommendations_per_profile.profile_id = profiles.profile_id
    left join purchasers
        on recommendations_per_profile.profile_id = purchasers.profile_id
    where purchasers.profile_id is null

)

select * from final

{#-
    Bridge of Received Product Recommendation (spec §4.4): one row per
    recommended product, `position` 1-based in the order sent. `event_id` is
    the recommendation's event in fct_product_recommendation_received.
-#}

with

recommendations as (

    select * from {{ ref('int_product_recommendations_extracted') }}

),

identified as (

    select * from {{ ref('int_conversations_identified') }}

),

unnested as (

    select
        log_id,
        conversation_id,
        recommended_at,
        generate_subscripts(products, 1) as position,
        unnest(products) as recommended
    from recommendations

),

final as (

    select
        {{ metric_event_id('recommendation', 'unnested.log_id') }} as event_id,
        unnested.conversation_id,
        identified.profile_id,
        unnested.recommended_at,
        cast(unnested.position as integer) as position,
        unnested.recommended.product as product,
        unnested.recommended.product_id as product_id,
        unnested.recommended.sku as sku
    from unnested
    inner join identified
        on unnested.conversation_id = identified.conversation_id

)

select * from final

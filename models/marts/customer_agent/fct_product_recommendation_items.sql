{{ config(**incremental_config('conversation_id', 'changed_conversation_ids')) }}

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

    -- The conversations changed since this model last ran (all of them on a full build).
    select * from {{ ref('int_conversations_identified') }}
    where {{ changed_since_watermark('processed_at') }}

),

unnested as (

    select
        log_id,
        conversation_id,
        recommended_at,
        {{ unnest_list_with_position('products', 'recommended', 'position') }}
    from recommendations
    where conversation_id in (select identified.conversation_id from identified)

),

final as (

    select
        {{ metric_event_id('recommendation', 'unnested.log_id') }} as event_id,
        unnested.conversation_id,
        identified.profile_id,
        unnested.recommended_at,
        cast(unnested.position as integer) as position,
        {{ record_field('unnested.recommended', 'product') }} as product,
        {{ record_field('unnested.recommended', 'product_id') }} as product_id,
        {{ record_field('unnested.recommended', 'sku') }} as sku
    from unnested
    inner join identified
        on unnested.conversation_id = identified.conversation_id

)

select * from final

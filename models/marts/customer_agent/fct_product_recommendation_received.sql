{{ config(**incremental_config('conversation_id', 'changed_conversation_ids')) }}

{#-
    Received Product Recommendation from Customer Agent (spec §4.4): one row
    per recommendation record that carries at least one product, with the
    product identifiers (product_id, else sku) in the order sent. Which
    records are events and how a product is identified is decided in
    int_product_recommendations_extracted.
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

final as (

    select
        {{ metric_event_id('recommendation', 'recommendations.log_id') }} as event_id,
        recommendations.recommended_at,
        recommendations.conversation_id,
        identified.profile_id,
        identified.channel,
        {{ list_map('recommendations.products', 'recommended', record_field('recommended', 'product')) }} as products,
        cast({{ list_length('recommendations.products') }} as integer) as product_count,
        recommendations.recommendation_format as format
    from recommendations
    inner join identified
        on recommendations.conversation_id = identified.conversation_id

)

select * from final

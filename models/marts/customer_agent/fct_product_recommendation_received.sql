{#-
    Received Product Recommendation from Customer Agent (spec §4.4): one row
    per recommendation record that carries at least one product. A product is
    identified by its product_id, else its sku, in the order sent.
-#}

with

conversation_logs as (

    select * from {{ ref('stg_customer_agent__conversation_logs') }}

),

conversations as (

    select * from {{ ref('int_conversations_aggregated') }}

),

identified as (

    select * from {{ ref('int_conversations_identified') }}

),

recommendations as (

    select
        log_id,
        conversation_id,
        occurred_at,
        products,
        recommendation_format
    from conversation_logs
    where record_type = 'recommendation'
        and len(products) > 0

),

final as (

    select
        {{ metric_event_id('recommendation', 'recommendations.log_id') }} as event_id,
        recommendations.occurred_at as recommended_at,
        recommendations.conversation_id,
        identified.profile_id,
        conversations.channel,
        list_transform(recommendations.products, lambda product: coalesce(product.product_id, product.sku)) as products,
        cast(len(recommendations.products) as integer) as product_count,
        recommendations.recommendation_format as format
    from recommendations
    inner join conversations
        on recommendations.conversation_id = conversations.conversation_id
    inner join identified
        on recommendations.conversation_id = identified.conversation_id

)

select * from final

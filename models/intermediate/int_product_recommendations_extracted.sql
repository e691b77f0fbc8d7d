{{ config(**engine_incremental_config('delete+insert', unique_key='conversation_id')) }}

{#-
    Spec §4.4, in one place: a product recommendation event is a
    `recommendation` record that carries at least one product (staging has
    already dropped entries with neither a product_id nor a sku), and a
    product is identified by its product_id, else its sku. One row per
    recommendation event; `products` keeps the order sent.
-#}

with

conversation_logs as (

    select * from {{ ref('stg_customer_agent__conversation_logs') }}
    {%- if is_incremental() %}
    -- Every record of each conversation staging rebuilt since this model last ran (whole conversations).
    where processed_at > {{ processed_watermark() }}
    {%- endif %}

),

recommendations as (

    select
        log_id,
        conversation_id,
        occurred_at,
        recommendation_format,
        products
    from conversation_logs
    where
        record_type = 'recommendation'
        and {{ list_length('products') }} > 0

),

final as (

    select
        log_id,
        conversation_id,
        occurred_at as recommended_at,
        recommendation_format,
        {{ list_map('products', 'recommended', make_record({
            'product': 'coalesce(' ~ record_field('recommended', 'product_id') ~ ', ' ~ record_field('recommended', 'sku') ~ ')',
            'product_id': record_field('recommended', 'product_id'),
            'sku': record_field('recommended', 'sku'),
        })) }} as products,
        {{ run_started_timestamp() }} as processed_at
    from recommendations

)

select * from final

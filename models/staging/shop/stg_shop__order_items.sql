{#- One row per item of an order (spec §2.2), in the order listed. -#}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

unnested as (

    select
        order_id,
        {{ unnest_list_with_position(record_list('items'), 'item', 'item_position') }}
    from orders

),

renamed as (

    select
        order_id,
        cast(item_position as integer) as item_position,
        {{ clean_string(record_field('item', 'product_id')) }} as product_id,
        {{ clean_string(record_field('item', 'sku')) }} as sku,
        {{ try_cast_double(record_field('item', 'quantity')) }} as quantity,
        {{ try_cast_money(record_field('item', 'price')) }} as price
    from unnested

)

select * from renamed

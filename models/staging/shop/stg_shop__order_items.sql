{#- One row per item of an order (spec §2.2), in the order listed. -#}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

unnested as (

    select
        order_id,
        unnest(items) as item,
        generate_subscripts(items, 1) as item_position
    from orders

),

renamed as (

    select
        order_id,
        cast(item_position as integer) as item_position,
        {{ clean_string('item.product_id') }} as product_id,
        {{ clean_string('item.sku') }} as sku,
        try_cast(item.quantity as double) as quantity,
        try_cast(item.price as double) as price
    from unnested

)

select * from renamed

{#-
    Spec §4.4: the bridge fct_product_recommendation_items lists exactly the
    products of each Received Product Recommendation event, in the order sent
    (positions 1..product_count). Returns the events where they differ.
-#}

with

recommendations as (

    select * from {{ ref('fct_product_recommendation_received') }}

),

items as (

    select * from {{ ref('fct_product_recommendation_items') }}

),

items_per_event as (

    select
        event_id,
        list(product order by position) as products,
        list(position order by position) as positions
    from items
    group by event_id

),

final as (

    select
        coalesce(recommendations.event_id, items_per_event.event_id) as event_id,
        recommendations.products as fact_products,
        items_per_event.products as item_products
    from recommendations
    full outer join items_per_event
        on recommendations.event_id = items_per_event.event_id
    where
        recommendations.products is distinct from items_per_event.products
        or items_per_event.positions is distinct from range(1, recommendations.product_count + 1)

)

select * from final

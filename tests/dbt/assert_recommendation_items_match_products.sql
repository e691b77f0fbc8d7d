{#-
    Spec §4.4: the bridge fct_product_recommendation_items lists exactly the
    products of each Received Product Recommendation event, in the order sent
    (positions 1..product_count). Returns the events where they differ. With
    positions unique per event and >= 1 (the bridge's own tests), a count and
    a last position equal to product_count mean exactly 1..product_count.
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
        count(*) as item_count,
        max(position) as last_position
    from items
    group by event_id

),

misplaced_items as (

    select distinct items.event_id
    from items
    inner join recommendations
        on items.event_id = recommendations.event_id
    where items.product is distinct from {{ list_element('recommendations.products', 'items.position') }}

),

final as (

    select coalesce(recommendations.event_id, items_per_event.event_id) as event_id
    from recommendations
    full outer join items_per_event
        on recommendations.event_id = items_per_event.event_id
    where
        items_per_event.item_count is distinct from recommendations.product_count
        or items_per_event.last_position is distinct from recommendations.product_count
        or recommendations.event_id in (select misplaced_items.event_id from misplaced_items)

)

select * from final

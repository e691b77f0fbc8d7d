{#-
    Spec §3, the profile of an order: the order's own profile_id; else, for an
    order without profile_id, the profile whose CURRENT email equals the
    order's (normalised) email (owner decided in int_profile_contacts_resolved).
    One row per order; an order
    matched by neither has a null profile_id and matched_by. This is the one
    place of the "order -> profile" rule: segments (spec §5) and BI
    attribution (spec §9) read it.
-#}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

profile_contacts as (

    select * from {{ ref('int_profile_contacts_resolved') }}

),

profiles_by_email as (

    select
        contact as email,
        profile_id
    from profile_contacts
    where contact_type = 'email'

),

final as (

    select
        orders.order_id,
        coalesce(orders.profile_id, profiles_by_email.profile_id) as profile_id,
        orders.placed_at,
        orders.order_value,
        orders.currency,
        case
            when orders.profile_id is not null then 'profile_id'
            when profiles_by_email.profile_id is not null then 'email'
        end as matched_by
    from orders
    left join profiles_by_email
        on
            orders.profile_id is null
            and orders.email = profiles_by_email.email

)

select * from final

{#-
    Spec §3: conversations (by their first email, else first phone) and orders
    (by email) are matched to the profile whose CURRENT email or phone equals
    theirs. One row per contact value with the profile that owns it; when
    several profiles share a contact, the most recently updated profile wins,
    then the smallest profile_id. The one place of that rule, read by
    int_conversations_identified and int_orders_matched_to_profiles.
-#}

with

profiles as (

    select * from {{ ref('stg_marketing__profiles') }}

),

contacts as (

    select
        'email' as contact_type,
        email as contact,
        profile_id,
        updated_at
    from profiles
    where email is not null

    union all

    select
        'phone_number' as contact_type,
        phone_number as contact,
        profile_id,
        updated_at
    from profiles
    where phone_number is not null

),

ranked as (

    select
        contact_type,
        contact,
        profile_id,
        row_number() over (
            partition by contact_type, contact
            order by updated_at desc nulls last, {{ bytewise('profile_id') }} asc
        ) as owner_rank
    from contacts

),

final as (

    select
        contact_type,
        contact,
        profile_id
    from ranked
    where owner_rank = 1

)

select * from final

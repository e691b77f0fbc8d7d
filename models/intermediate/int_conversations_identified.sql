{#-
    Spec §3, the profile of a conversation: the first non-null profile_id
    among its records; else the profile whose CURRENT email equals the first
    email seen in the conversation; else the profile whose current phone
    equals the first phone seen. None: anonymous (profile_id null). Rebuilt
    on every build (one row per conversation, no log scan) because a new
    profile version can change who a conversation belongs to. When several
    profiles share the email (or phone), the most recently updated one wins,
    then the smallest profile_id.
-#}

with

conversations as (

    select * from {{ ref('int_conversations_aggregated') }}

),

profiles as (

    select * from {{ ref('stg_marketing__profiles') }}

),

profiles_by_email as (

    select
        email,
        profile_id
    from profiles
    where email is not null
    qualify row_number() over (partition by email order by updated_at desc nulls last, profile_id asc) = 1

),

profiles_by_phone as (

    select
        phone_number,
        profile_id
    from profiles
    where phone_number is not null
    qualify row_number() over (partition by phone_number order by updated_at desc nulls last, profile_id asc) = 1

),

final as (

    select
        conversations.conversation_id,
        coalesce(
            conversations.first_profile_id,
            profiles_by_email.profile_id,
            profiles_by_phone.profile_id
        ) as profile_id,
        case
            when conversations.first_profile_id is not null then 'profile_id'
            when profiles_by_email.profile_id is not null then 'email'
            when profiles_by_phone.profile_id is not null then 'phone_number'
        end as identified_by
    from conversations
    left join profiles_by_email
        on conversations.first_email = profiles_by_email.email
    left join profiles_by_phone
        on conversations.first_phone_number = profiles_by_phone.phone_number

)

select * from final

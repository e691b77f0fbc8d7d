{#-
    Spec §3, the profile of a conversation: the first non-null profile_id
    among its records; else the profile whose CURRENT email equals the first
    email seen in the conversation; else the profile whose current phone
    equals the first phone seen. None: anonymous (profile_id null). Rebuilt
    on every build (one row per conversation, no log scan) because a new
    profile version can change who a conversation belongs to. Which profile
    owns an email or phone is decided in int_profile_contacts_resolved.
    Also carries the conversation's channel and start: with the profile,
    what every event of the conversation carries (spec §3-§4), so the facts
    and touches join this one model.
-#}

with

conversations as (

    select * from {{ ref('int_conversations_aggregated') }}

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

profiles_by_phone as (

    select
        contact as phone_number,
        profile_id
    from profile_contacts
    where contact_type = 'phone_number'

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
        end as identified_by,
        conversations.channel,
        conversations.started_at
    from conversations
    left join profiles_by_email
        on conversations.first_email = profiles_by_email.email
    left join profiles_by_phone
        on conversations.first_phone_number = profiles_by_phone.phone_number

)

select * from final

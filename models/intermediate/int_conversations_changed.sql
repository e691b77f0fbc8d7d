{{ config(**engine_incremental_config('append', post_hook="{{ record_watermark() }}")) }}

{#-
    The changed-conversations log that every incremental mart reads: one row per conversation
    per build that changed it, with what the conversation is after the change and what it was
    before (the previous row of the same conversation in this log). Append-only, so a mart that
    missed builds (killed, failed) sees every change since its own watermark, old values
    included.

    A conversation changes when staging re-processed its records (new or late lines,
    re-delivered duplicates: int_conversations_aggregated.processed_at), or when a new profile
    version can change who it belongs to (spec §3): its first email or phone is a contact of a
    profile that received a version since the last build (any version: a contact that a profile
    gains or loses). Such a conversation is logged only if its profile really changes.

    Spec §3, the profile of a conversation, in one place: the first non-null profile_id among
    its records; else the profile whose CURRENT email equals the first email seen; else the
    profile whose current phone equals the first phone seen; else anonymous (profile_id null).
    Which profile owns an email or phone is decided in int_profile_contacts_resolved.
-#}

with

conversations as (

    select * from {{ ref('int_conversations_aggregated') }}

),

profile_versions as (

    select * from {{ ref('stg_marketing__profile_versions') }}

),

profile_contacts as (

    select * from {{ ref('int_profile_contacts_resolved') }}

),

previous_changes as (

    {%- if is_incremental() %}
    select * from {{ this }}
    {%- else %}
        -- A full build: no earlier change.
        select
            conversation_id,
            cast(null as {{ string_type() }}) as profile_id,
            cast(null as {{ string_type() }}) as channel,
            first_activity_at,
            last_activity_at,
            processed_at
        from conversations
        where false
    {%- endif %}

),

reprofiled_profiles as (

    select distinct profile_id
    from profile_versions
    where {{ changed_since_watermark('loaded_at') }}

),

affected_contacts as (

    -- Every email and phone of any version of those profiles.
    select
        'email' as contact_type,
        email as contact
    from profile_versions
    where
        email is not null
        and profile_id in (select reprofiled_profiles.profile_id from reprofiled_profiles)

    union

    select
        'phone_number' as contact_type,
        phone_number as contact
    from profile_versions
    where
        phone_number is not null
        and profile_id in (select reprofiled_profiles.profile_id from reprofiled_profiles)

),

candidates as (

    -- Touched by staging (everything on a full build), or maybe re-identified.
    select
        conversation_id,
        {{ changed_since_watermark('processed_at') }} as is_touched
    from conversations
    where
        {{ changed_since_watermark('processed_at') }}
        or (
            first_profile_id is null
            and (
                first_email in (
                    select affected_contacts.contact from affected_contacts
                    where affected_contacts.contact_type = 'email'
                )
                or first_phone_number in (
                    select affected_contacts.contact from affected_contacts
                    where affected_contacts.contact_type = 'phone_number'
                )
            )
        )

),

ranked_previous_changes as (

    select
        *,
        row_number() over (partition by conversation_id order by processed_at desc) as recency_rank
    from previous_changes
    where conversation_id in (select candidates.conversation_id from candidates)

),

previous_state as (

    select *
    from ranked_previous_changes
    where recency_rank = 1

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

identified as (

    select
        conversations.conversation_id,
        candidates.is_touched,
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
        conversations.started_at,
        conversations.first_activity_at,
        conversations.last_activity_at
    from conversations
    inner join candidates
        on conversations.conversation_id = candidates.conversation_id
    left join profiles_by_email
        on conversations.first_email = profiles_by_email.email
    left join profiles_by_phone
        on conversations.first_phone_number = profiles_by_phone.phone_number

),

final as (

    select
        identified.conversation_id,
        identified.profile_id,
        identified.identified_by,
        identified.channel,
        identified.started_at,
        identified.first_activity_at,
        identified.last_activity_at,
        previous_state.profile_id as previous_profile_id,
        previous_state.channel as previous_channel,
        previous_state.first_activity_at as previous_first_activity_at,
        previous_state.last_activity_at as previous_last_activity_at,
        {{ run_started_timestamp() }} as processed_at
    from identified
    left join previous_state
        on identified.conversation_id = previous_state.conversation_id
    where
        identified.is_touched
        or identified.profile_id is distinct from previous_state.profile_id

)

select * from final

{#-
    Spec §5, seg_started_conversation: every identified profile with at least
    one Started Conversation at or before as_of.
-#}

with

conversations_started as (

    select * from {{ ref('fct_conversation_started') }}

),

profiles as (

    select * from {{ ref('dim_profiles') }}

),

starts_as_of as (

    select
        profile_id,
        conversation_id,
        started_at,
        channel
    from conversations_started
    where
        profile_id is not null
        and started_at <= {{ segment_as_of() }}

),

starts_per_profile as (

    select
        profile_id,
        min(started_at) as first_started_at,
        max(started_at) as last_started_at,
        count(distinct conversation_id) as conversations_started,
        {{ sorted_distinct_agg('channel') }} as channels
    from starts_as_of
    group by profile_id

),

final as (

    select
        starts_per_profile.profile_id,
        profiles.email,
        profiles.phone_number,
        profiles.email_consent,
        profiles.sms_consent,
        starts_per_profile.first_started_at,
        starts_per_profile.last_started_at,
        cast(starts_per_profile.conversations_started as integer) as conversations_started,
        cast(coalesce(starts_per_profile.channels, {{ empty_string_list() }}) as {{ string_list_type() }}) as channels,
        {{ segment_as_of() }} as evaluated_as_of
    from starts_per_profile
    left join profiles
        on starts_per_profile.profile_id = profiles.profile_id

)

select * from final

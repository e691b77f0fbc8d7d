{#-
    Spec §5, seg_escalated_recent: the suppression list for broad promotional
    campaigns. Identified profiles with at least one escalation in
    (as_of - escalation_suppression_days, as_of].
-#}

with

escalations as (

    select * from {{ ref('fct_conversation_escalated') }}

),

profiles as (

    select * from {{ ref('dim_profiles') }}

),

escalations_in_window as (

    select
        event_id,
        profile_id,
        conversation_id,
        escalated_at,
        escalation_reason
    from escalations
    where
        profile_id is not null
        and {{ segment_in_window('escalated_at', 'escalation_suppression_days') }}

),

ranked_escalations as (

    select
        profile_id,
        escalated_at,
        escalation_reason,
        row_number() over (
            partition by profile_id
            order by {{ segment_latest_first('escalated_at') }}
        ) as recency_rank
    from escalations_in_window

),

latest_escalations as (

    select
        profile_id,
        escalated_at as last_escalated_at,
        escalation_reason as last_escalation_reason
    from ranked_escalations
    where recency_rank = 1

),

escalations_per_profile as (

    select
        profile_id,
        count(*) as escalations
    from escalations_in_window
    group by profile_id

),

final as (

    select
        latest_escalations.profile_id,
        profiles.email,
        profiles.phone_number,
        profiles.email_consent,
        profiles.sms_consent,
        latest_escalations.last_escalated_at,
        cast(escalations_per_profile.escalations as integer) as escalations,
        latest_escalations.last_escalation_reason,
        {{ segment_as_of() }} as evaluated_as_of
    from latest_escalations
    inner join escalations_per_profile
        on latest_escalations.profile_id = escalations_per_profile.profile_id
    left join profiles
        on latest_escalations.profile_id = profiles.profile_id

)

select * from final

{{ config(**incremental_config('reporting_date', 'changed_daily_keys', by_reporting_timezone=true)) }}

{#-
    Spec §9, skill performance: one row per reporting day × skill, the day
    taken in the time zone of the var `reporting_timezone` (macro
    to_reporting_date), each measure on the day of its own event:
    invocations = skill invocations (int_skill_invocations_extracted) that day; conversations =
    distinct conversations with a skill record of the skill that day;
    resolutions = Resolved events that day whose final_skill is the skill;
    escalations = Escalated events that day whose skill (active at the
    escalation) is the skill. Events without a skill are not counted here.
    A row exists for every day × skill with at least one non-zero measure.
-#}

with

skill_invocations as (

    select * from {{ ref('int_skill_invocations_extracted') }}

),

activity_hours as (

    select * from {{ ref('int_activity_hours_aggregated') }}

),

conversations_resolved as (

    select * from {{ ref('fct_conversation_resolved') }}

),

conversations_escalated as (

    select * from {{ ref('fct_conversation_escalated') }}

),

conversation_changes as (

    select * from {{ ref('int_conversations_changed') }}

),

order_changes as (

    select * from {{ ref('int_orders_changed') }}

),

changed_reporting_dates as (

    -- The days this run recomputes (every day on a full build or after a change of reporting_timezone).
    {{ changed_reporting_dates('conversation_changes', 'activity_hours', 'order_changes') }}

),

invocations_daily as (

    select
        {{ to_reporting_date('invoked_at') }} as reporting_date,
        skill,
        count(*) as invocations,
        count(distinct conversation_id) as conversations
    from skill_invocations
    where {{ in_changed_reporting_dates('invoked_at') }}
    group by 1, 2

),

resolutions_daily as (

    select
        {{ to_reporting_date('resolved_at') }} as reporting_date,
        final_skill as skill,
        count(*) as resolutions
    from conversations_resolved
    where
        final_skill is not null
        and {{ in_changed_reporting_dates('resolved_at') }}
    group by 1, 2

),

escalations_daily as (

    select
        {{ to_reporting_date('escalated_at') }} as reporting_date,
        skill,
        count(*) as escalations
    from conversations_escalated
    where
        skill is not null
        and {{ in_changed_reporting_dates('escalated_at') }}
    group by 1, 2

),

daily_measures as (

    {{ union_all_by_name({
        'invocations_daily': ['invocations', 'conversations'],
        'resolutions_daily': ['resolutions'],
        'escalations_daily': ['escalations'],
    }, key_columns=['reporting_date', 'skill']) }}

),

final as (

    select
        reporting_date,
        skill,
        cast(coalesce(sum(invocations), 0) as integer) as invocations,
        cast(coalesce(sum(conversations), 0) as integer) as conversations,
        cast(coalesce(sum(resolutions), 0) as integer) as resolutions,
        cast(coalesce(sum(escalations), 0) as integer) as escalations
    from daily_measures
    group by 1, 2

)

select * from final

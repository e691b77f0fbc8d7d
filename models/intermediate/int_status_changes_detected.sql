{{ config(**engine_incremental_config('delete+insert', unique_key='conversation_id')) }}

{#-
    The conversation status state machine (spec §4), in one place. A
    conversation starts `open`; a status record changes the status only when
    its value differs from the current status. One row per change, in order
    (occurred_at, then log_id), with:
    - whether the conversation had been escalated before the change;
    - whether it is a Customer Agent resolution (to `resolved`, by
      `actor = agent`, never escalated before);
    - the skill active at the change: the last skill record at or before it;
    - the tags applied at or before it, sorted and distinct.
    "Skill at a time" and "tags at a time" are computed here and nowhere else.
-#}

with

conversation_logs as (

    -- Only the columns and record types this model reads: the CTE is read three times.
    select
        conversation_id,
        log_id,
        occurred_at,
        record_type,
        actor,
        status,
        escalation_reason,
        skill,
        tags
    from {{ ref('stg_customer_agent__conversation_logs') }}
    where record_type in ('status', 'skill', 'tag')
    {%- if is_incremental() %}
        -- Every record of each conversation staging rebuilt since this model last ran (whole conversations).
        and processed_at > {{ processed_watermark() }}
    {%- endif %}

),

status_records as (

    select
        conversation_id,
        log_id,
        occurred_at,
        actor,
        status,
        escalation_reason
    from conversation_logs
    where
        record_type = 'status'
        and status is not null

),

skill_records_ranked as (

    -- One skill per instant: among records at the same occurred_at the last by log_id is the later one.
    select
        conversation_id,
        occurred_at,
        skill,
        row_number() over (
            partition by conversation_id, occurred_at
            order by {{ bytewise('log_id') }} desc
        ) as rank_at_instant
    from conversation_logs
    where
        record_type = 'skill'
        and skill is not null

),

skill_records as (

    select
        conversation_id,
        occurred_at,
        skill
    from skill_records_ranked
    where rank_at_instant = 1

),

tag_applications as (

    select
        conversation_id,
        occurred_at,
        {{ unnest_list('tags') }} as tag
    from conversation_logs
    where record_type = 'tag'

),

sequenced as (

    select
        *,
        coalesce(
            lag(status) over (partition by conversation_id order by occurred_at, {{ bytewise('log_id') }}),
            'open'
        ) as previous_status
    from status_records

),

changes as (

    select
        *,
        coalesce(
            bool_or(status = 'escalated') over (
                partition by conversation_id
                order by occurred_at, {{ bytewise('log_id') }}
                rows between unbounded preceding and 1 preceding
            ),
            false
        ) as was_escalated_before
    from sequenced
    where status <> previous_status

),

with_skill as (

    {{ asof_join(
        left='changes',
        right='skill_records',
        by=['conversation_id'],
        left_time='occurred_at',
        right_time='occurred_at',
        right_columns={'active_skill': 'skill'},
        left_key=['log_id'],
        join_type='left',
    ) }}

),

tags_at_change as (

    select
        changes.log_id,
        {{ sorted_distinct_agg('tag_applications.tag') }} as tags
    from changes
    inner join tag_applications
        on
            changes.conversation_id = tag_applications.conversation_id
            and changes.occurred_at >= tag_applications.occurred_at
    group by changes.log_id

),

final as (

    select
        with_skill.log_id,
        with_skill.conversation_id,
        with_skill.occurred_at as changed_at,
        with_skill.previous_status,
        with_skill.status,
        with_skill.actor,
        with_skill.escalation_reason,
        with_skill.was_escalated_before,
        with_skill.status = 'resolved'
        and coalesce(with_skill.actor = 'agent', false)
        and not with_skill.was_escalated_before as is_customer_agent_resolution,
        with_skill.active_skill,
        coalesce(tags_at_change.tags, {{ empty_string_list() }}) as tags,
        {{ run_started_timestamp() }} as processed_at
    from with_skill
    left join tags_at_change
        on with_skill.log_id = tags_at_change.log_id

)

select * from final

{#-
    The reporting days an incremental run of a daily mart recomputes (spec §9), in one place.
    A day can change when a conversation with a record on that day changed (its events are at
    its records' times, and records are only added, so every day an old event of the
    conversation was on is still a day of one of its records; the previous activity bounds are
    added for good measure), or when an order placed that day changed. The days of a
    conversation's records are read from int_activity_hours_aggregated (the reporting days of
    the first and last record of each UTC hour it was active), not from its records. Days are cut in the
    current reporting_timezone; a mart built in another zone is rebuilt whole instead
    (rebuilds_everything(by_reporting_timezone=true)).

    changed_reporting_dates(conversation_changes, activity_hours, order_changes): the days,
    one column reporting_date, from the three relations (or CTE names) given.
    in_changed_reporting_dates(time_column): the filter a daily mart applies to its inputs
    (true when the mart is rebuilt whole).
    changed_daily_keys(): the pre-hook's key set (macros/incremental/rebuilt_keys.sql).
-#}
{% macro changed_reporting_dates(conversation_changes, activity_hours, order_changes) -%}
    select {{ to_reporting_date('activity_bounds.bound_at') }} as reporting_date
    from (
        select conversation_id, first_record_at as bound_at from {{ activity_hours }}
        union all
        select conversation_id, last_record_at as bound_at from {{ activity_hours }}
    ) as activity_bounds
    where activity_bounds.conversation_id in (
        select conversation_changes.conversation_id
        from {{ conversation_changes }} as conversation_changes
        where {{ changed_since_watermark('conversation_changes.processed_at', true) }}
    )

    union

    select {{ to_reporting_date('previous_bounds.bound_at') }} as reporting_date
    from (
        select processed_at, previous_first_activity_at as bound_at from {{ conversation_changes }}
        union all
        select processed_at, previous_last_activity_at as bound_at from {{ conversation_changes }}
    ) as previous_bounds
    where
        {{ changed_since_watermark('previous_bounds.processed_at', true) }}
        and previous_bounds.bound_at is not null

    union

    select {{ to_reporting_date('order_changes.placed_at') }} as reporting_date
    from {{ order_changes }} as order_changes
    where {{ changed_since_watermark('order_changes.processed_at', true) }}
{%- endmacro %}


{% macro in_changed_reporting_dates(time_column, changed_dates='changed_reporting_dates') -%}
    {#- On a full rebuild `true or ...`: the engine folds it away, the days are not computed. -#}
    ({{ 'true or ' if rebuilds_everything(true) }}{{ to_reporting_date(time_column) }} in (
        select {{ changed_dates }}.reporting_date from {{ changed_dates }}
    ))
{%- endmacro %}


{% macro changed_daily_keys() -%}
    {{ changed_reporting_dates(
        ref('int_conversations_changed'),
        ref('int_activity_hours_aggregated'),
        ref('int_orders_changed'),
    ) }}
{%- endmacro %}

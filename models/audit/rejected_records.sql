{#-
    Spec §6: every raw line that could not be staged, with where it came
    from, its text and why it was rejected. `field` and `fix` (from the seed
    rejection_reasons) tell the producer what to repair.
-#}

with

log_lines as (

    select * from {{ ref('base_customer_agent__log_lines') }}

),

order_lines as (

    select * from {{ ref('base_shop__order_lines') }}

),

profile_lines as (

    select * from {{ ref('base_marketing__profile_lines') }}

),

rejection_reasons as (

    select * from {{ ref('rejection_reasons') }}

),

rejected_lines as (

    select
        'conversation_logs' as source,
        file_name,
        line_number,
        raw_line,
        rejection_reason,
        loaded_at
    from log_lines
    where rejection_reason is not null

    union all

    select
        'orders' as source,
        file_name,
        line_number,
        raw_line,
        rejection_reason,
        loaded_at
    from order_lines
    where rejection_reason is not null

    union all

    select
        'profiles' as source,
        file_name,
        line_number,
        raw_line,
        rejection_reason,
        loaded_at
    from profile_lines
    where rejection_reason is not null

),

final as (

    select
        rejected_lines.source,
        rejected_lines.file_name,
        rejected_lines.line_number,
        rejected_lines.raw_line,
        rejected_lines.rejection_reason as reason,
        rejection_reasons.field,
        rejection_reasons.fix,
        rejected_lines.loaded_at
    from rejected_lines
    left join rejection_reasons
        on rejected_lines.rejection_reason = rejection_reasons.reason

)

select * from final

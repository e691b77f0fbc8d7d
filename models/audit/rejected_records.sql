{#-
    Spec §6: every raw line that could not be staged, with where it came
    from, its text and why it was rejected. `field` (the line's own field at
    fault when the reason applies to several) and `fix` (from the seed
    rejection_reasons) tell the producer what to repair; `detail` explains
    a value outside the plausible window.
-#}

with

raw_lines as (

    select * from {{ ref('raw_lines_classified') }}

),

rejection_reasons as (

    select * from {{ ref('rejection_reasons') }}

),

rejected_lines as (

    select *
    from raw_lines
    where rejection_reason is not null

),

final as (

    select
        rejected_lines.source,
        rejected_lines.file_name,
        rejected_lines.line_number,
        rejected_lines.raw_line,
        rejected_lines.rejection_reason as reason,
        coalesce(rejected_lines.rejected_field, rejection_reasons.field) as field,
        rejection_reasons.fix,
        rejected_lines.rejection_detail as detail,
        rejected_lines.loaded_at
    from rejected_lines
    left join rejection_reasons
        on rejected_lines.rejection_reason = rejection_reasons.reason

)

select * from final

{{
    config(
        materialized='table',
    )
}}

{#-
    One row per profile in its current state (spec §2.3): the version with
    the latest updated_at (a version without updated_at counts as the oldest;
    ties go to the version delivered last).
    A table, not a view: the segments and int_profile_contacts_resolved read it, and a view would
    repeat its window functions once per reader.
-#}

with

profile_versions as (

    select * from {{ ref('stg_marketing__profile_versions') }}

),

ranked_versions as (

    select
        *,
        row_number() over (
            partition by profile_id
            order by updated_at desc nulls last, {{ bytewise('file_name') }} desc, line_number desc
        ) as version_rank
    from profile_versions

),

current_state as (

    select *
    from ranked_versions
    where version_rank = 1

),

final as (

    select
        profile_id,
        email,
        phone_number,
        email_consent,
        sms_consent,
        updated_at
    from current_state

)

select * from final

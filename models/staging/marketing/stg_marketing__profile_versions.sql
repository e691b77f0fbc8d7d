{{
    config(
        materialized='table',
    )
}}

{#-
    One row per profile version (spec §2.3): valid lines, a version delivered
    twice (same profile_id and updated_at) kept once (first delivered),
    values normalised.
    A table, not a view: current profiles and the reconciliation read it, and a view would
    repeat its window functions once per reader.
-#}

with

profile_lines as (

    select * from {{ ref('base_marketing__profile_lines') }}
    where rejection_reason is null

),

flagged as (

    select
        *,
        {{ is_first_received('profile_id, updated_at') }} as is_first_received
    from profile_lines

),

deduplicated as (

    select *
    from flagged
    where is_first_received

),

renamed as (

    select
        profile_id,
        updated_at,
        {{ normalise_email('email') }} as email,
        {{ normalise_phone('phone_number') }} as phone_number,
        {{ normalise_label('email_consent') }} as email_consent,
        {{ normalise_label('sms_consent') }} as sms_consent,
        file_name,
        line_number,
        loaded_at
    from deduplicated

)

select * from renamed

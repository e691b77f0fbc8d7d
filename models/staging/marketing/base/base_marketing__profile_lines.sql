{{
    config(
        materialized='incremental',
        incremental_strategy='append',
    )
}}

{#- Every line of every profile file, read once, parsed and classified (see base_customer_agent__log_lines). -#}
{%- set files = new_raw_files('profiles') -%}

with

-- Materialised: numbering lines needs an ordered, single-threaded scan per
-- file; parsing the JSON after this point runs on every core.
raw_lines as materialized (

    {{ read_raw_lines(files) }}

),

parsed as (

    select
        file_name,
        line_number,
        raw_line,
        {{ parse_json_object('raw_line', {
            'profile_id': 'VARCHAR',
            'email': 'VARCHAR',
            'phone_number': 'VARCHAR',
            'email_consent': 'VARCHAR',
            'sms_consent': 'VARCHAR',
            'updated_at': 'VARCHAR',
        }) }} as record
    from raw_lines

),

typed as (

    select
        file_name,
        line_number,
        raw_line,
        record is not null as is_json_object,
        {{ clean_string('record.profile_id') }} as profile_id,
        record.email as email,
        record.phone_number as phone_number,
        record.email_consent as email_consent,
        record.sms_consent as sms_consent,
        {{ clean_string('record.updated_at') }} as updated_at_text,
        {{ to_utc_timestamp('record.updated_at') }} as updated_at
    from parsed

),

classified as (

    select
        *,
        case
            when not is_json_object then 'invalid_json'
            when profile_id is null then 'missing_profile_id'
            when updated_at_text is not null and updated_at is null then 'invalid_updated_at'
        end as rejection_reason
    from typed

),

final as (

    select
        file_name,
        line_number,
        rejection_reason,
        case when rejection_reason is not null then coalesce(raw_line, '') end as raw_line,
        profile_id,
        email,
        phone_number,
        email_consent,
        sms_consent,
        updated_at,
        {{ run_started_timestamp() }} as loaded_at
    from classified

)

select * from final

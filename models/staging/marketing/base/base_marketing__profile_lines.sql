{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['file_name', 'line_number'],
    )
}}

{#- Every line of every profile file, parsed once and classified (read like base_customer_agent__log_lines). -#}

with

-- Materialised: the source is a stream that one thread reads; parsing after this point
-- runs on every core.
raw_lines as materialized (

    select * from {{ source('profiles', 'lines') }}

),

parsed as (

    select
        file_name,
        line_number,
        raw_line,
        line_fault,
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
        line_fault,
        record,
        {{ clean_string('record.profile_id') }} as profile_id,
        record.email as email,
        record.phone_number as phone_number,
        record.email_consent as email_consent,
        record.sms_consent as sms_consent,
        {{ clean_string('record.updated_at') }} as updated_at_text,
        {{ to_utc_timestamp('record.updated_at') }} as updated_at
    from parsed

),

type_checked as (

    select
        *,
        case when record is not null then {{ first_wrong_json_type('raw_line', [
            ('profile_id', 'profile_id', 'string'),
            ('email', 'email', 'string'),
            ('phone_number', 'phone_number', 'string'),
            ('email_consent', 'email_consent', 'string'),
            ('sms_consent', 'sms_consent', 'string'),
        ]) }} end as wrong_type_field
    from typed

),

classified as (

    select
        *,
        case
            {{ line_rejection('line_fault', 'record') }}
            when profile_id is null then 'missing_profile_id'
            {{ timestamp_rejection('updated_at_text', 'updated_at', 'invalid_updated_at', required=false) }}
            when wrong_type_field is not null then 'invalid_field_type'
        end as rejection_reason
    from type_checked

),

final as (

    select
        file_name,
        line_number,
        rejection_reason,
        case
            when rejection_reason = 'invalid_field_type' then wrong_type_field
            when rejection_reason = 'timestamp_out_of_range' then 'updated_at'
        end as rejected_field,
        case
            when rejection_reason = 'timestamp_out_of_range'
                then {{ timestamp_range_detail('updated_at', 'updated_at_text') }}
        end as rejection_detail,
        case when rejection_reason is not null then {{ without_line_terminator('raw_line') }} end as raw_line,
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

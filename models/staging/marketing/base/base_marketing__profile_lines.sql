{{ config(**engine_incremental_config('delete+insert', unique_key=['file_name', 'line_number'])) }}

{#- Every line of every profile file, parsed once and classified (read like base_customer_agent__log_lines). -#}

{%- set fields = {
    'profile_id': 'string',
    'email': 'string',
    'phone_number': 'string',
    'email_consent': 'string',
    'sms_consent': 'string',
    'updated_at': 'string',
} %}

with

raw_lines as {{ cte_materialization('stream') }} (

    select * from {{ source('profiles', 'lines') }}
    {%- if is_incremental() %}
    -- Lines the source served or loaded since this model last took lines (on PostgreSQL the raw
    -- table holds every line ever loaded; a line read again replaces its row).
    where loaded_at > (select coalesce(max(raw_loaded_at), {{ dbt.cast("'1900-01-01'", dbt.type_timestamp()) }}) from {{ this }})
    {%- endif %}

),

documents as (

    select
        file_name,
        line_number,
        raw_line,
        line_fault,
        loaded_at as raw_loaded_at,
        {{ json_document('raw_line') }} as json_document
    from raw_lines

),

parsed as {{ cte_materialization('parse') }} (

    select
        file_name,
        line_number,
        raw_line,
        line_fault,
        raw_loaded_at,
        json_document,
        {{ parse_json_object('json_document', fields) }} as record
    from documents

),

typed as {{ cte_materialization('parse') }} (

    select
        file_name,
        line_number,
        raw_line,
        line_fault,
        raw_loaded_at,
        json_document,
        record,
        {{ clean_string(json_field('record', fields, 'profile_id')) }} as profile_id,
        {{ json_field('record', fields, 'email') }} as email,
        {{ json_field('record', fields, 'phone_number') }} as phone_number,
        {{ json_field('record', fields, 'email_consent') }} as email_consent,
        {{ json_field('record', fields, 'sms_consent') }} as sms_consent,
        {{ clean_string(json_field('record', fields, 'updated_at')) }} as updated_at_text,
        {{ to_utc_timestamp(json_field('record', fields, 'updated_at')) }} as updated_at
    from parsed

),

type_checked as (

    select
        *,
        case when record is not null then {{ first_wrong_json_type('json_document', [
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
        raw_loaded_at,
        {{ run_started_timestamp() }} as loaded_at
    from classified

)

select * from final

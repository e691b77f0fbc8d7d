{{
    config(
        materialized='incremental',
        incremental_strategy='append',
    )
}}

{#-
    Every line of every conversation log file, read once. New files only on an
    incremental build (files are only ever added). Each line is parsed into
    typed fields and classified: `rejection_reason` is null for a valid record,
    else the reason it goes to audit.rejected_records. The raw text is kept
    only for rejected lines.
-#}
{%- set files = new_raw_files('conversation_logs') -%}

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
            'log_id': 'VARCHAR',
            'conversation_id': 'VARCHAR',
            'occurred_at': 'VARCHAR',
            'received_at': 'VARCHAR',
            'channel': 'VARCHAR',
            'type': 'VARCHAR',
            'actor': 'VARCHAR',
            'text': 'VARCHAR',
            'skill': 'VARCHAR',
            'status': 'VARCHAR',
            'escalation_reason': 'VARCHAR',
            'tags': ['VARCHAR'],
            'products': [{'product_id': 'VARCHAR', 'sku': 'VARCHAR'}],
            'format': 'VARCHAR',
            'profile_id': 'VARCHAR',
            'email': 'VARCHAR',
            'phone_number': 'VARCHAR',
        }) }} as record
    from raw_lines

),

typed as (

    select
        file_name,
        line_number,
        raw_line,
        record is not null as is_json_object,
        {{ clean_string('record.log_id') }} as log_id,
        {{ clean_string('record.conversation_id') }} as conversation_id,
        {{ to_utc_timestamp('record.occurred_at') }} as occurred_at,
        {{ to_utc_timestamp('record.received_at') }} as received_at,
        record.channel as channel_label,
        record.type as record_type,
        record.actor as actor,
        record.text as message_text,
        record.skill as skill,
        record.status as status,
        record.escalation_reason as escalation_reason,
        record.tags as tags,
        record.products as products,
        record.format as recommendation_format,
        record.profile_id as profile_id,
        record.email as email,
        record.phone_number as phone_number
    from parsed

),

classified as (

    select
        *,
        case
            when not is_json_object then 'invalid_json'
            when conversation_id is null then 'missing_conversation_id'
            when log_id is null then 'missing_log_id'
            when occurred_at is null then 'invalid_occurred_at'
            when {{ clean_string('record_type') }} is null then 'missing_type'
        end as rejection_reason
    from typed

),

final as (

    select
        file_name,
        line_number,
        rejection_reason,
        case when rejection_reason is not null then coalesce(raw_line, '') end as raw_line,
        log_id,
        conversation_id,
        occurred_at,
        received_at,
        channel_label,
        record_type,
        actor,
        message_text,
        skill,
        status,
        escalation_reason,
        tags,
        products,
        recommendation_format,
        profile_id,
        email,
        phone_number,
        {{ run_started_timestamp() }} as loaded_at
    from classified

)

select * from final

{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['file_name', 'line_number'],
    )
}}

{#-
    Every line of every conversation log file, as the raw zone source serves it:
    on an incremental build the lines of new files and the lines appended to
    ingested ones (a line read again, e.g. a last line completed since, replaces
    its earlier row). Each line is parsed once into typed fields and classified:
    `rejection_reason` is null for a valid record, else the reason it goes to
    audit.rejected_records, with the field at fault and a detail. The raw text is
    kept only for rejected lines.
-#}

with

-- Materialised: the source is a stream that one thread reads; parsing after this point
-- runs on every core.
raw_lines as materialized (

    select * from {{ source('conversation_logs', 'lines') }}

),

parsed as (

    select
        file_name,
        line_number,
        raw_line,
        line_fault,
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
        line_fault,
        record,
        {{ clean_string('record.log_id') }} as log_id,
        {{ clean_string('record.conversation_id') }} as conversation_id,
        {{ clean_string('record.occurred_at') }} as occurred_at_text,
        {{ to_utc_timestamp('record.occurred_at') }} as occurred_at,
        {{ clean_string('record.received_at') }} as received_at_text,
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

type_checked as (

    select
        *,
        case when record is not null then {{ first_wrong_json_type('raw_line', [
            ('log_id', 'log_id', 'string'),
            ('conversation_id', 'conversation_id', 'string'),
            ('channel', 'channel_label', 'string'),
            ('type', 'record_type', 'string'),
            ('actor', 'actor', 'string'),
            ('text', 'message_text', 'string'),
            ('skill', 'skill', 'string'),
            ('status', 'status', 'string'),
            ('escalation_reason', 'escalation_reason', 'string'),
            ('format', 'recommendation_format', 'string'),
            ('profile_id', 'profile_id', 'string'),
            ('email', 'email', 'string'),
            ('phone_number', 'phone_number', 'string'),
            ('tags', 'tags', 'list'),
            ('products', 'products', 'list'),
        ]) }} end as wrong_type_field,
        -- A product must be an object with product_id and/or sku (spec §2.1).
        record is not null
        and {{ has_non_object_element('raw_line', 'products', 'products') }} as has_product_of_wrong_type
    from typed

),

classified as (

    select
        *,
        case
            {{ line_rejection('line_fault', 'record') }}
            when conversation_id is null then 'missing_conversation_id'
            when log_id is null then 'missing_log_id'
            {{ timestamp_rejection('occurred_at_text', 'occurred_at', 'invalid_occurred_at') }}
            when {{ clean_string('record_type') }} is null then 'missing_type'
            {{ timestamp_rejection('received_at_text', 'received_at', 'invalid_received_at', required=false) }}
            when wrong_type_field is not null or has_product_of_wrong_type then 'invalid_field_type'
        end as rejection_reason,
        coalesce({{ is_plausible_timestamp('occurred_at') }}, false) as is_occurred_at_plausible
    from type_checked

),

final as (

    select
        file_name,
        line_number,
        rejection_reason,
        case
            when rejection_reason = 'invalid_field_type' then coalesce(wrong_type_field, 'products')
            when rejection_reason = 'timestamp_out_of_range'
                then case when is_occurred_at_plausible then 'received_at' else 'occurred_at' end
        end as rejected_field,
        case
            when rejection_reason = 'timestamp_out_of_range' and is_occurred_at_plausible
                then {{ timestamp_range_detail('received_at', 'received_at_text') }}
            when rejection_reason = 'timestamp_out_of_range'
                then {{ timestamp_range_detail('occurred_at', 'occurred_at_text') }}
        end as rejection_detail,
        case when rejection_reason is not null then {{ without_line_terminator('raw_line') }} end as raw_line,
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

{{ config(**engine_incremental_config('delete+insert', unique_key=['file_name', 'line_number'])) }}

{#-
    Every line of every conversation log file, as the raw zone source serves it:
    on an incremental build the lines of new files and the lines appended to
    ingested ones (a line read again, e.g. a last line completed since, replaces
    its earlier row). Each line is parsed once into typed fields and classified:
    `rejection_reason` is null for a valid record, else the reason it goes to
    audit.rejected_records, with the field at fault and a detail. The raw text is
    kept only for rejected lines.
-#}

{%- set fields = {
    'log_id': 'string',
    'conversation_id': 'string',
    'occurred_at': 'string',
    'received_at': 'string',
    'channel': 'string',
    'type': 'string',
    'actor': 'string',
    'text': 'string',
    'skill': 'string',
    'status': 'string',
    'escalation_reason': 'string',
    'tags': 'string_list',
    'products': 'product_list',
    'format': 'string',
    'profile_id': 'string',
    'email': 'string',
    'phone_number': 'string',
} %}

with

raw_lines as {{ cte_materialization('stream') }} (

    select * from {{ source('conversation_logs', 'lines') }}
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
        {{ clean_string(json_field('record', fields, 'log_id')) }} as log_id,
        {{ clean_string(json_field('record', fields, 'conversation_id')) }} as conversation_id,
        {{ clean_string(json_field('record', fields, 'occurred_at')) }} as occurred_at_text,
        {{ to_utc_timestamp(json_field('record', fields, 'occurred_at')) }} as occurred_at,
        {{ clean_string(json_field('record', fields, 'received_at')) }} as received_at_text,
        {{ to_utc_timestamp(json_field('record', fields, 'received_at')) }} as received_at,
        {{ json_field('record', fields, 'channel') }} as channel_label,
        {{ json_field('record', fields, 'type') }} as record_type,
        {{ json_field('record', fields, 'actor') }} as actor,
        {{ json_field('record', fields, 'text') }} as message_text,
        {{ json_field('record', fields, 'skill') }} as skill,
        {{ json_field('record', fields, 'status') }} as status,
        {{ json_field('record', fields, 'escalation_reason') }} as escalation_reason,
        {{ json_field('record', fields, 'tags') }} as tags,
        {{ json_field('record', fields, 'products') }} as products,
        {{ json_field('record', fields, 'format') }} as recommendation_format,
        {{ json_field('record', fields, 'profile_id') }} as profile_id,
        {{ json_field('record', fields, 'email') }} as email,
        {{ json_field('record', fields, 'phone_number') }} as phone_number
    from parsed

),

type_checked as (

    select
        *,
        case when record is not null then {{ first_wrong_json_type('json_document', [
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
        and {{ has_non_object_element('json_document', 'products', 'products') }} as has_product_of_wrong_type
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
        raw_loaded_at,
        {{ run_started_timestamp() }} as loaded_at
    from classified

)

select * from final

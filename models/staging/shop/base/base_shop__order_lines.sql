{{ config(**engine_incremental_config('delete+insert', unique_key=['file_name', 'line_number'])) }}

{#-
    Every line of every order file, parsed once and classified (read like
    base_customer_agent__log_lines). `order_value` is an exact decimal: a value
    that is not a finite JSON number (NaN, Infinity, "12,50", out of range) is
    rejected as invalid_value, never turned into a NaN or a silent null.
-#}

{%- set fields = {
    'order_id': 'string',
    'placed_at': 'string',
    'profile_id': 'string',
    'email': 'string',
    'currency': 'string',
    'value': 'money',
    'items': 'item_list',
} %}

with

raw_lines as {{ cte_materialization('stream') }} (

    select * from {{ source('orders', 'lines') }}
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
        {{ clean_string(json_field('record', fields, 'order_id')) }} as order_id,
        {{ clean_string(json_field('record', fields, 'placed_at')) }} as placed_at_text,
        {{ to_utc_timestamp(json_field('record', fields, 'placed_at')) }} as placed_at,
        {{ json_field('record', fields, 'profile_id') }} as profile_id,
        {{ json_field('record', fields, 'email') }} as email,
        {{ json_field('record', fields, 'currency') }} as currency,
        {{ json_field('record', fields, 'value') }} as order_value,
        {{ json_field('record', fields, 'items') }} as items
    from parsed

),

type_checked as (

    select
        *,
        case when record is not null then {{ first_wrong_json_type('json_document', [
            ('order_id', 'order_id', 'string'),
            ('profile_id', 'profile_id', 'string'),
            ('email', 'email', 'string'),
            ('currency', 'currency', 'string'),
            ('items', 'items', 'list'),
        ]) }} end as wrong_type_field,
        record is not null
        and {{ has_non_object_element('json_document', 'items', 'items') }} as has_item_of_wrong_type,
        case
            when record is not null then ({{ has_wrong_json_type("json_document", "value", "order_value", "number") }})
        end as has_invalid_value
    from typed

),

classified as (

    select
        *,
        case
            {{ line_rejection('line_fault', 'record') }}
            when order_id is null then 'missing_order_id'
            {{ timestamp_rejection('placed_at_text', 'placed_at', 'invalid_placed_at') }}
            when has_invalid_value then 'invalid_value'
            when wrong_type_field is not null or has_item_of_wrong_type then 'invalid_field_type'
        end as rejection_reason
    from type_checked

),

final as (

    select
        file_name,
        line_number,
        rejection_reason,
        case
            when rejection_reason = 'invalid_field_type' then coalesce(wrong_type_field, 'items')
            when rejection_reason = 'timestamp_out_of_range' then 'placed_at'
        end as rejected_field,
        case
            when rejection_reason = 'timestamp_out_of_range'
                then {{ timestamp_range_detail('placed_at', 'placed_at_text') }}
        end as rejection_detail,
        case when rejection_reason is not null then {{ without_line_terminator('raw_line') }} end as raw_line,
        order_id,
        placed_at,
        profile_id,
        email,
        currency,
        order_value,
        items,
        raw_loaded_at,
        {{ run_started_timestamp() }} as loaded_at
    from classified

)

select * from final

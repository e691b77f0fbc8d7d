{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['file_name', 'line_number'],
    )
}}

{#-
    Every line of every order file, parsed once and classified (read like
    base_customer_agent__log_lines). `order_value` is an exact decimal: a value
    that is not a finite JSON number (NaN, Infinity, "12,50", out of range) is
    rejected as invalid_value, never turned into a NaN or a silent null.
-#}

with

-- Materialised: the source is a stream that one thread reads; parsing after this point
-- runs on every core.
raw_lines as materialized (

    select * from {{ source('orders', 'lines') }}

),

parsed as (

    select
        file_name,
        line_number,
        raw_line,
        line_fault,
        {{ parse_json_object('raw_line', {
            'order_id': 'VARCHAR',
            'placed_at': 'VARCHAR',
            'profile_id': 'VARCHAR',
            'email': 'VARCHAR',
            'currency': 'VARCHAR',
            'value': money_type() | trim,
            'items': [{'product_id': 'VARCHAR', 'sku': 'VARCHAR', 'quantity': 'DOUBLE', 'price': money_type() | trim}],
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
        {{ clean_string('record.order_id') }} as order_id,
        {{ clean_string('record.placed_at') }} as placed_at_text,
        {{ to_utc_timestamp('record.placed_at') }} as placed_at,
        record.profile_id as profile_id,
        record.email as email,
        record.currency as currency,
        record.value as order_value,
        record.items as items
    from parsed

),

type_checked as (

    select
        *,
        case when record is not null then {{ first_wrong_json_type('raw_line', [
            ('order_id', 'order_id', 'string'),
            ('profile_id', 'profile_id', 'string'),
            ('email', 'email', 'string'),
            ('currency', 'currency', 'string'),
            ('items', 'items', 'list'),
        ]) }} end as wrong_type_field,
        record is not null and {{ has_non_object_element('raw_line', 'items', 'items') }} as has_item_of_wrong_type,
        case
            when record is not null then ({{ has_wrong_json_type("raw_line", "value", "order_value", "number") }})
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
        {{ run_started_timestamp() }} as loaded_at
    from classified

)

select * from final

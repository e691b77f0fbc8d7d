{{
    config(
        materialized='incremental',
        incremental_strategy='append',
    )
}}

{#- Every line of every order file, read once, parsed and classified (see base_customer_agent__log_lines). -#}
{%- set files = new_raw_files('orders') -%}

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
            'order_id': 'VARCHAR',
            'placed_at': 'VARCHAR',
            'profile_id': 'VARCHAR',
            'email': 'VARCHAR',
            'currency': 'VARCHAR',
            'value': 'VARCHAR',
            'items': [{'product_id': 'VARCHAR', 'sku': 'VARCHAR', 'quantity': 'VARCHAR', 'price': 'VARCHAR'}],
        }) }} as record
    from raw_lines

),

typed as (

    select
        file_name,
        line_number,
        raw_line,
        record is not null as is_json_object,
        {{ clean_string('record.order_id') }} as order_id,
        {{ to_utc_timestamp('record.placed_at') }} as placed_at,
        record.profile_id as profile_id,
        record.email as email,
        record.currency as currency,
        record.value as order_value,
        record.items as items
    from parsed

),

classified as (

    select
        *,
        case
            when not is_json_object then 'invalid_json'
            when order_id is null then 'missing_order_id'
            when placed_at is null then 'invalid_placed_at'
        end as rejection_reason
    from typed

),

final as (

    select
        file_name,
        line_number,
        rejection_reason,
        case when rejection_reason is not null then coalesce(raw_line, '') end as raw_line,
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

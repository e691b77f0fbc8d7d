{{
    config(
        materialized='table',
    )
}}

{#-
    One row per order (spec §2.2): valid lines, duplicate deliveries of an
    order_id kept once (orders carry no received_at, so the first delivered:
    raw file name, then line number), values normalised.
    A table, not a view: order items, order matching and the reconciliation read it, and a view would
    repeat its window functions once per reader.
-#}

with

order_lines as (

    select * from {{ ref('base_shop__order_lines') }}
    where rejection_reason is null

),

flagged as (

    select
        *,
        {{ is_first_received('order_id') }} as is_first_received
    from order_lines

),

deduplicated as (

    select *
    from flagged
    where is_first_received

),

renamed as (

    select
        order_id,
        placed_at,
        {{ clean_string('profile_id') }} as profile_id,
        {{ normalise_email('email') }} as email,
        upper({{ clean_string('currency') }}) as currency,
        order_value,
        items,
        file_name,
        line_number,
        loaded_at
    from deduplicated

)

select * from renamed

{#-
    Spec §6: the ingestion manifest, one row per raw file ever seen, as the raw
    zone sources report it after this build's base models took their lines (the
    `depends_on` hints above make it run after them, so a file's row advances
    only once its lines are ingested). It is the registry the next build reads
    to know what was ingested, and it feeds audit.reconciliation.
-#}

-- depends_on: {{ ref('base_customer_agent__log_lines') }}
-- depends_on: {{ ref('base_shop__order_lines') }}
-- depends_on: {{ ref('base_marketing__profile_lines') }}

with

conversation_log_files as (

    select * from {{ source('conversation_logs', 'files') }}

),

order_files as (

    select * from {{ source('orders', 'files') }}

),

profile_files as (

    select * from {{ source('profiles', 'files') }}

),

unioned as (

    select * from conversation_log_files
    union all
    select * from order_files
    union all
    select * from profile_files

),

final as (

    select
        source,
        file_name,
        status,
        change,
        error,
        fix,
        is_present,
        size_bytes,
        modified_at,
        fingerprint,
        compression,
        lines_read,
        complete_lines,
        bytes_consumed,
        has_partial_tail,
        pending_tail_bytes,
        fault_offset,
        first_seen_at,
        ingested_at,
        checked_at,
        modified_ns,
        first_seen_ns,
        ingested_ns,
        checked_ns
    from unioned

)

select * from final

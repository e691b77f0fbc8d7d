{#-
    Spec §6: one row per raw file of the ingestion manifest (every file ever
    seen, also an empty, quarantined or ignored one): lines read, staged (the
    line is the kept copy of its record), duplicates (a valid line whose record
    is staged from another line) and rejected, with
    lines_read = staged + duplicates + rejected. Lines and rejections are counted
    from the raw lines, staged copies from staging; the data test
    assert_every_valid_raw_record_is_staged proves that a valid line that is not
    staged is a duplicate, never a lost record. Counting by file, without
    joining lines to records, keeps this model cheap.
-#}

with

manifest as (

    select * from {{ ref('ingestion_manifest') }}

),

raw_lines as (

    select * from {{ ref('raw_lines_classified') }}

),

staged_logs as (

    select * from {{ ref('stg_customer_agent__conversation_logs') }}

),

staged_orders as (

    select * from {{ ref('stg_shop__orders') }}

),

staged_profile_versions as (

    select * from {{ ref('stg_marketing__profile_versions') }}

),

lines_by_file as (

    select
        source,
        file_name,
        count(*) as lines_read,
        count(rejection_reason) as rejected
    from raw_lines
    group by source, file_name

),

staged_lines as (

    select
        'conversation_logs' as source,
        file_name
    from staged_logs

    union all

    select
        'orders' as source,
        file_name
    from staged_orders

    union all

    select
        'profiles' as source,
        file_name
    from staged_profile_versions

),

staged_by_file as (

    select
        source,
        file_name,
        count(*) as staged
    from staged_lines
    group by source, file_name

),

final as (

    select
        coalesce(manifest.source, lines_by_file.source) as source,
        coalesce(manifest.file_name, lines_by_file.file_name) as file_name,
        manifest.status as file_status,
        cast(coalesce(lines_by_file.lines_read, 0) as bigint) as lines_read,
        cast(coalesce(staged_by_file.staged, 0) as bigint) as staged,
        cast(
            coalesce(lines_by_file.lines_read, 0)
            - coalesce(lines_by_file.rejected, 0)
            - coalesce(staged_by_file.staged, 0) as bigint
        ) as duplicates,
        cast(coalesce(lines_by_file.rejected, 0) as bigint) as rejected,
        cast(coalesce(manifest.lines_read, 0) as bigint) as manifest_lines_read
    from manifest
    full outer join lines_by_file
        on
            manifest.source = lines_by_file.source
            and manifest.file_name = lines_by_file.file_name
    left join staged_by_file
        on
            coalesce(manifest.source, lines_by_file.source) = staged_by_file.source
            and coalesce(manifest.file_name, lines_by_file.file_name) = staged_by_file.file_name

)

select * from final

with

raw_events as (

    select * from {{ ref('smoke_raw_events') }}

),

typed as (

    select
        batch,
        log_id,
        conversation_id,
        case
            when occurred_at rlike '^[0-9]+$' then timestamp_millis(cast(occurred_at as bigint))
            else cast(occurred_at as timestamp)
        end as event_at,
        coalesce(split(tags, '[|]'), array()) as raw_tags
    from raw_events
    where batch <= {{ var('batch') }}

),

final as (

    select
        md5(concat('smoke|', log_id)) as event_id,
        conversation_id,
        event_at,
        array_sort(array_distinct(transform(raw_tags, tag -> regexp_replace(lower(trim(tag)), r'[\s-]+', '_')))) as tags,
        size(raw_tags) as tag_count,
        batch as loaded_batch
    from typed

)

select * from final

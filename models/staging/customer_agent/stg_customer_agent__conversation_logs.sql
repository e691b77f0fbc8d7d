{{ config(**engine_incremental_config('delete+insert', unique_key='conversation_id')) }}

{#-
    One row per conversation log record (spec §2.1, §3): valid lines only,
    duplicate deliveries kept once (first received, over all deliveries of the
    log_id: a log_id delivered again in another conversation is a duplicate of
    the first received copy), every value normalised.
    Incremental builds rebuild whole conversations that received new lines.
    Materialised (not a view) because five models read it and deduplication
    over all history is the heaviest step of the project.
-#}

with

log_lines as {{ cte_materialization('inline') }} (

    select * from {{ ref('base_customer_agent__log_lines') }}
    where rejection_reason is null

),

channel_aliases as (

    select * from {{ ref('channel_aliases') }}

),

{% if is_incremental() -%}

new_lines as (

    select
        conversation_id,
        log_id
    from log_lines
    where loaded_at > {{ processed_watermark() }}

),

touched_conversations as (

    -- Conversations with new lines, and those holding another delivery of a new
    -- line's log_id (which copy is kept may change).
    select conversation_id from new_lines
    union
    select conversation_id from log_lines
    where log_id in (select new_lines.log_id from new_lines)

),

lines_to_process as (

    select *
    from log_lines
    where conversation_id in (select touched_conversations.conversation_id from touched_conversations)

),

deliveries as (

    -- Every delivery, in any conversation, of the log_ids being processed.
    select
        log_id,
        received_at,
        file_name,
        line_number
    from log_lines
    where log_id in (select lines_to_process.log_id from lines_to_process)

),

{%- else -%}

    lines_to_process as (

        select * from log_lines

    ),

    deliveries as (

        select
            log_id,
            received_at,
            file_name,
            line_number
        from log_lines

    ),

{%- endif %}

duplicated_log_ids as (

    select log_id
    from deliveries
    group by log_id
    having count(*) > 1

),

delivery_ranks as (

    -- Every delivery of a re-delivered log_id, wherever it is (a log_id re-delivered
    -- in another conversation stays in the first one), flagged when received first.
    select
        file_name,
        line_number,
        {{ is_first_received('log_id', 'received_at') }} as is_first_received
    from deliveries
    where log_id in (select duplicated_log_ids.log_id from duplicated_log_ids)

),

first_deliveries as (

    -- The kept copy of each re-delivered log_id.
    select
        file_name,
        line_number
    from delivery_ranks
    where is_first_received

),

deduplicated as (

    -- Most log_ids are delivered once: only the re-delivered ones go through
    -- the (sorting) window that keeps the first received copy.
    select *
    from lines_to_process
    where log_id not in (select duplicated_log_ids.log_id from duplicated_log_ids)

    union all

    select lines_to_process.*
    from lines_to_process
    inner join first_deliveries
        on
            lines_to_process.file_name = first_deliveries.file_name
            and lines_to_process.line_number = first_deliveries.line_number

),

renamed as (

    select
        log_id,
        conversation_id,
        occurred_at,
        received_at,
        {{ channel_alias_key('channel_label') }} as channel_key,
        lower({{ clean_string('record_type') }}) as record_type,
        lower({{ clean_string('actor') }}) as actor,
        {{ clean_string('message_text') }} as message_text,
        {{ normalise_label('skill') }} as skill,
        {{ normalise_label('status') }} as status,
        {{ normalise_label('escalation_reason') }} as escalation_reason,
        {{ normalise_label_list('tags') }} as tags,
        {{ list_map_where(
            record_list('products'),
            'product',
            make_record({
                'product_id': clean_string(record_field('product', 'product_id')),
                'sku': clean_string(record_field('product', 'sku')),
            }),
            record_field('product', 'product_id') ~ ' is not null or ' ~ record_field('product', 'sku') ~ ' is not null'
        ) }} as products,
        lower({{ clean_string('recommendation_format') }}) as recommendation_format,
        {{ clean_string('profile_id') }} as profile_id,
        {{ normalise_email('email') }} as email,
        {{ normalise_phone('phone_number') }} as phone_number,
        file_name,
        line_number,
        loaded_at
    from deduplicated

),

final as (

    select
        renamed.log_id,
        renamed.conversation_id,
        renamed.occurred_at,
        renamed.received_at,
        case
            when renamed.channel_key is not null then coalesce(channel_aliases.channel, 'other')
        end as channel,
        renamed.record_type,
        renamed.actor,
        renamed.message_text,
        renamed.skill,
        renamed.status,
        renamed.escalation_reason,
        renamed.tags,
        renamed.products,
        renamed.recommendation_format,
        renamed.profile_id,
        renamed.email,
        renamed.phone_number,
        renamed.file_name,
        renamed.line_number,
        renamed.loaded_at,
        {{ run_started_timestamp() }} as processed_at
    from renamed
    left join channel_aliases
        on renamed.channel_key = channel_aliases.alias

)

select * from final

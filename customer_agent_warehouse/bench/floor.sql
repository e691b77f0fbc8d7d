-- The floor of `python -m customer_agent_warehouse bench`: the four metric event facts of spec §4 computed by
-- one hand-written DuckDB statement that reads the raw zone once (no dbt, no intermediate tables). The full dbt
-- build is compared with this time: whatever the build spends above it is the price of dbt and of the project's
-- layering (audit trail, incremental bookkeeping, tests, segments, BI marts).
--
-- Plain SQL, no Jinja. `bench` replaces two placeholders with DuckDB lists of globs (<r>: the raw zone):
--   {conversation_log_files}  ['<r>/conversation_logs/**/*.jsonl', '<r>/conversation_logs/**/*.jsonl.gz']
--   {profile_files}           the same for `profiles/`
-- (only the globs that match at least one file: read_json fails on a glob that matches nothing), and one with the
-- path of the project's seed file (the vocabulary is not copied here):
--   {channel_aliases_file}    '<project>/seeds/channel_aliases.csv'
-- and runs it on a
-- fresh DuckDB file with the DuckDB settings of the dbt profile (profiles/profiles.yml: threads, memory_limit,
-- TimeZone UTC, preserve_insertion_order).
--
-- Same rules as the dbt models, written once more by hand:
--   * valid records only: a JSON object with a conversation_id, a log_id, a parseable occurred_at and a type
--     (malformed lines are skipped here; dbt routes them to audit.rejected_records);
--   * duplicate deliveries: one record per log_id, the earliest received_at, then the file name (dbt also
--     breaks ties on the line number, which read_json does not expose; it only matters for two deliveries of
--     one log_id received at the same instant in the same file);
--   * normalisation (spec §3): blanks are missing, labels trimmed, lower-cased, runs of spaces/dashes become
--     `_`, emails trimmed and lower-cased, phones E.164 with default country code 1, timestamps UTC (ISO with
--     Z or an offset, or epoch milliseconds); the channel mapping read from the seed `channel_aliases`;
--   * profile of a conversation: first profile_id, else the current profile with the first email, else with
--     the first phone (shared email/phone: the most recently updated profile, then the smallest id);
--   * channel of a conversation: its first shopper message's channel, else its earliest record's channel;
--   * status state machine: starts `open`, a status record is a change only when it differs from the current
--     status (lag over the status records); Resolved = change to `resolved` by the agent, never escalated
--     before; Escalated = change to `escalated` by anyone; skill at the change = last skill record at or before
--     it, tags = sorted distinct tags applied at or before it (running window values over the conversation's
--     status, skill and tag records: an asof join of two CTEs is planned as a nested loop, the CTE's
--     cardinality estimate being tiny, which is quadratic at 1M conversations);
--   * recommendations: `recommendation` records with at least one product that has a product_id or a sku;
--     products identified by product_id, else sku, in the order sent;
--   * event ids: md5('<metric>|<natural key>'), as the macro metric_event_id renders on DuckDB.
-- Output: one table `floor_events`, one row per event of the four facts, `metric` telling which.

create or replace table floor_events as

with

raw_logs as (

    select
        filename as file_name,
        nullif(trim(log_id), '') as log_id,
        nullif(trim(conversation_id), '') as conversation_id,
        case
            when regexp_full_match(trim(occurred_at), '-?[0-9]{1,15}')
                then epoch_ms(cast(trim(occurred_at) as bigint))
            else try_cast(trim(occurred_at) as timestamptz) at time zone 'UTC'
        end as occurred_at,
        case
            when regexp_full_match(trim(received_at), '-?[0-9]{1,15}')
                then epoch_ms(cast(trim(received_at) as bigint))
            else try_cast(trim(received_at) as timestamptz) at time zone 'UTC'
        end as received_at,
        channel,
        type as record_type,
        actor,
        text,
        skill,
        status,
        escalation_reason,
        tags,
        products,
        format,
        profile_id,
        email,
        phone_number
    from read_json(
        {conversation_log_files},
        format = 'newline_delimited',
        ignore_errors = true,
        filename = true,
        columns = {
            log_id: 'VARCHAR',
            conversation_id: 'VARCHAR',
            occurred_at: 'VARCHAR',
            received_at: 'VARCHAR',
            channel: 'VARCHAR',
            type: 'VARCHAR',
            actor: 'VARCHAR',
            text: 'VARCHAR',
            skill: 'VARCHAR',
            status: 'VARCHAR',
            escalation_reason: 'VARCHAR',
            tags: 'VARCHAR[]',
            products: 'STRUCT(product_id VARCHAR, sku VARCHAR)[]',
            format: 'VARCHAR',
            profile_id: 'VARCHAR',
            email: 'VARCHAR',
            phone_number: 'VARCHAR'
        }
    )

),

valid_logs as (

    select *
    from raw_logs
    where
        conversation_id is not null
        and log_id is not null
        and occurred_at is not null
        and nullif(trim(record_type), '') is not null
    qualify row_number() over (partition by log_id order by received_at asc nulls last, file_name asc) = 1

),

normalised_logs as (

    select
        log_id,
        conversation_id,
        occurred_at,
        nullif(regexp_replace(lower(trim(channel)), '[\s_-]+', '_', 'g'), '') as channel_key,
        lower(nullif(trim(record_type), '')) as record_type,
        lower(nullif(trim(actor), '')) as actor,
        nullif(trim(text), '') as message_text,
        nullif(regexp_replace(lower(trim(skill)), '[\s-]+', '_', 'g'), '') as skill,
        nullif(regexp_replace(lower(trim(status)), '[\s-]+', '_', 'g'), '') as status,
        nullif(regexp_replace(lower(trim(escalation_reason)), '[\s-]+', '_', 'g'), '') as escalation_reason,
        list_filter(
            list_transform(tags, lambda tag: nullif(regexp_replace(lower(trim(tag)), '[\s-]+', '_', 'g'), '')),
            lambda tag: tag is not null
        ) as tags,
        list_filter(
            list_transform(
                products,
                lambda product: {
                    'product_id': nullif(trim(product.product_id), ''),
                    'sku': nullif(trim(product.sku), '')
                }
            ),
            lambda product: product.product_id is not null or product.sku is not null
        ) as products,
        lower(nullif(trim(format), '')) as recommendation_format,
        nullif(trim(profile_id), '') as profile_id,
        nullif(lower(trim(email)), '') as email,
        regexp_replace(phone_number, '[^0-9]', '', 'g') as phone_digits,
        starts_with(trim(phone_number), '+') as phone_has_plus
    from valid_logs

),

channel_aliases as (

    select
        alias,
        channel
    from read_csv({channel_aliases_file}, header = true, columns = {'alias': 'varchar', 'channel': 'varchar'})

),

logs as materialized (

    select
        normalised_logs.log_id,
        normalised_logs.conversation_id,
        normalised_logs.occurred_at,
        case
            when normalised_logs.channel_key is not null then coalesce(channel_aliases.channel, 'other')
        end as channel,
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
        case
            when phone_digits = '' then null
            when phone_has_plus then '+' || phone_digits
            when starts_with(phone_digits, '00') then '+' || substr(phone_digits, 3)
            when starts_with(phone_digits, '1') and length(phone_digits) > 10 then '+' || phone_digits
            else '+1' || regexp_replace(phone_digits, '^0', '')
        end as phone_number
    from normalised_logs
    left join channel_aliases
        on normalised_logs.channel_key = channel_aliases.alias

),

profile_lines as (

    select
        filename as file_name,
        nullif(trim(profile_id), '') as profile_id,
        nullif(lower(trim(email)), '') as email,
        regexp_replace(phone_number, '[^0-9]', '', 'g') as phone_digits,
        starts_with(trim(phone_number), '+') as phone_has_plus,
        nullif(trim(updated_at), '') as updated_at_text,
        case
            when regexp_full_match(trim(updated_at), '-?[0-9]{1,15}')
                then epoch_ms(cast(trim(updated_at) as bigint))
            else try_cast(trim(updated_at) as timestamptz) at time zone 'UTC'
        end as updated_at
    from read_json(
        {profile_files},
        format = 'newline_delimited',
        ignore_errors = true,
        filename = true,
        columns = {
            profile_id: 'VARCHAR',
            email: 'VARCHAR',
            phone_number: 'VARCHAR',
            updated_at: 'VARCHAR'
        }
    )

),

current_profiles as (

    select
        profile_id,
        email,
        case
            when phone_digits = '' then null
            when phone_has_plus then '+' || phone_digits
            when starts_with(phone_digits, '00') then '+' || substr(phone_digits, 3)
            when starts_with(phone_digits, '1') and length(phone_digits) > 10 then '+' || phone_digits
            else '+1' || regexp_replace(phone_digits, '^0', '')
        end as phone_number,
        updated_at
    from profile_lines
    where
        profile_id is not null
        and (updated_at_text is null or updated_at is not null)
    qualify row_number() over (partition by profile_id order by updated_at desc nulls last, file_name desc) = 1

),

profiles_by_email as (

    select
        email,
        profile_id
    from current_profiles
    where email is not null
    qualify row_number() over (partition by email order by updated_at desc nulls last, profile_id asc) = 1

),

profiles_by_phone as (

    select
        phone_number,
        profile_id
    from current_profiles
    where phone_number is not null
    qualify row_number() over (partition by phone_number order by updated_at desc nulls last, profile_id asc) = 1

),

conversation_firsts as (

    select
        conversation_id,
        first(profile_id order by occurred_at, log_id) filter (where profile_id is not null) as first_profile_id,
        first(email order by occurred_at, log_id) filter (where email is not null) as first_email,
        first(phone_number order by occurred_at, log_id) filter (where phone_number is not null) as first_phone_number,
        coalesce(
            first(channel order by occurred_at, log_id) filter (where record_type = 'message' and actor = 'shopper'),
            first(channel order by occurred_at, log_id) filter (where channel is not null)
        ) as channel,
        min(occurred_at) filter (where record_type = 'message' and actor = 'shopper') as started_at,
        first(message_text order by occurred_at, log_id) filter (
            where record_type = 'message' and actor = 'shopper'
        ) as first_message,
        first(skill order by occurred_at, log_id) filter (
            where record_type = 'skill' and skill is not null
        ) as initial_skill
    from logs
    group by conversation_id

),

conversations as materialized (

    select
        conversation_firsts.conversation_id,
        coalesce(
            conversation_firsts.first_profile_id, profiles_by_email.profile_id, profiles_by_phone.profile_id
        ) as profile_id,
        conversation_firsts.channel,
        conversation_firsts.started_at,
        conversation_firsts.first_message,
        conversation_firsts.initial_skill
    from conversation_firsts
    left join profiles_by_email
        on conversation_firsts.first_email = profiles_by_email.email
    left join profiles_by_phone
        on conversation_firsts.first_phone_number = profiles_by_phone.phone_number

),

status_timeline as (

    -- The status, skill and tag records of each conversation in time order. At one instant, skill and tag
    -- records come before status records (they count as "at or before" it) and skill records go by log_id (the
    -- last one wins), so the skill active at a record and the tags applied so far are running window values.
    select
        conversation_id,
        log_id,
        occurred_at,
        record_type,
        actor,
        status,
        escalation_reason,
        last_value(case when record_type = 'skill' then skill end ignore nulls) over timeline as active_skill,
        list_sort(list_distinct(flatten(
            list(case when record_type = 'tag' then coalesce(tags, []) else [] end) over timeline
        ))) as tags
    from logs
    where
        record_type in ('skill', 'tag')
        or (record_type = 'status' and status is not null)
    window timeline as (
        partition by conversation_id
        order by occurred_at, record_type = 'status', log_id
        rows between unbounded preceding and current row
    )

),

status_sequence as (

    select
        conversation_id,
        log_id,
        occurred_at,
        actor,
        status,
        escalation_reason,
        active_skill,
        tags,
        coalesce(
            lag(status) over (partition by conversation_id order by occurred_at, log_id), 'open'
        ) as previous_status
    from status_timeline
    where record_type = 'status'

),

status_changes as materialized (

    select
        *,
        coalesce(
            bool_or(status = 'escalated') over (
                partition by conversation_id
                order by occurred_at, log_id
                rows between unbounded preceding and 1 preceding
            ),
            false
        ) as was_escalated_before
    from status_sequence
    where status <> previous_status

),

started as (

    select
        'started' as metric,
        md5('started|' || conversation_id) as event_id,
        started_at as event_at,
        conversation_id,
        profile_id,
        channel,
        initial_skill,
        first_message,
        cast(null as varchar) as skill,
        cast(null as varchar) as escalation_reason,
        cast(null as varchar[]) as tags,
        cast(null as double) as resolution_seconds,
        cast(null as varchar[]) as products,
        cast(null as integer) as product_count,
        cast(null as varchar) as format
    from conversations
    where started_at is not null

),

resolved as (

    select
        'resolved' as metric,
        md5('resolved|' || changes.log_id) as event_id,
        changes.occurred_at as event_at,
        changes.conversation_id,
        conversations.profile_id,
        conversations.channel,
        null as initial_skill,
        null as first_message,
        changes.active_skill as skill,
        null as escalation_reason,
        changes.tags,
        cast(date_diff('microsecond', conversations.started_at, changes.occurred_at) as double) / 1000000
            as resolution_seconds,
        null as products,
        null as product_count,
        null as format
    from status_changes as changes
    inner join conversations
        on changes.conversation_id = conversations.conversation_id
    where
        changes.status = 'resolved'
        and changes.actor = 'agent'
        and not changes.was_escalated_before

),

escalated as (

    select
        'escalated' as metric,
        md5('escalated|' || changes.log_id) as event_id,
        changes.occurred_at as event_at,
        changes.conversation_id,
        conversations.profile_id,
        conversations.channel,
        null as initial_skill,
        null as first_message,
        changes.active_skill as skill,
        coalesce(changes.escalation_reason, 'unspecified') as escalation_reason,
        changes.tags,
        null as resolution_seconds,
        null as products,
        null as product_count,
        null as format
    from status_changes as changes
    inner join conversations
        on changes.conversation_id = conversations.conversation_id
    where changes.status = 'escalated'

),

recommendations as (

    select
        'recommendation' as metric,
        md5('recommendation|' || logs.log_id) as event_id,
        logs.occurred_at as event_at,
        logs.conversation_id,
        conversations.profile_id,
        conversations.channel,
        null as initial_skill,
        null as first_message,
        null as skill,
        null as escalation_reason,
        null as tags,
        null as resolution_seconds,
        list_transform(logs.products, lambda product: coalesce(product.product_id, product.sku)) as products,
        cast(len(logs.products) as integer) as product_count,
        logs.recommendation_format as format
    from logs
    inner join conversations
        on logs.conversation_id = conversations.conversation_id
    where
        logs.record_type = 'recommendation'
        and len(logs.products) > 0

)

select * from started
union all
select * from resolved
union all
select * from escalated
union all
select * from recommendations

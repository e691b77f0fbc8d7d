{#-
    How the incremental marts replace what changed, in one place.

    A mart that reads a changed set rebuilds whole keys (a conversation, an order, a profile, a
    reporting day): its pre-hook deletes every row of the keys it rebuilds (also the keys that
    end with no row at all, such as a resolution that a late escalation cancels), the model's
    select inserts their new rows (strategy `append`), and its post-hook records the watermark.
    The three statements run in the model's one transaction.

    incremental_config(key, by_reporting_timezone): the config of such a model. Engines differ
    here only: the Spark engineer adds a spark__ version (insert_overwrite + partition_by).
    keys_macro: the name of a macro that returns the SQL selecting the keys (one column) this
    run rebuilds; the model's own changed-set CTE uses the same filter (changed_since_watermark).
-#}

{% macro incremental_config(key, keys_macro, by_reporting_timezone=false) -%}
    {{- return(adapter.dispatch('incremental_config', 'customer_agent_warehouse')(key, keys_macro, by_reporting_timezone)) -}}
{%- endmacro %}

{% macro default__incremental_config(key, keys_macro, by_reporting_timezone) -%}
    {{- return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'on_schema_change': 'fail',
        'pre_hook': "{{ delete_rebuilt_keys('" ~ key ~ "', '" ~ keys_macro ~ "', " ~ by_reporting_timezone ~ ") }}",
        'post_hook': "{{ record_watermark() }}",
    }) -}}
{%- endmacro %}


{#- Pre-hook: delete the rows of the keys this run rebuilds (all rows when it rebuilds everything). -#}
{% macro delete_rebuilt_keys(key, keys_macro, by_reporting_timezone=false) -%}
    {%- if not is_incremental() -%}
        select 1
    {%- elif rebuilds_everything(by_reporting_timezone) -%}
        delete from {{ this }}
    {%- else -%}
        delete from {{ this }}
        where {{ key }} in ({{ context[keys_macro]() }})
    {%- endif -%}
{%- endmacro %}


{#-
    Conversations changed since this model's watermark: new or re-processed records, or a
    profile that changed (int_conversations_identified.processed_at is the build that last
    changed the conversation).
-#}
{% macro changed_conversation_ids() -%}
    select conversation_id
    from {{ ref('int_conversations_identified') }}
    where {{ changed_since_watermark('processed_at') }}
{%- endmacro %}


{#-
    The filter of a changed set: rows processed after this model's watermark on an incremental
    run; every row when the model is rebuilt whole.
-#}
{% macro changed_since_watermark(column, by_reporting_timezone=false) -%}
    {%- if rebuilds_everything(by_reporting_timezone) -%}
        true
    {%- else -%}
        {{ column }} > {{ incremental_watermark() }}
    {%- endif -%}
{%- endmacro %}


{#- Orders whose attribution can have changed since this model's watermark (int_orders_changed). -#}
{% macro changed_order_ids() -%}
    select order_id
    from {{ ref('int_orders_changed') }}
    where {{ changed_since_watermark('processed_at') }}
{%- endmacro %}


{#-
    `column` belongs to the changed set `changed_set` (a CTE with the same column); on a full
    rebuild `true or ...`, which the engine folds away: every row.
-#}
{% macro in_changed_set(column, changed_set, by_reporting_timezone=false) -%}
    ({{ 'true or ' if rebuilds_everything(by_reporting_timezone) }}{{ column }} in (
        select {{ changed_set }}.{{ column.split('.')[-1] }} from {{ changed_set }}
    ))
{%- endmacro %}

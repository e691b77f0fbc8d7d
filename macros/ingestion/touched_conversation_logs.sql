{#-
    The staged log records an incremental conversation-grain model must
    (re)process: on a full build all of them; on an incremental build every
    record of each conversation that staging rebuilt since this model last
    ran (the model's `processed_at` watermark). Whole conversations, never a
    time slice of one.
-#}
{% macro touched_conversation_logs() -%}
    select * from {{ ref('stg_customer_agent__conversation_logs') }}
    {%- if is_incremental() %}
    where processed_at > {{ processed_watermark() }}
    {%- endif %}
{%- endmacro %}

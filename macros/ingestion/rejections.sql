{#-
    Shared pieces of the raw-line classification (spec §6) used by the three base
    models: the reasons every source shares come first, in this order.
-#}

{#- A fault of the line itself (invalid_encoding, line_too_long, corrupt_gzip), else not JSON (invalid_json). -#}
{% macro line_rejection(line_fault, record) -%}
    when {{ line_fault }} is not null then {{ line_fault }}
    when {{ record }} is null and {{ has_unpaired_surrogate_escape('raw_line') }} then 'invalid_encoding'
    when {{ record }} is null then 'invalid_json'
{%- endmacro %}


{#- Why a time field fails, for the CASE of a base model: `invalid_reason` when unparseable, else out of range. -#}
{% macro timestamp_rejection(text_value, timestamp_value, invalid_reason, required=true) -%}
    when {{ timestamp_value }} is null and {{ is_epoch_text(text_value) }} then 'timestamp_out_of_range'
    {%- if required %}
    when {{ timestamp_value }} is null then '{{ invalid_reason }}'
    {%- else %}
    when {{ text_value }} is not null and {{ timestamp_value }} is null then '{{ invalid_reason }}'
    {%- endif %}
    when not {{ is_plausible_timestamp(timestamp_value) }} then 'timestamp_out_of_range'
{%- endmacro %}


{#- A readable explanation of a time outside the plausible window, with the epoch-seconds hint. -#}
{% macro timestamp_range_detail(field, text_value) -%}
    '{{ field }} ' || {{ text_value }} || ' is outside the plausible window ('
    || '{{ var("timestamp_min") }}' || ' to {{ var("timestamp_max_days_after_build") }} day(s) after '
    || '{{ "the build" if (var("timestamp_window_anchor", none) or "") | string | trim == "" else timestamp_window_anchor() }})'
    || case
        when {{ looks_like_epoch_seconds(text_value) }}
            then '; it looks like epoch seconds: send epoch milliseconds (' || trim({{ text_value }}) || '000)'
        else ''
    end
{%- endmacro %}


{#- True when JSON text holds a \\uD800-\\uDFFF escape: valid JSON syntax, but not a Unicode character on its own. -#}
{% macro has_unpaired_surrogate_escape(column) -%}
    {{- return(adapter.dispatch('has_unpaired_surrogate_escape', 'customer_agent_warehouse')(column)) -}}
{%- endmacro %}

{% macro duckdb__has_unpaired_surrogate_escape(column) -%}
    regexp_matches({{ column }}, '\\u[dD][89a-fA-F][0-9a-fA-F]{2}')
{%- endmacro %}

{% macro spark__has_unpaired_surrogate_escape(column) -%}
    ({{ column }} rlike r'\\u[dD][89a-fA-F][0-9a-fA-F]{2}')
{%- endmacro %}

{% macro postgres__has_unpaired_surrogate_escape(column) -%}
    ({{ column }} ~ '\\u[dD][89a-fA-F][0-9a-fA-F]{2}')
{%- endmacro %}


{#- A raw line's text without its line terminator (the DuckDB reader keeps `\n` / `\r\n` in the text). -#}
{% macro without_line_terminator(column) -%}
    {{- return(adapter.dispatch('without_line_terminator', 'customer_agent_warehouse')(column)) -}}
{%- endmacro %}

{% macro default__without_line_terminator(column) -%}
    rtrim({{ column }}, chr(13) || chr(10))
{%- endmacro %}

{#- Spark's two-argument rtrim takes its arguments the other way round: a regex, and the loader strips them anyway. -#}
{% macro spark__without_line_terminator(column) -%}
    regexp_replace({{ column }}, r'[\r\n]+$', '')
{%- endmacro %}


{#- True for a time written as an integer (epoch milliseconds, possibly far out of range). -#}
{% macro is_epoch_text(text_value) -%}
    {{- return(adapter.dispatch('is_epoch_text', 'customer_agent_warehouse')(text_value)) -}}
{%- endmacro %}

{% macro default__is_epoch_text(text_value) -%}
    (trim({{ text_value }}) ~ '^-?[0-9]+$')
{%- endmacro %}

{% macro duckdb__is_epoch_text(text_value) -%}
    {#- A string test instead of a regular expression: it runs on every line. -#}
    (trim({{ text_value }}) <> '' and ltrim(trim({{ text_value }}), '-0123456789') = '')
{%- endmacro %}

{% macro spark__is_epoch_text(text_value) -%}
    (trim({{ text_value }}) rlike r'^[-0-9]+$')
{%- endmacro %}

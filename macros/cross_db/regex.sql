{#- Every match of a regular expression replaced (the patterns used are POSIX-compatible: classes, \s, anchors). -#}
{% macro regexp_replace_all(expression, pattern, replacement) -%}
    {{- return(adapter.dispatch('regexp_replace_all', 'customer_agent_warehouse')(expression, pattern, replacement)) -}}
{%- endmacro %}

{% macro default__regexp_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}


{#- True when the whole string matches the regular expression. -#}
{% macro regexp_full_match(expression, pattern) -%}
    {{- return(adapter.dispatch('regexp_full_match', 'customer_agent_warehouse')(expression, pattern)) -}}
{%- endmacro %}

{% macro default__regexp_full_match(expression, pattern) -%}
    ({{ expression }} ~ '^(?:{{ pattern }})$')
{%- endmacro %}

{% macro duckdb__regexp_full_match(expression, pattern) -%}
    regexp_full_match({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{#- Spark: raw string literals, so a `\s` reaches the regex engine as written. -#}
{% macro spark__regexp_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, r'{{ pattern }}', '{{ replacement }}')
{%- endmacro %}

{% macro spark__regexp_full_match(expression, pattern) -%}
    ({{ expression }} rlike r'^(?:{{ pattern }})$')
{%- endmacro %}

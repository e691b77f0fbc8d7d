{#- A query listing the IANA time zone names the engine knows (column 1), to validate a configured zone. -#}
{% macro timezone_names_query() -%}
    {{- return(adapter.dispatch('timezone_names_query', 'customer_agent_warehouse')()) -}}
{%- endmacro %}

{% macro default__timezone_names_query() -%}select name from pg_timezone_names{%- endmacro %}

{% macro duckdb__timezone_names_query() -%}select name from pg_timezone_names(){%- endmacro %}

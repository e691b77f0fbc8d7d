{#- A query listing the IANA time zone names the engine knows (column 1), to validate a configured zone. -#}
{% macro timezone_names_query() -%}
    {{- return(adapter.dispatch('timezone_names_query', 'customer_agent_warehouse')()) -}}
{%- endmacro %}

{% macro default__timezone_names_query() -%}select name from pg_timezone_names{%- endmacro %}

{% macro duckdb__timezone_names_query() -%}select name from pg_timezone_names(){%- endmacro %}

{#- Spark lists no time zones: the IANA names dbt knows (pytz), which Spark's Java time zone database also has. -#}
{% macro spark__timezone_names_query() -%}
    select explode(array(
        {%- for name in modules.pytz.all_timezones %}'{{ name }}'{% if not loop.last %}, {% endif %}{% endfor -%}
    )) as name
{%- endmacro %}

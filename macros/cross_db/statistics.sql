{#-
    Fresh planner statistics for a table the build just wrote. PostgreSQL
    plans the next queries (later models, data tests) from statistics that
    autovacuum refreshes only a minute or more later: after an incremental
    pass a stale row count can turn an anti-join over the staged logs into a
    nested loop that runs for many minutes. DuckDB and Spark keep their own
    statistics: nothing to do there. A post-hook of every staging and
    intermediate table (dbt_project.yml).
-#}
{% macro analyze_relation() -%}
    {{ return(adapter.dispatch('analyze_relation', 'customer_agent_warehouse')()) }}
{%- endmacro %}

{% macro default__analyze_relation() -%}
{%- endmacro %}

{% macro postgres__analyze_relation() -%}
    {%- if model.config.materialized in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}

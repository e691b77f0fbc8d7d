{#-
    Whether a CTE is materialised, per engine (`name as {{ cte_materialization(...) }} (`):
    - `stream`, the raw lines of a base model: DuckDB reads the plugin's Arrow stream with one
      thread, so the lines are materialised once and parsed on every core; PostgreSQL reads a table.
    - `parse`, the parsed record and typed fields of a base model: PostgreSQL inlines a CTE read
      once, which would parse each raw line again for every field read from it (6x slower);
      DuckDB evaluates once either way, and materialising would only cost memory.
    - `inline`, an import CTE read several times that each reader filters (log staging's valid
      lines): DuckDB materialises a CTE read more than once, i.e. copies every column of every
      row before any filter; inlined, each reader scans only its rows and columns (measured at
      1M conversations, the model alone: about 19.5 s -> 15-18 s on a full build, 3.9 s -> 0.1 s
      on a build with no new files). PostgreSQL keeps its default.
-#}
{% macro cte_materialization(purpose) -%}
    {{- return(adapter.dispatch('cte_materialization', 'customer_agent_warehouse')(purpose)) -}}
{%- endmacro %}

{% macro default__cte_materialization(purpose) -%}
    {%- if purpose == 'stream' -%}materialized{%- elif purpose == 'inline' -%}not materialized{%- endif -%}
{%- endmacro %}

{% macro postgres__cte_materialization(purpose) -%}
    {%- if purpose == 'parse' -%}materialized{%- endif -%}
{%- endmacro %}

{#- Spark has no `as [not] materialized` CTEs: the optimiser evaluates the parse once per line. -#}
{% macro spark__cte_materialization(purpose) -%}
{%- endmacro %}

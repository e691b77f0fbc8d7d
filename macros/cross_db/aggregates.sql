{#-
    Aggregate: the value of `expression` on the first row by `order_by` among the rows where `condition`
    holds (NULL when none does).
-#}
{% macro first_agg(expression, order_by, condition) -%}
    {{- return(adapter.dispatch('first_agg', 'customer_agent_warehouse')(expression, order_by, condition)) -}}
{%- endmacro %}

{% macro default__first_agg(expression, order_by, condition) -%}
    (array_agg({{ expression }} order by {{ order_by }}) filter (where {{ condition }}))[1]
{%- endmacro %}

{% macro duckdb__first_agg(expression, order_by, condition) -%}
    first({{ expression }} order by {{ order_by }}) filter (where {{ condition }})
{%- endmacro %}

{#- Spark: min_by over the ordering columns as a struct; rows where `condition` fails have no key and are skipped. -#}
{% macro spark__first_agg(expression, order_by, condition) -%}
    {%- if ' desc' in order_by | lower or ' nulls ' in order_by | lower -%}
        {{ exceptions.raise_compiler_error("spark__first_agg: only ascending orders are supported: " ~ order_by) }}
    {%- endif -%}
    min_by({{ expression }}, case when {{ condition }} then struct({{ order_by | replace(' asc', '') }}) end)
{%- endmacro %}
